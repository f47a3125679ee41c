"""Typed views of the GW2 API answers the bot uses.

Models ignore fields they do not know, and enum-like fields (objective types, owners, map types,
permissions, professions) are plain strings: ArenaNet adds values without a schema bump, so an
unknown value must never break parsing. The known values are listed as constants for readers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

# Known values (not exhaustive: the API adds new ones).
COLOURS = ("red", "blue", "green")
OWNER_BY_COLOUR = {"red": "Red", "blue": "Blue", "green": "Green"}
MAP_TYPES = ("Center", "RedHome", "BlueHome", "GreenHome")
OBJECTIVE_TYPES = ("Spawn", "Camp", "Tower", "Keep", "Castle", "Ruins", "Mercenary", "Generic")
SCORING_OBJECTIVE_TYPES = ("Camp", "Tower", "Keep", "Castle")
PERMISSIONS = (
    "account",
    "builds",
    "characters",
    "guilds",
    "inventories",
    "progression",
    "pvp",
    "tradingpost",
    "unlocks",
    "wallet",
    "wvw",
)


class GW2Model(BaseModel):
    """Base: frozen, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class TeamValues(GW2Model):
    """A number per colour (scores, kills, deaths, victory points)."""

    red: int = 0
    blue: int = 0
    green: int = 0

    def of(self, colour: str) -> int:
        """The value for ``colour`` ("red", "blue" or "green")."""
        return int(getattr(self, colour))


class TeamIds(TeamValues):
    """The primary id per colour: a team id (11xxx/12xxx) or a legacy world id."""


class TeamIdLists(GW2Model):
    """Every id per colour (``all_worlds``)."""

    red: list[int] = Field(default_factory=list)
    blue: list[int] = Field(default_factory=list)
    green: list[int] = Field(default_factory=list)

    def of(self, colour: str) -> list[int]:
        return list(getattr(self, colour))


class MatchObjective(GW2Model):
    """An objective's live state inside a match map."""

    id: str
    type: str = "Generic"
    owner: str = "Neutral"
    last_flipped: datetime | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    points_tick: int = 0
    points_capture: int = 0
    yaks_delivered: int = 0
    guild_upgrades: list[int] = Field(default_factory=list)

    @field_validator("guild_upgrades", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class MapBonus(GW2Model):
    type: str
    owner: str


class MatchMap(GW2Model):
    id: int
    type: str
    scores: TeamValues = Field(default_factory=TeamValues)
    kills: TeamValues = Field(default_factory=TeamValues)
    deaths: TeamValues = Field(default_factory=TeamValues)
    bonuses: list[MapBonus] = Field(default_factory=list)
    objectives: list[MatchObjective] = Field(default_factory=list)


class MapScore(GW2Model):
    type: str
    scores: TeamValues = Field(default_factory=TeamValues)


class Skirmish(GW2Model):
    id: int
    scores: TeamValues = Field(default_factory=TeamValues)
    map_scores: list[MapScore] = Field(default_factory=list)


class MatchOverview(GW2Model):
    """``/v2/wvw/matches/overview``: who plays whom and when."""

    id: str
    worlds: TeamIds = Field(default_factory=TeamIds)
    all_worlds: TeamIdLists = Field(default_factory=TeamIdLists)
    start_time: datetime
    end_time: datetime

    @property
    def region(self) -> str:
        """ "na" for ids "1-N", "eu" for "2-N"."""
        return "na" if self.id.startswith("1-") else "eu"

    def team_ids(self) -> set[int]:
        """Every primary and linked id in this match."""
        ids = {self.worlds.of(c) for c in COLOURS}
        for colour in COLOURS:
            ids.update(self.all_worlds.of(colour))
        ids.discard(0)
        return ids


class Match(MatchOverview):
    """A full ``/v2/wvw/matches`` entry."""

    scores: TeamValues = Field(default_factory=TeamValues)
    kills: TeamValues = Field(default_factory=TeamValues)
    deaths: TeamValues = Field(default_factory=TeamValues)
    victory_points: TeamValues = Field(default_factory=TeamValues)
    skirmishes: list[Skirmish] = Field(default_factory=list)
    maps: list[MatchMap] = Field(default_factory=list)


class Objective(GW2Model):
    """Static objective data from ``/v2/wvw/objectives``."""

    id: str
    name: str = ""
    type: str = "Generic"
    sector_id: int | None = None
    map_id: int | None = None
    map_type: str = ""
    coord: list[float] = Field(default_factory=list)
    label_coord: list[float] = Field(default_factory=list)
    marker: str | None = None
    chat_link: str | None = None
    upgrade_id: int | None = None


class World(GW2Model):
    """A legacy world from ``/v2/worlds``."""

    id: int
    name: str
    population: str = ""


class TokenInfo(GW2Model):
    """``/v2/tokeninfo``. ``name`` is user text and may hold markup: escape before display."""

    id: str
    name: str = ""
    permissions: list[str] = Field(default_factory=list)
    type: str = "APIKey"
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    urls: list[str] = Field(default_factory=list)


class AccountWvwRank(GW2Model):
    team_id: int | None = None
    rank: int | None = None


class Account(GW2Model):
    """``/v2/account`` at schema 2024-07-20 or later (WvW fields under ``wvw``)."""

    id: str
    name: str
    world: int | None = None
    guilds: list[str] = Field(default_factory=list)
    guild_leader: list[str] = Field(default_factory=list)
    created: datetime | None = None
    access: list[str] = Field(default_factory=list)
    commander: bool = False
    wvw: AccountWvwRank = Field(default_factory=AccountWvwRank)


class AccountWvw(GW2Model):
    """``/v2/account/wvw``: the account's team and WvW guild."""

    team: int | None = None
    guild: str | None = None


class SpecializationSlot(GW2Model):
    id: int | None = None
    traits: list[int | None] = Field(default_factory=list)


class Build(GW2Model):
    name: str = ""
    profession: str = ""
    specializations: list[SpecializationSlot] = Field(default_factory=list)


class BuildTab(GW2Model):
    tab: int
    is_active: bool = False
    build: Build = Field(default_factory=Build)

    def specialization_ids(self) -> list[int]:
        return [s.id for s in self.build.specializations if s.id is not None]


class Character(GW2Model):
    """One character of ``/v2/characters?ids=all``: the core fields plus its build tabs.

    ``build_tabs`` is empty when the key lacks the ``builds`` scope (the API then leaves it out).
    """

    name: str
    race: str = ""
    gender: str = ""
    profession: str = ""
    level: int = 0
    guild: str | None = None
    age: int = 0
    created: datetime | None = None
    deaths: int | None = None
    title: int | None = None
    active_build_tab: int | None = None
    build_tabs: list[BuildTab] = Field(default_factory=list)

    @field_validator("build_tabs", mode="before")
    @classmethod
    def _no_tabs_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


class Specialization(GW2Model):
    id: int
    name: str = ""
    profession: str = ""
    elite: bool = False
    icon: str | None = None
    minor_traits: list[int] = Field(default_factory=list)
    major_traits: list[int] = Field(default_factory=list)


class GameBuild(GW2Model):
    """``/v2/build``: the current game build id (static data changes with it)."""

    id: int


class Guild(GW2Model):
    """Public fields of ``/v2/guild/{id}``."""

    id: str
    name: str
    tag: str = ""


# Adapters are built once: building them per call would cost more than a cache hit.
MATCH = TypeAdapter(Match)
MATCH_LIST = TypeAdapter(list[Match])
OBJECTIVE_LIST = TypeAdapter(list[Objective])
WORLD_LIST = TypeAdapter(list[World])
TOKEN_INFO = TypeAdapter(TokenInfo)
ACCOUNT = TypeAdapter(Account)
ACCOUNT_WVW = TypeAdapter(AccountWvw)
BUILD_TAB_LIST = TypeAdapter(list[BuildTab])
CHARACTER_LIST = TypeAdapter(list[Character])
SPECIALIZATION_LIST = TypeAdapter(list[Specialization])
GAME_BUILD = TypeAdapter(GameBuild)
GUILD = TypeAdapter(Guild)


class ErrorBody(GW2Model):
    """The API's error shape: ``{"text": "..."}``."""

    text: str = ""


ERROR_BODY = TypeAdapter(ErrorBody)
