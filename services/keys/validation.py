"""Checking a pasted GW2 API key: its shape, its permissions and the ownership code in its name.

Everything here is pure: the cog calls the GW2 API (``/v2/tokeninfo``, ``/v2/account``) and hands
the plain answers to ``evaluate_key``, which says what the checklist shows and whether the key may
be stored. No function returns or embeds the key itself beyond ``mask_key``'s prefix, and the key's
name (user text that may hold markup) is never echoed back.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from services.i18n import N_, tr
from services.secrets import GW2_API_KEY_RE, JWT_RE, mask_key

KeyKind = Literal["api_key", "subtoken"]
OwnershipPolicy = Literal["required", "optional"]
OwnershipStatus = Literal["verified", "absent", "mismatch"]

# Where players create keys; keys cannot be edited there, only created and deleted.
APPLICATIONS_URL = "https://account.arena.net/applications"

REQUIRED_PERMISSIONS: tuple[str, ...] = ("account", "wvw", "characters", "builds")
OPTIONAL_PERMISSIONS: tuple[str, ...] = ("progression",)
PERMISSION_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "account": N_("your account name and WvW team"),
        "wvw": N_("your WvW team and match data"),
        "characters": N_("your characters' professions, to plan squads around what you can play"),
        "builds": N_("your characters' build tabs, to see which elite specs you have ready"),
        "progression": N_("your WvW rank (optional)"),
    }
)

OWNERSHIP_PREFIX = "GW2OPT"
# No 0/O, 1/I/L or U/V look-alikes: the code is read off a screen and typed into a form.
OWNERSHIP_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
OWNERSHIP_CODE_LENGTH = 4

FORMAT_HELP = (
    "That doesn't look like a GW2 API key. A key is 72 characters like "
    "`XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXXXXXXXXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`; "
    f"copy it from {APPLICATIONS_URL} and paste it whole."
)
# The same, as a message id (the URL is a placeholder): ``tr(locale, FORMAT_HELP_ID, url=...)``.
FORMAT_HELP_ID = N_(
    "That doesn't look like a GW2 API key. A key is 72 characters like "
    "`XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXXXXXXXXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`; "
    "copy it from {url} and paste it whole."
)


def format_help(locale: str = "en") -> str:
    """``FORMAT_HELP`` in ``locale``."""
    return tr(locale, FORMAT_HELP_ID, url=APPLICATIONS_URL)


_MAX_SUBTOKEN_LENGTH = 4096


@dataclass(frozen=True)
class ParsedKey:
    """A pasted key, cleaned up and classified. ``repr`` shows only the masked prefix."""

    kind: KeyKind
    value: str = field(repr=False)

    @property
    def masked(self) -> str:
        return mask_key(self.value)

    def __repr__(self) -> str:
        return f"ParsedKey(kind={self.kind!r}, value={self.masked!r})"


@dataclass(frozen=True)
class PermissionCheck:
    """One checklist line: a permission the bot asks for and whether the key grants it."""

    name: str
    required: bool
    present: bool
    reason: str


@dataclass(frozen=True)
class KeyChecklist:
    """The outcome of checking a key: what the embed shows and whether the key may be stored."""

    key_kind: KeyKind
    permissions: tuple[PermissionCheck, ...]
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]
    ownership: OwnershipStatus
    ownership_policy: OwnershipPolicy
    can_store: bool
    how_to_fix: str | None
    optional_hint: str | None
    format_ok: bool = True
    expected_code: str | None = None

    def fix_text(self, locale: str) -> str | None:
        """``how_to_fix`` in ``locale``."""
        return _how_to_fix(
            self.missing_required,
            self.ownership,
            self.ownership_policy == "optional" or self.ownership == "verified",
            self.expected_code,
            self.key_kind,
            locale,
        )

    def hint_text(self, locale: str) -> str | None:
        """``optional_hint`` in ``locale``."""
        return _optional_hint(self.missing_optional, locale) if self.can_store else None

    @property
    def ownership_verified(self) -> bool:
        return self.ownership == "verified"

    @property
    def ownership_blocks(self) -> bool:
        """Whether the ownership check alone keeps the key from being stored."""
        return self.ownership_policy == "required" and self.ownership != "verified"


def normalize_key_input(text: str) -> str:
    """``text`` without what a paste tends to add: spaces, code fences, quotes, spoilers."""
    cleaned = text.replace("\u200b", "").replace("\ufeff", "").strip()
    fence = re.fullmatch(r"```[A-Za-z0-9_+-]*\s*\n?(.*?)\n?```", cleaned, flags=re.DOTALL)
    if fence:
        cleaned = fence.group(1)
    return cleaned.strip().strip("`'\"“”‘’|<> \t\r\n")


def parse_key(text: str) -> ParsedKey | None:
    """The key in ``text`` (an API key, uppercased, or a subtoken), or ``None`` if neither."""
    candidate = normalize_key_input(text)
    if GW2_API_KEY_RE.fullmatch(candidate):
        return ParsedKey("api_key", candidate.upper())
    if _is_subtoken(candidate):
        return ParsedKey("subtoken", candidate)
    return None


def classify_key(text: str) -> KeyKind | None:
    """``"api_key"`` for a 72-character key, ``"subtoken"`` for a subtoken JWT, else ``None``."""
    parsed = parse_key(text)
    return parsed.kind if parsed else None


def ownership_code() -> str:
    """A fresh one-time ownership code such as ``GW2OPT-7KQ4`` (from ``secrets``)."""
    body = "".join(secrets.choice(OWNERSHIP_ALPHABET) for _ in range(OWNERSHIP_CODE_LENGTH))
    return f"{OWNERSHIP_PREFIX}-{body}"


def check_ownership(key_name: str | None, expected_code: str | None) -> OwnershipStatus:
    """Whether the key's name holds ``expected_code`` (case, spaces and dashes ignored).

    ``mismatch`` means the name holds a code of ours, but not the one issued (an old code, or
    somebody else's); ``absent`` means no code at all.
    """
    name = _squash(key_name or "")
    if expected_code and _squash(expected_code) in name:
        return "verified"
    if re.search(rf"{OWNERSHIP_PREFIX}[{OWNERSHIP_ALPHABET}]{{{OWNERSHIP_CODE_LENGTH}}}", name):
        return "mismatch"
    return "absent"


def evaluate_key(
    tokeninfo_permissions: Iterable[str],
    key_name: str | None,
    expected_code: str | None,
    ownership_policy: OwnershipPolicy = "optional",
    *,
    key_kind: KeyKind = "api_key",
) -> KeyChecklist:
    """The checklist for a key whose ``/v2/tokeninfo`` answered with these permissions and name.

    The key may be stored when every required permission is present and, if the guild requires
    it, the name holds the issued ownership code.
    """
    granted = {permission.strip().lower() for permission in tokeninfo_permissions}
    checks = tuple(
        PermissionCheck(
            name, name in REQUIRED_PERMISSIONS, name in granted, PERMISSION_REASONS[name]
        )
        for name in (*REQUIRED_PERMISSIONS, *OPTIONAL_PERMISSIONS)
    )
    missing_required = tuple(c.name for c in checks if c.required and not c.present)
    missing_optional = tuple(c.name for c in checks if not c.required and not c.present)
    ownership = check_ownership(key_name, expected_code)
    ownership_ok = ownership_policy == "optional" or ownership == "verified"
    can_store = not missing_required and ownership_ok
    return KeyChecklist(
        key_kind=key_kind,
        permissions=checks,
        missing_required=missing_required,
        missing_optional=missing_optional,
        ownership=ownership,
        ownership_policy=ownership_policy,
        can_store=can_store,
        how_to_fix=_how_to_fix(missing_required, ownership, ownership_ok, expected_code, key_kind),
        optional_hint=_optional_hint(missing_optional) if can_store else None,
        expected_code=expected_code,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _how_to_fix(
    missing_required: tuple[str, ...],
    ownership: OwnershipStatus,
    ownership_ok: bool,
    expected_code: str | None,
    key_kind: KeyKind,
    locale: str = "en",
) -> str | None:
    if not missing_required and ownership_ok:
        return None
    lines: list[str] = []
    if missing_required:
        missing = ", ".join(f"`{name}`" for name in missing_required)
        lines.append(tr(locale, "This key is missing {permissions}:", permissions=missing))
        lines.extend(
            f"• `{name}`: {tr(locale, PERMISSION_REASONS[name])}" for name in missing_required
        )
    if not ownership_ok:
        if ownership == "mismatch":
            lines.append(
                tr(locale, "The key's name holds a different code; each code works only once.")
            )
        else:
            lines.append(
                tr(
                    locale,
                    "This server asks you to prove the key is yours with a code in its name.",
                )
            )
    wanted = ", ".join(f"`{name}`" for name in REQUIRED_PERMISSIONS)
    with_code = not ownership_ok and bool(expected_code)
    lines.append(
        tr(
            locale,
            _STEPS[(key_kind == "subtoken", with_code)],
            url=APPLICATIONS_URL,
            permissions=wanted,
            code=expected_code or "",
        )
    )
    return "\n".join(lines)


# (subtoken?, with the ownership code?) -> the closing instruction.
_STEPS = {
    (False, False): N_(
        "Keys can't be edited: create a new key at {url} with {permissions} ticked (and "
        "`progression` for your WvW rank), then run `/key add` again."
    ),
    (True, False): N_(
        "Keys can't be edited: create a new subtoken at {url} with {permissions} ticked (and "
        "`progression` for your WvW rank), then run `/key add` again."
    ),
    (False, True): N_(
        "Keys can't be edited: create a new key at {url} with {permissions} ticked (and "
        "`progression` for your WvW rank), name it so it contains `{code}`, then run "
        "`/key add` again."
    ),
    (True, True): N_(
        "Keys can't be edited: create a new subtoken at {url} with {permissions} ticked (and "
        "`progression` for your WvW rank), name it so it contains `{code}`, then run "
        "`/key add` again."
    ),
}


def _optional_hint(missing_optional: tuple[str, ...], locale: str = "en") -> str | None:
    if not missing_optional:
        return None
    names = ", ".join(f"`{name}`" for name in missing_optional)
    return tr(
        locale,
        "Optional: a key with {permissions} also lets the bot show your WvW rank.",
        permissions=names,
    )


def _squash(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def _is_subtoken(candidate: str) -> bool:
    """A JWT whose header and claims decode to JSON objects (what GW2 subtokens are)."""
    if len(candidate) > _MAX_SUBTOKEN_LENGTH or not JWT_RE.fullmatch(candidate):
        return False
    header, claims, _signature = candidate.split(".")
    return _json_object_segment(header) and _json_object_segment(claims)


def _json_object_segment(segment: str) -> bool:
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return isinstance(json.loads(decoded), dict)
    except (binascii.Error, ValueError):
        return False
