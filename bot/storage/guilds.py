"""Per-guild settings: default WvW team, key ownership policy, leak guard, and leaving/rejoining."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .database import Database, db_time

OwnershipPolicy = Literal["optional", "required"]


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    default_team_id: int | None = None
    language: str = "en"
    key_ownership_policy: OwnershipPolicy = "optional"
    leak_guard_enabled: bool = True
    left_at: str | None = None


class GuildSettingsRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, guild_id: int) -> GuildSettings:
        """The guild's settings; defaults when nothing was ever configured."""
        row = await self.db.fetchone(
            "SELECT guild_id, default_team_id, language, key_ownership_policy, "
            "leak_guard_enabled, left_at FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildSettings(guild_id=guild_id)
        return GuildSettings(
            guild_id=row["guild_id"],
            default_team_id=row["default_team_id"],
            language=row["language"],
            key_ownership_policy=row["key_ownership_policy"],
            leak_guard_enabled=bool(row["leak_guard_enabled"]),
            left_at=row["left_at"],
        )

    async def set_default_team(self, guild_id: int, team_id: int | None) -> None:
        await self._upsert(guild_id, "default_team_id", team_id)

    async def set_ownership_policy(self, guild_id: int, policy: OwnershipPolicy) -> None:
        await self._upsert(guild_id, "key_ownership_policy", policy)

    async def requiring_ownership(self) -> list[int]:
        """The guilds (still joined) whose key ownership policy is ``required``."""
        rows = await self.db.fetchall(
            "SELECT guild_id FROM guild_settings "
            "WHERE key_ownership_policy = 'required' AND left_at IS NULL"
        )
        return [int(row["guild_id"]) for row in rows]

    async def set_leak_guard(self, guild_id: int, enabled: bool) -> None:
        await self._upsert(guild_id, "leak_guard_enabled", int(enabled))

    async def set_language(self, guild_id: int, language: str) -> None:
        """``language`` as ``services.i18n.stored_language`` gives it."""
        await self._upsert(guild_id, "language", language)

    async def mark_left(self, guild_id: int, when: datetime) -> None:
        """The bot left: keep the settings for a grace period in case it is invited back."""
        # A row even for a guild that never changed a setting: its subscriptions must be purged too.
        await self.db.execute(
            "INSERT INTO guild_settings (guild_id, left_at) VALUES (?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET left_at = excluded.left_at",
            (guild_id, db_time(when)),
        )

    async def mark_present(self, guild_id: int) -> None:
        await self.db.execute(
            "UPDATE guild_settings SET left_at = NULL WHERE guild_id = ? AND left_at IS NOT NULL",
            (guild_id,),
        )

    async def reconcile(
        self,
        present: set[int],
        when: datetime,
        *,
        owned: Callable[[int], bool] | None = None,
    ) -> tuple[list[int], list[int]]:
        """Match the stored guilds with the ones the bot is in after connecting.

        Guilds with settings or subscriptions that the bot is no longer in (removed while it was
        offline) start their grace period; guilds marked left that it is in again are present.
        With ``owned`` (a cluster process), guilds on other processes' shards are left alone.
        Returns (marked left, marked present).
        """
        rows = await self.db.fetchall(
            "SELECT guild_id, left_at FROM guild_settings UNION "
            "SELECT DISTINCT guild_id, NULL FROM update_subscriptions "
            "WHERE guild_id NOT IN (SELECT guild_id FROM guild_settings)"
        )
        if owned is not None:
            rows = [r for r in rows if owned(r["guild_id"])]
        gone = sorted(
            r["guild_id"] for r in rows if r["left_at"] is None and r["guild_id"] not in present
        )
        back = sorted(
            r["guild_id"] for r in rows if r["left_at"] is not None and r["guild_id"] in present
        )
        for guild_id in gone:
            await self.mark_left(guild_id, when)
        for guild_id in back:
            await self.mark_present(guild_id)
        return gone, back

    async def purge_left_before(self, cutoff: datetime) -> list[int]:
        """Delete everything of guilds the bot left before ``cutoff``; returns their ids."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT guild_id FROM guild_settings WHERE left_at IS NOT NULL AND left_at < ?",
                (db_time(cutoff),),
            )
            guild_ids = [row["guild_id"] for row in rows]
            for guild_id in guild_ids:
                await tx.execute("DELETE FROM update_subscriptions WHERE guild_id = ?", (guild_id,))
                await tx.execute("DELETE FROM alert_subscriptions WHERE guild_id = ?", (guild_id,))
                await tx.execute("DELETE FROM guild_settings WHERE guild_id = ?", (guild_id,))
        return guild_ids

    async def _upsert(self, guild_id: int, column: str, value: object) -> None:
        # ``column`` comes from this module's own methods, never from user input.
        assert column in _COLUMNS
        await self.db.execute(
            f"INSERT INTO guild_settings (guild_id, {column}) VALUES (?, ?) "  # noqa: S608
            f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
            (guild_id, value),
        )


_COLUMNS = frozenset({"default_team_id", "key_ownership_policy", "leak_guard_enabled", "language"})
