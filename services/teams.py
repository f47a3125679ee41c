"""WvW teams: the shipped id → name table and one resolver from user input to a team or world id.

Since the 2024 World Restructuring players belong to teams (NA 11001–11012, EU 12001–12015); the
API has no endpoint for their names, so the table lives in ``services/data/teams.json``. Legacy
worlds (1xxx NA, 2xxx EU) still appear in the API; their names come from ``/v2/worlds`` and are
passed in as a mapping, so every function here stays pure and offline.

``resolve_team`` accepts a team id, a legacy world id, or a (partial, case- and accent-insensitive)
team or world name, and says whether it found exactly one, several candidates, or nothing (with the
closest names as suggestions). ``search_teams`` feeds slash-command autocomplete.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

Region = Literal["na", "eu"]
Kind = Literal["team", "world"]
ResolutionStatus = Literal["exact", "match", "ambiguous", "none"]

_ID_PREFIX_RE = re.compile(r"^\s*(\d{4,5})\b")


@dataclass(frozen=True, slots=True)
class Team:
    """A WvW team from the shipped table."""

    id: int
    name: str
    region: Region


@dataclass(frozen=True, slots=True)
class TeamCandidate:
    """Something a player may have meant: a team or a legacy world."""

    id: int
    name: str
    region: Region | None
    kind: Kind


@dataclass(frozen=True, slots=True)
class TeamResolution:
    """The answer of :func:`resolve_team`.

    - ``exact``: an id or a full name; ``team_id`` is set.
    - ``match``: a partial name that fits exactly one team or world; ``team_id`` is set.
    - ``ambiguous``: several fit; ``candidates`` lists them (best first), ``team_id`` is ``None``.
    - ``none``: nothing fits; ``suggestions`` holds the closest names, if any.
    """

    status: ResolutionStatus
    team_id: int | None = None
    candidates: tuple[TeamCandidate, ...] = ()
    suggestions: tuple[TeamCandidate, ...] = ()

    @property
    def resolved(self) -> bool:
        return self.team_id is not None

    @property
    def candidate(self) -> TeamCandidate | None:
        """The chosen team or world when resolved."""
        return self.candidates[0] if self.resolved and self.candidates else None


def teams() -> tuple[Team, ...]:
    """Every team in the shipped table, by id."""
    return _load_teams()


def is_team_id(value: int) -> bool:
    """Whether ``value`` is a post-restructuring team id (known or in the 11xxx/12xxx ranges)."""
    return value in _teams_by_id() or 11000 < value < 13000


def region_of(value: int) -> Region | None:
    """The region of a team id (11xxx/12xxx) or a legacy world id (1xxx/2xxx)."""
    team = _teams_by_id().get(value)
    if team is not None:
        return team.region
    if 11000 < value < 12000 or 1000 < value < 2000:
        return "na"
    if 12000 < value < 13000 or 2000 < value < 3000:
        return "eu"
    return None


def team_name(value: int, worlds: Mapping[int, str] | None = None) -> str | None:
    """The name of a team id, or of a legacy world id when ``worlds`` knows it."""
    team = _teams_by_id().get(value)
    if team is not None:
        return team.name
    if worlds is not None:
        return worlds.get(value)
    return None


def resolve_team(text: str, worlds: Mapping[int, str] | None = None) -> TeamResolution:
    """Turn what a player typed into a team or legacy world id (see :class:`TeamResolution`).

    Without ``worlds`` the answer depends on the text alone and is cached (a popular team is
    asked for many times a second around raid time; the resolution is immutable).
    """
    if worlds is None:
        return _resolve_offline(text)
    return _resolve(text, worlds)


def search_teams(
    prefix: str, limit: int = 25, worlds: Mapping[int, str] | None = None
) -> list[TeamCandidate]:
    """Autocomplete: teams (then worlds) whose name or id fits ``prefix``, best first.

    An empty prefix lists teams in table order. Discord allows at most 25 choices.
    """
    everything = _candidates(worlds)
    query = normalise(prefix)
    if not query:
        return [c for c in everything if c.kind == "team"][:limit]
    if query.isdigit():
        return [c for c in everything if str(c.id).startswith(query)][:limit]
    return _ranked_matches(query, everything)[:limit]


def normalise(text: str) -> str:
    """Lower-case, accents and apostrophes removed, punctuation as single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.casefold()
    folded = re.sub(r"['’‘`´]", "", folded)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


@lru_cache(maxsize=4096)
def _resolve_offline(text: str) -> TeamResolution:
    return _resolve(text, None)


def _resolve(text: str, worlds: Mapping[int, str] | None) -> TeamResolution:
    id_match = _ID_PREFIX_RE.match(text)
    if id_match:
        value = int(id_match.group(1))
        known = _candidate_for_id(value, worlds)
        if known is not None:
            return TeamResolution("exact", value, (known,))
        return TeamResolution("none")

    query = normalise(text)
    if not query:
        return TeamResolution("none")
    everything = _candidates(worlds)
    exact = [c for c in everything if normalise(c.name) == query]
    if len(exact) == 1:
        return TeamResolution("exact", exact[0].id, (exact[0],))
    if len(exact) > 1:
        # A world and a team can share a name; prefer the team (the current system).
        exact.sort(key=lambda c: (c.kind != "team", c.id))
        return TeamResolution("exact", exact[0].id, tuple(exact))

    ranked = _ranked_matches(query, everything)
    if len(ranked) == 1:
        return TeamResolution("match", ranked[0].id, (ranked[0],))
    if ranked:
        return TeamResolution("ambiguous", None, tuple(ranked))

    by_name = {normalise(c.name): c for c in everything}
    close = difflib.get_close_matches(query, list(by_name), n=5, cutoff=0.6)
    return TeamResolution("none", suggestions=tuple(by_name[name] for name in close))


def _ranked_matches(query: str, everything: list[TeamCandidate]) -> list[TeamCandidate]:
    """Names starting with the query, then with a word starting with it, then containing it."""
    scored: list[tuple[int, int, str, TeamCandidate]] = []
    for candidate in everything:
        name = normalise(candidate.name)
        if name.startswith(query):
            rank = 0
        elif any(word.startswith(query) for word in name.split()) or f" {query}" in f" {name}":
            rank = 1
        elif query in name or query.replace(" ", "") in name.replace(" ", ""):
            rank = 2
        else:
            continue
        scored.append((rank, candidate.kind != "team", candidate.name, candidate))
    scored.sort(key=lambda s: (s[0], s[1], s[2]))
    return [s[3] for s in scored]


def _candidate_for_id(value: int, worlds: Mapping[int, str] | None) -> TeamCandidate | None:
    team = _teams_by_id().get(value)
    if team is not None:
        return TeamCandidate(team.id, team.name, team.region, "team")
    if worlds is not None and value in worlds:
        return TeamCandidate(value, worlds[value], region_of(value), "world")
    if worlds is None and (1000 < value < 3000):
        return TeamCandidate(value, f"World {value}", region_of(value), "world")
    return None


def _candidates(worlds: Mapping[int, str] | None) -> list[TeamCandidate]:
    found = [TeamCandidate(t.id, t.name, t.region, "team") for t in _load_teams()]
    if worlds:
        found += [
            TeamCandidate(world_id, name, region_of(world_id), "world")
            for world_id, name in sorted(worlds.items())
        ]
    return found


@lru_cache(maxsize=1)
def _load_teams() -> tuple[Team, ...]:
    raw = json.loads(resources.files("services").joinpath("data/teams.json").read_text("utf-8"))
    loaded: list[Team] = []
    for row in raw["teams"]:
        region = row["region"]
        if region not in ("na", "eu"):
            raise ValueError(f"teams.json: team {row['id']} has unknown region {region!r}")
        loaded.append(Team(int(row["id"]), str(row["name"]), region))
    return tuple(sorted(loaded, key=lambda t: t.id))


@lru_cache(maxsize=1)
def _teams_by_id() -> dict[int, Team]:
    return {team.id: team for team in _load_teams()}
