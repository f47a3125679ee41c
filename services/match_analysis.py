"""Pure numbers about a WvW match: per colour and per map scores, K/D, PPT, objectives held,
skirmish clock, time to reset, and whether the data looks frozen.

Nothing here does I/O or reads the clock: callers pass ``now`` (and, for the frozen-data flag, when
the match last changed, which :class:`FreezeTracker` remembers between polls).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.gw2.models import COLOURS, SCORING_OBJECTIVE_TYPES, Match, MatchObjective
from services.teams import is_team_id, region_of, team_name

SKIRMISH_LENGTH = timedelta(hours=2)
DEFAULT_FROZEN_AFTER = timedelta(minutes=30)
_OWNER_TO_COLOUR = {"red": "red", "blue": "blue", "green": "green"}


@dataclass(frozen=True, slots=True)
class ColourStats:
    """One colour's numbers, for the whole match or for one map.

    ``kdr`` is ``None`` when there are no deaths (nothing to divide by). ``objectives`` counts
    held objectives by type (``Camp``, ``Tower``, ``Keep``, ``Castle``, and any other type owned).
    ``victory_points`` is 0 on maps (the API gives them per match only).
    """

    colour: str
    team_ids: tuple[int, ...]
    team_names: tuple[str, ...]
    score: int
    kills: int
    deaths: int
    kdr: float | None
    ppt: int
    objectives: Mapping[str, int]
    skirmish_score: int | None
    victory_points: int = 0

    @property
    def display_name(self) -> str:
        return " / ".join(self.team_names) if self.team_names else self.colour.title()


@dataclass(frozen=True, slots=True)
class MapStats:
    """One map (Center = Eternal Battlegrounds, or a home borderland)."""

    id: int
    type: str
    colours: Mapping[str, ColourStats]
    bonuses: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class SkirmishClock:
    """Which two-hour skirmish is running and how long it has left."""

    number: int
    total: int
    started_at: datetime
    ends_at: datetime
    time_left: timedelta


@dataclass(frozen=True, slots=True)
class MatchSummary:
    """Everything the match commands and scheduled posts show."""

    match_id: str
    region: str | None
    start_time: datetime
    end_time: datetime
    colours: Mapping[str, ColourStats]
    maps: tuple[MapStats, ...]
    skirmish: SkirmishClock
    time_to_reset: timedelta
    frozen: bool
    last_changed_at: datetime | None

    def ranking(self) -> list[str]:
        """Colours best first: victory points, then score."""
        return sorted(
            COLOURS,
            key=lambda c: (self.colours[c].victory_points, self.colours[c].score),
            reverse=True,
        )

    def colour_of(self, team_id: int) -> str | None:
        for colour, stats in self.colours.items():
            if team_id in stats.team_ids:
                return colour
        return None


def analyse_match(
    match: Match,
    *,
    now: datetime,
    worlds: Mapping[int, str] | None = None,
    last_changed_at: datetime | None = None,
    frozen_after: timedelta = DEFAULT_FROZEN_AFTER,
) -> MatchSummary:
    """Summarise ``match`` as of ``now``.

    ``worlds`` maps legacy world ids to names (from ``/v2/worlds``); team ids are named from the
    shipped table. ``frozen`` is true when ``last_changed_at`` is at least ``frozen_after`` ago.
    """
    clock = skirmish_clock(match, now)
    current = _skirmish_scores(match, clock.number)
    all_objectives = [o for m in match.maps for o in m.objectives]
    ppt = points_per_tick(all_objectives)
    held = objectives_held(all_objectives)
    colours: dict[str, ColourStats] = {}
    names: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
    for colour in COLOURS:
        ids = _team_ids(match, colour)
        names[colour] = (ids, tuple(_name(i, worlds) for i in ids))
        kills, deaths = match.kills.of(colour), match.deaths.of(colour)
        colours[colour] = ColourStats(
            colour=colour,
            team_ids=ids,
            team_names=names[colour][1],
            score=match.scores.of(colour),
            kills=kills,
            deaths=deaths,
            kdr=kdr(kills, deaths),
            ppt=ppt[colour],
            objectives=held[colour],
            skirmish_score=current.get(("", colour)),
            victory_points=match.victory_points.of(colour),
        )
    maps: list[MapStats] = []
    for match_map in match.maps:
        map_ppt = points_per_tick(match_map.objectives)
        map_held = objectives_held(match_map.objectives)
        per_colour = {
            colour: ColourStats(
                colour=colour,
                team_ids=names[colour][0],
                team_names=names[colour][1],
                score=match_map.scores.of(colour),
                kills=match_map.kills.of(colour),
                deaths=match_map.deaths.of(colour),
                kdr=kdr(match_map.kills.of(colour), match_map.deaths.of(colour)),
                ppt=map_ppt[colour],
                objectives=map_held[colour],
                skirmish_score=current.get((match_map.type, colour)),
            )
            for colour in COLOURS
        }
        bonuses = tuple((b.type, b.owner) for b in match_map.bonuses)
        maps.append(MapStats(match_map.id, match_map.type, per_colour, bonuses))
    frozen = last_changed_at is not None and looks_frozen(last_changed_at, now, frozen_after)
    return MatchSummary(
        match_id=match.id,
        region=match.region,
        start_time=match.start_time,
        end_time=match.end_time,
        colours=colours,
        maps=tuple(maps),
        skirmish=clock,
        time_to_reset=max(timedelta(0), match.end_time - now),
        frozen=frozen,
        last_changed_at=last_changed_at,
    )


def looks_frozen(
    last_changed_at: datetime, now: datetime, frozen_after: timedelta = DEFAULT_FROZEN_AFTER
) -> bool:
    """The freeze rule: the data has not changed for at least ``frozen_after``."""
    return now - last_changed_at >= frozen_after


def points_per_tick(objectives: Iterable[MatchObjective]) -> dict[str, int]:
    """PPT per colour: the sum of ``points_tick`` of the objectives each colour owns."""
    totals = dict.fromkeys(COLOURS, 0)
    for objective in objectives:
        colour = _OWNER_TO_COLOUR.get(objective.owner.lower())
        if colour is not None:
            totals[colour] += objective.points_tick
    return totals


def objectives_held(objectives: Iterable[MatchObjective]) -> dict[str, dict[str, int]]:
    """Objectives owned per colour, counted by type (spawns left out: they never change hands).

    Scoring types (camp, tower, keep, castle) are always present, maybe with 0."""
    held: dict[str, dict[str, int]] = {
        c: dict.fromkeys(SCORING_OBJECTIVE_TYPES, 0) for c in COLOURS
    }
    for objective in objectives:
        colour = _OWNER_TO_COLOUR.get(objective.owner.lower())
        if colour is not None and objective.type != "Spawn":
            counts = held[colour]
            counts[objective.type] = counts.get(objective.type, 0) + 1
    return held


def kdr(kills: int, deaths: int) -> float | None:
    """Kills per death, ``None`` without deaths."""
    return kills / deaths if deaths else None


def skirmish_clock(match: Match, now: datetime) -> SkirmishClock:
    """The running skirmish by time: two-hour slots from ``start_time``, the last one ending at
    ``end_time`` (matches end two minutes before the next one starts)."""
    total = max(1, math.ceil((match.end_time - match.start_time) / SKIRMISH_LENGTH))
    elapsed = now - match.start_time
    number = min(total, max(1, int(elapsed // SKIRMISH_LENGTH) + 1))
    started_at = match.start_time + (number - 1) * SKIRMISH_LENGTH
    ends_at = min(match.end_time, started_at + SKIRMISH_LENGTH)
    time_left = max(timedelta(0), ends_at - max(now, started_at))
    return SkirmishClock(number, total, started_at, ends_at, time_left)


def match_fingerprint(match: Match) -> int:
    """A value that changes whenever anything visible in the match changes."""
    return hash(
        (
            match.id,
            match.start_time,
            tuple(match.scores.of(c) for c in COLOURS),
            tuple(match.kills.of(c) for c in COLOURS),
            tuple(match.deaths.of(c) for c in COLOURS),
            tuple(match.victory_points.of(c) for c in COLOURS),
            len(match.skirmishes),
            tuple((o.id, o.owner, o.last_flipped) for m in match.maps for o in m.objectives),
        )
    )


class FreezeTracker:
    """Remembers, per match, when its data last changed (feed it every poll).

    The API sometimes freezes a match for up to an hour and then resyncs; pass the returned time
    to :func:`analyse_match` as ``last_changed_at`` to raise the ``frozen`` flag.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, datetime]] = {}

    def observe(self, match: Match, now: datetime) -> datetime:
        """Record a poll of ``match`` at ``now``; returns when its data last changed."""
        fingerprint = match_fingerprint(match)
        seen = self._seen.get(match.id)
        if seen is None or seen[0] != fingerprint:
            self._seen[match.id] = (fingerprint, now)
            return now
        return seen[1]


def _team_ids(match: Match, colour: str) -> tuple[int, ...]:
    primary = match.worlds.of(colour)
    ordered = [primary] if primary else []
    ordered += [i for i in match.all_worlds.of(colour) if i != primary]
    return tuple(dict.fromkeys(ordered))


def _name(value: int, worlds: Mapping[int, str] | None) -> str:
    name = team_name(value, worlds)
    if name is not None:
        return name
    region = region_of(value)
    return f"{'Team' if is_team_id(value) else 'World'} {value}" + (
        f" ({region.upper()})" if region else ""
    )


def _skirmish_scores(match: Match, number: int) -> dict[tuple[str, str], int]:
    """Scores of skirmish ``number`` (or the latest reported): ``("", colour)`` for the match,
    ``(map type, colour)`` per map."""
    if not match.skirmishes:
        return {}
    skirmish = next((s for s in match.skirmishes if s.id == number), None)
    if skirmish is None:
        skirmish = max(match.skirmishes, key=lambda s: s.id)
    scores: dict[tuple[str, str], int] = {("", c): skirmish.scores.of(c) for c in COLOURS}
    for map_score in skirmish.map_scores:
        for colour in COLOURS:
            scores[(map_score.type, colour)] = map_score.scores.of(colour)
    return scores


# Cumulative yaks for upgrade tiers 1, 2 and 3.
TIER_YAKS = (20, 60, 140)


def upgrade_tier(yaks_delivered: int) -> int:
    """Upgrade tier 0–3 from the yaks delivered (20, 60, 140)."""
    return sum(1 for needed in TIER_YAKS if yaks_delivered >= needed)
