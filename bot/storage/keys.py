"""Linked GW2 API keys: encrypted rows per Discord user, one active account each.

Only ``LinkedKeyStore`` sees plaintext keys, and only on the way in (``link``) and out
(``active_key`` / ``decrypt``); rows hold Fernet ciphertext and a short fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from services.gw2 import key_id
from services.keys import KeyFailureState, KeyVault
from services.secrets import mask_key

from .database import Database, db_time, parse_db_time


@dataclass(frozen=True, slots=True)
class LinkedKey:
    """A stored key without its secret."""

    id: int
    user_id: int
    account_id: str
    account_name: str
    key_name: str
    key_type: str
    fingerprint: str
    masked: str
    permissions: tuple[str, ...]
    ownership_verified: bool
    is_active: bool
    valid: bool
    failure: KeyFailureState
    added_at: str
    validated_at: str
    # The Discord language the owner last used with the bot (None: never seen, English).
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class UsableKey:
    """An active key with its plaintext, for one GW2 API call. Never log or show ``key``."""

    linked: LinkedKey
    key: str

    def __repr__(self) -> str:
        return f"UsableKey(account={self.linked.account_name!r}, key={self.linked.masked})"


_COLUMNS = (
    "id, user_id, account_id, account_name, key_name, key_type, key_fingerprint, encrypted_key, "
    "permissions, ownership_verified, is_active, state, failure_count, first_failure_at, "
    "last_failure_at, invalid_notified, added_at, validated_at, locale"
)


async def stored_ciphertexts(db: Database) -> list[bytes]:
    """Every stored encrypted key, to check at start-up that the vault can read them all."""
    rows = await db.fetchall("SELECT encrypted_key FROM linked_keys")
    return [bytes(row[0]) for row in rows]


class LinkedKeyStore:
    def __init__(self, db: Database, vault: KeyVault) -> None:
        self.db = db
        self.vault = vault

    async def link(
        self,
        *,
        user_id: int,
        key: str,
        account_id: str,
        account_name: str,
        key_name: str,
        key_type: str,
        permissions: Sequence[str],
        ownership_verified: bool,
        now: datetime,
        locale: str | None = None,
    ) -> LinkedKey:
        """Store (or replace) the key for this user's account and make it the active one.

        ``locale`` is the Discord language the user linked it in (see :meth:`remember_locale`).
        """
        stamp = db_time(now)
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE linked_keys SET is_active = 0 WHERE user_id = ?", (user_id,))
            await tx.execute(
                "INSERT INTO linked_keys (user_id, account_id, account_name, key_name, "
                "encrypted_key, key_fingerprint, key_type, permissions, ownership_verified, "
                "is_active, state, added_at, validated_at, locale) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 'valid', ?, ?, ?) "
                "ON CONFLICT (user_id, account_id) DO UPDATE SET "
                "account_name = excluded.account_name, key_name = excluded.key_name, "
                "encrypted_key = excluded.encrypted_key, "
                "key_fingerprint = excluded.key_fingerprint, key_type = excluded.key_type, "
                "permissions = excluded.permissions, "
                "ownership_verified = excluded.ownership_verified, is_active = 1, "
                "state = 'valid', failure_count = 0, first_failure_at = NULL, "
                "last_failure_at = NULL, invalid_notified = 0, "
                "validated_at = excluded.validated_at, "
                "locale = coalesce(excluded.locale, linked_keys.locale)",
                (
                    user_id,
                    account_id,
                    account_name,
                    key_name,
                    self.vault.encrypt(key),
                    key_id(key),
                    key_type,
                    json.dumps(sorted(permissions)),
                    int(ownership_verified),
                    stamp,
                    stamp,
                    locale,
                ),
            )
            if locale is not None:
                await tx.execute(
                    "UPDATE linked_keys SET locale = ? WHERE user_id = ?", (locale, user_id)
                )
        linked = await self.get(user_id, account_id)
        assert linked is not None
        return linked

    async def remember_locale(self, user_id: int, locale: str) -> bool:
        """Keep ``locale`` as the language of the user's keys; whether a row changed.

        Users without keys are not stored (nothing about them is kept).
        """
        changed = await self.db.execute(
            "UPDATE linked_keys SET locale = ? "
            "WHERE user_id = ? AND (locale IS NULL OR locale <> ?)",
            (locale, user_id, locale),
        )
        return changed > 0

    async def locale_of(self, user_id: int) -> str | None:
        """The language last seen from the user (None without keys or never seen)."""
        value = await self.db.fetchval(
            "SELECT locale FROM linked_keys WHERE user_id = ? AND locale IS NOT NULL "
            "ORDER BY is_active DESC LIMIT 1",
            (user_id,),
        )
        return None if value is None else str(value)

    async def list_for_user(self, user_id: int) -> list[LinkedKey]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM linked_keys WHERE user_id = ? "  # noqa: S608
            "ORDER BY is_active DESC, account_name",
            (user_id,),
        )
        return [self._linked(row) for row in rows]

    async def get(self, user_id: int, account_id: str) -> LinkedKey | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM linked_keys WHERE user_id = ? AND account_id = ?",  # noqa: S608
            (user_id, account_id),
        )
        return None if row is None else self._linked(row)

    async def active(self, user_id: int) -> LinkedKey | None:
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM linked_keys WHERE user_id = ? AND is_active = 1",  # noqa: S608
            (user_id,),
        )
        return None if row is None else self._linked(row)

    async def active_key(self, user_id: int) -> UsableKey | None:
        """The user's active key with its plaintext, or None when they linked none."""
        row = await self.db.fetchone(
            f"SELECT {_COLUMNS} FROM linked_keys WHERE user_id = ? AND is_active = 1",  # noqa: S608
            (user_id,),
        )
        if row is None:
            return None
        key = self.vault.decrypt(bytes(row["encrypted_key"]))
        return UsableKey(self._linked(row, key), key)

    async def decrypt(self, linked: LinkedKey) -> str:
        encrypted = await self.db.fetchval(
            "SELECT encrypted_key FROM linked_keys WHERE id = ?", (linked.id,)
        )
        if encrypted is None:
            raise LookupError("the key was removed")
        return self.vault.decrypt(bytes(encrypted))

    async def switch(self, user_id: int, account_name: str) -> LinkedKey | None:
        """Make the account called ``account_name`` (case-insensitive) active."""
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT account_id FROM linked_keys WHERE user_id = ? "
                "AND lower(account_name) = lower(?)",
                (user_id, account_name),
            )
            if row is None:
                return None
            await tx.execute("UPDATE linked_keys SET is_active = 0 WHERE user_id = ?", (user_id,))
            await tx.execute(
                "UPDATE linked_keys SET is_active = 1 WHERE user_id = ? AND account_id = ?",
                (user_id, row["account_id"]),
            )
        return await self.get(user_id, row["account_id"])

    async def remove(self, user_id: int, account_id: str) -> bool:
        """Delete one account's key; the most recently validated other account becomes active."""
        async with self.db.transaction() as tx:
            deleted = await tx.execute(
                "DELETE FROM linked_keys WHERE user_id = ? AND account_id = ?",
                (user_id, account_id),
            )
            await tx.execute(
                "UPDATE linked_keys SET is_active = 1 WHERE id = ("
                "SELECT id FROM linked_keys WHERE user_id = ? ORDER BY validated_at DESC LIMIT 1"
                ") AND NOT EXISTS (SELECT 1 FROM linked_keys WHERE user_id = ? AND is_active = 1)",
                (user_id, user_id),
            )
        return deleted > 0

    async def remove_all(self, user_id: int) -> int:
        return await self.db.execute("DELETE FROM linked_keys WHERE user_id = ?", (user_id,))

    async def save_failure_state(
        self, key_row_id: int, state: KeyFailureState, *, validated_at: datetime | None = None
    ) -> None:
        """Persist a revalidation outcome (see ``services.keys.revalidation``)."""
        await self.db.execute(
            "UPDATE linked_keys SET failure_count = ?, first_failure_at = ?, "
            "last_failure_at = ?, state = ?, invalid_notified = ?, "
            "validated_at = coalesce(?, validated_at) WHERE id = ?",
            (
                state.consecutive_invalid,
                _iso(state.first_invalid_at),
                _iso(state.last_invalid_at),
                "invalid" if state.invalid else "valid",
                int(state.notified),
                _iso(validated_at),
                key_row_id,
            ),
        )

    async def all_keys(self) -> list[LinkedKey]:
        """Every stored key (for the revalidation loop), without secrets."""
        rows = await self.db.fetchall(f"SELECT {_COLUMNS} FROM linked_keys ORDER BY id")  # noqa: S608
        return [self._linked(row) for row in rows]

    async def rotate_encryption(self) -> tuple[int, int]:
        """Re-encrypt every row with the vault's current key: (rotated, already current)."""
        rotated = current = 0
        async with self.db.transaction() as tx:
            rows = await tx.fetchall("SELECT id, encrypted_key FROM linked_keys")
            for row in rows:
                token = bytes(row["encrypted_key"])
                if self.vault.is_current(token):
                    current += 1
                    continue
                await tx.execute(
                    "UPDATE linked_keys SET encrypted_key = ? WHERE id = ?",
                    (self.vault.rotate(token), row["id"]),
                )
                rotated += 1
        return rotated, current

    def _linked(self, row: aiosqlite.Row, key: str | None = None) -> LinkedKey:
        """The row without its secret; ``key`` is the plaintext when the caller already has it."""
        if key is None:
            key = self.vault.decrypt(bytes(row["encrypted_key"]))
        return LinkedKey(
            id=row["id"],
            user_id=row["user_id"],
            account_id=row["account_id"],
            account_name=row["account_name"],
            key_name=row["key_name"],
            key_type=row["key_type"],
            fingerprint=row["key_fingerprint"],
            # The first 8 characters are what /key info may show; the rest stays encrypted.
            masked=mask_key(key),
            permissions=tuple(json.loads(row["permissions"])),
            ownership_verified=bool(row["ownership_verified"]),
            is_active=bool(row["is_active"]),
            valid=row["state"] == "valid",
            failure=KeyFailureState(
                consecutive_invalid=row["failure_count"],
                first_invalid_at=parse_db_time(row["first_failure_at"]),
                last_invalid_at=parse_db_time(row["last_failure_at"]),
                invalid=row["state"] == "invalid",
                notified=bool(row["invalid_notified"]),
            ),
            added_at=row["added_at"],
            validated_at=row["validated_at"],
            locale=row["locale"],
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else db_time(value)
