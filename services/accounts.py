"""What a linked key tells us about its account: the link check, the account card, the characters.

The cog calls these with a plaintext key it just decrypted; they call the GW2 client (never raw
HTTP) and return plain dataclasses the embed renderers turn into Discord messages. Key errors
(``InvalidKeyError``) are raised to the caller, which records them for revalidation; other API
failures are raised too, except where a missing piece only hides one field.

Nothing here keeps, logs or returns the key itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from services.composer.catalogue import default_catalogue
from services.gw2 import (
    GW2APIError,
    GW2Client,
    InvalidKeyError,
    MissingPermissionError,
)
from services.gw2.game_names import GameNames, game_names
from services.gw2.models import Account, BuildTab
from services.keys import (
    KeyChecklist,
    OwnershipPolicy,
    ParsedKey,
    evaluate_key,
)
from services.teams import team_name

log = logging.getLogger(__name__)

# The most characters /characters loads (an account has at most 70 slots).
MAX_CHARACTERS = 70
# Seconds /characters may wait for profession and spec names (cached for a day once fetched).
NAMES_BUDGET_S = 2.0

PROFESSION_ICONS: Mapping[str, str] = {
    "Guardian": "🛡️",
    "Warrior": "⚔️",
    "Revenant": "🌀",
    "Engineer": "🔧",
    "Ranger": "🏹",
    "Thief": "🗡️",
    "Elementalist": "🔥",
    "Mesmer": "🦋",
    "Necromancer": "💀",
}

ACCESS_NAMES: Mapping[str, str] = {
    "GuildWars2": "Guild Wars 2",
    "PlayForFree": "Free to play",
    "HeartOfThorns": "Heart of Thorns",
    "PathOfFire": "Path of Fire",
    "EndOfDragons": "End of Dragons",
    "SecretsOfTheObscure": "Secrets of the Obscure",
    "JanthirWilds": "Janthir Wilds",
    "VisionsOfEternity": "Visions of Eternity",
}


# ---------------------------------------------------------------------------------------------
# linking


@dataclass(frozen=True)
class KeyCheck:
    """The outcome of checking a pasted key against the API (everything but the key itself)."""

    checklist: KeyChecklist
    key_name: str
    key_type: str
    permissions: tuple[str, ...]
    account_id: str | None
    account_name: str | None
    team: str | None

    @property
    def can_store(self) -> bool:
        return self.checklist.can_store and self.account_id is not None


async def check_key(
    gw2: GW2Client,
    parsed: ParsedKey,
    expected_code: str | None,
    policy: OwnershipPolicy,
) -> KeyCheck:
    """Ask ``/v2/tokeninfo`` and ``/v2/account`` about ``parsed`` and fill in the checklist.

    Raises ``InvalidKeyError`` when ArenaNet rejects the key and other ``GW2APIError``s when the
    API cannot answer; a stale (cached) answer is not good enough to link a key, so it raises too.
    """
    info = await gw2.tokeninfo(parsed.value, refresh=True)
    if info.stale:
        raise info.error or GW2APIError()
    token = info.value
    checklist = evaluate_key(
        token.permissions, token.name, expected_code, policy, key_kind=parsed.kind
    )
    account: Account | None = None
    try:
        fetched = await gw2.account(parsed.value, refresh=True)
    except MissingPermissionError:
        fetched = None  # a subtoken limited to other URLs: the checklist says what is missing
    if fetched is not None:
        if fetched.stale:
            raise fetched.error or GW2APIError()
        account = fetched.value
    team = await _team_of(gw2, parsed.value, account, token.permissions) if account else None
    return KeyCheck(
        checklist=checklist,
        key_name=token.name,
        key_type=token.type,
        permissions=tuple(sorted({p.lower() for p in token.permissions})),
        account_id=account.id if account else None,
        account_name=account.name if account else None,
        team=team,
    )


# ---------------------------------------------------------------------------------------------
# /account


@dataclass(frozen=True)
class GuildLabel:
    """A guild as the account card shows it."""

    name: str
    tag: str = ""


@dataclass(frozen=True)
class AccountOverview:
    """What ``/account`` shows. A ``None`` value with a ``hidden`` reason means "not allowed"."""

    name: str
    team: str | None
    wvw_rank: int | None
    access: tuple[str, ...]
    guilds: tuple[GuildLabel, ...]
    created: datetime | None
    commander: bool
    fetched_at: datetime
    stale: bool = False
    hidden: Mapping[str, str] = field(default_factory=dict)


async def fetch_account_overview(
    gw2: GW2Client, key: str, permissions: Iterable[str]
) -> AccountOverview:
    """The account card for ``key``; fields its permissions don't cover are hidden with a reason."""
    granted = {p.lower() for p in permissions}
    fetched = await gw2.account(key)
    account = fetched.value
    hidden: dict[str, str] = {}
    team: str | None = None
    if "wvw" in granted or account.wvw.team_id is not None:
        team = await _team_of(gw2, key, account, granted)
    else:
        hidden["team"] = "wvw"
    rank = account.wvw.rank if "progression" in granted else None
    if "progression" not in granted:
        hidden["wvw_rank"] = "progression"
    guilds = await _guild_labels(gw2, account.guilds)
    return AccountOverview(
        name=account.name,
        team=team,
        wvw_rank=rank,
        access=tuple(access_names(account.access)),
        guilds=guilds,
        created=account.created,
        commander=account.commander,
        fetched_at=fetched.fetched_at,
        stale=fetched.stale,
        hidden=hidden,
    )


def access_names(access: Iterable[str]) -> list[str]:
    """``["GuildWars2", "PathOfFire"]`` → ``["Guild Wars 2", "Path of Fire"]`` (unknown: spaced)."""
    names: list[str] = []
    for code in access:
        name = ACCESS_NAMES.get(code) or re.sub(r"(?<=[a-z])(?=[A-Z0-9])", " ", code)
        if name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------------------------------------
# /characters


@dataclass(frozen=True)
class CharacterSummary:
    """One line of ``/characters``. Names are in the language asked for (English fallback)."""

    name: str
    profession: str  # the API's id, the English name ("Guardian")
    level: int
    elite_spec: str | None  # None: a core build (or builds hidden)
    age_seconds: int
    created: datetime | None
    profession_name: str = ""  # in the asked language; empty: ``profession``

    @property
    def shown_profession(self) -> str:
        return self.profession_name or self.profession


@dataclass(frozen=True)
class CharacterRoster:
    """The active account's characters, and what could not be shown."""

    characters: tuple[CharacterSummary, ...]
    total: int  # how many the account has (``characters`` may hold fewer)
    builds_hidden: bool  # the key lacks ``builds``: no elite specs
    stale: bool = False


async def fetch_characters(
    gw2: GW2Client,
    key: str,
    permissions: Iterable[str],
    *,
    limit: int = MAX_CHARACTERS,
    lang: str = "en",
) -> CharacterRoster:
    """Every character's profession, level, age and (with ``builds``) active elite spec.

    One ``/v2/characters?ids=all`` request for the whole account; the build tabs in it are only
    read when the key has ``builds``. Profession and elite-spec names are in ``lang``, from the
    static, cached ``/v2/professions`` and ``/v2/specializations`` (English names when the API
    cannot give them: elite specs then come from the composer's catalogue).
    """
    granted = {p.lower() for p in permissions}
    fetched = await gw2.characters_all(key)
    wanted = fetched.value[:limit]
    want_builds = "builds" in granted
    rows = [(c, c.build_tabs if want_builds else []) for c in wanted]
    has_specs = any(
        slot.id is not None
        for _, tabs in rows
        for tab in tabs
        for slot in tab.build.specializations
    )
    names = GameNames(lang="en")
    if rows and (has_specs or lang != "en"):
        names = await game_names(gw2, lang, want_specializations=has_specs, budget=NAMES_BUDGET_S)
    characters = tuple(
        CharacterSummary(
            name=character.name,
            profession=character.profession,
            level=character.level,
            elite_spec=elite_spec_name(tabs, names),
            age_seconds=character.age,
            created=character.created,
            profession_name=names.profession(character.profession),
        )
        for character, tabs in rows
    )
    return CharacterRoster(
        characters=characters,
        total=len(fetched.value),
        builds_hidden=not want_builds,
        stale=fetched.stale,
    )


def elite_spec_name(tabs: Sequence[BuildTab], names: GameNames) -> str | None:
    """The elite specialization of the active build tab (the first tab when none is active).

    The elite spec sits in one of the three slots (the third, in practice); it is the slot whose
    specialization is elite. ``None`` means a core build or unknown specializations. When the API
    could not name the specializations, the catalogue's English elite names are used.
    """
    if not tabs:
        return None
    tab = next((t for t in tabs if t.is_active), tabs[0])
    english = _english_elite_names()
    for slot in tab.build.specializations:
        if slot.id is None:
            continue
        elite = names.is_elite(slot.id)
        if elite is None and slot.id in english:
            return english[slot.id]
        if elite:
            return names.specialization(slot.id, english.get(slot.id, "")) or None
    return None


@lru_cache(maxsize=1)
def _english_elite_names() -> Mapping[int, str]:
    """Specialization id -> English name of every elite spec the composer's catalogue knows."""
    return {
        spec.specialization_id: spec.name
        for spec in default_catalogue().specs.values()
        if spec.specialization_id is not None
    }


def format_played(seconds: int) -> str:
    """Time played: ``"1,234 h"``, ``"45 min"``."""
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600:,} h"


# ---------------------------------------------------------------------------------------------
# forgetting


# ---------------------------------------------------------------------------------------------
# helpers


async def _team_of(
    gw2: GW2Client, key: str, account: Account, permissions: Iterable[str]
) -> str | None:
    """The account's WvW team name (``/v2/account``'s ``wvw.team_id``, else ``/v2/account/wvw``)."""
    team_id = account.wvw.team_id
    if team_id is None and "wvw" in {p.lower() for p in permissions}:
        try:
            team_id = (await gw2.account_wvw(key)).value.team
        except InvalidKeyError:
            raise
        except GW2APIError as error:
            log.info("WvW team lookup failed (%s)", error.outcome)
    if team_id is None:
        return None
    return team_name(team_id) or f"team {team_id}"


async def _guild_labels(gw2: GW2Client, guild_ids: Sequence[str]) -> tuple[GuildLabel, ...]:
    async def one(guild_id: str) -> GuildLabel | None:
        try:
            guild = (await gw2.guild(guild_id)).value
        except GW2APIError as error:
            log.info("Guild lookup failed (%s)", error.outcome)
            return None
        return GuildLabel(guild.name, guild.tag)

    labels = await asyncio.gather(*(one(g) for g in guild_ids[:5]))
    return tuple(label for label in labels if label is not None)
