"""What changed in a match: objective snapshots, their diff, and who should hear about it.

Pure functions over the GW2 client's models (no Discord, no database, no network):

- :func:`snapshot` reduces a match to the objective state alerts care about (owner, last flip,
  claiming guild, yaks delivered) and :func:`diff` turns two snapshots of the same match into
  :class:`AlertEvent` values: owner changed (with how long it had been held), claimed/unclaimed by
  a guild, upgrade tier reached.
- :func:`catch_up` folds the changes seen after a long gap (the bot was offline, or the GW2 API
  was down) into one event, so nobody gets a burst of old news.
- :class:`AlertFilter` says which events one subscription wants (scope, objective types, maps,
  reminders); :func:`pings_role` says which ones mention its role (our keep or castle lost).

Events and snapshots are pydantic models: they are stored as JSON between polls and restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from services.gw2.models import COLOURS, OWNER_BY_COLOUR, SCORING_OBJECTIVE_TYPES, Match
from services.match_analysis import upgrade_tier

ALERT_OBJECTIVE_TYPES = SCORING_OBJECTIVE_TYPES  # Camp, Tower, Keep, Castle
MAP_TYPES = ("Center", "RedHome", "BlueHome", "GreenHome")
# Losing one of these is worth a ping (a garrison is a Keep on a home borderland).
PING_TYPES = ("Keep", "Castle")

Scope = Literal["ours", "match"]
EventKind = Literal[
    "flip", "claim", "unclaim", "upgrade", "reset_reminder", "skirmish_reminder", "catch_up"
]
CatchUpReason = Literal["offline", "outage"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ObjectiveState(_Frozen):
    """One objective as the last poll saw it."""

    type: str
    map_type: str
    owner: str
    last_flipped: datetime | None = None
    claimed_by: str | None = None
    yaks: int = 0


class MatchSnapshot(_Frozen):
    """Every alert-worthy objective of one match at one moment."""

    objectives: dict[str, ObjectiveState] = Field(default_factory=dict)


class AlertEvent(_Frozen):
    """One thing worth telling a channel. Fields unused by a kind stay ``None``.

    Owners are the API's words (``Red``, ``Blue``, ``Green``, ``Neutral``).
    """

    kind: EventKind
    at: datetime
    objective_id: str | None = None
    objective_type: str | None = None
    map_type: str | None = None
    owner: str | None = None
    previous_owner: str | None = None
    held_seconds: int | None = None
    guild_id: str | None = None
    guild_name: str | None = None
    guild_tag: str | None = None
    tier: int | None = None
    minutes_left: int | None = None
    skirmish: int | None = None
    standing: dict[str, int] | None = None
    reason: CatchUpReason | None = None
    changes: list[AlertEvent] = Field(default_factory=list)


MATCH_SNAPSHOT = TypeAdapter(MatchSnapshot)
ALERT_EVENT = TypeAdapter(AlertEvent)


# ------------------------------------------------------------------------------ snapshot + diff
def snapshot(match: Match) -> MatchSnapshot:
    """The alert-relevant state of every camp, tower, keep and castle of ``match``."""
    objectives: dict[str, ObjectiveState] = {}
    for match_map in match.maps:
        for objective in match_map.objectives:
            if objective.type not in ALERT_OBJECTIVE_TYPES:
                continue
            objectives[objective.id] = ObjectiveState(
                type=objective.type,
                map_type=match_map.type,
                owner=objective.owner,
                last_flipped=objective.last_flipped,
                claimed_by=objective.claimed_by or None,
                yaks=objective.yaks_delivered,
            )
    return MatchSnapshot(objectives=objectives)


def diff(previous: MatchSnapshot, current: MatchSnapshot, *, now: datetime) -> list[AlertEvent]:
    """Events between two snapshots of the same match, in a stable order (map, objective id).

    A flip wipes the claim and the upgrades, so after a flip only a new claim is reported (an
    objective claimed in the same instant it was taken), never "unclaimed" or a tier.
    """
    events: list[AlertEvent] = []
    for objective_id in sorted(current.objectives, key=_objective_order):
        now_state = current.objectives[objective_id]
        before = previous.objectives.get(objective_id)
        if before is None:
            continue
        base = {
            "objective_id": objective_id,
            "objective_type": now_state.type,
            "map_type": now_state.map_type,
            "owner": now_state.owner,
        }
        flipped = now_state.owner != before.owner
        if flipped:
            at = now_state.last_flipped or now
            held = _held_seconds(before.last_flipped, at)
            events.append(
                AlertEvent(
                    kind="flip",
                    at=at,
                    previous_owner=before.owner,
                    held_seconds=held,
                    **base,
                )
            )
            if now_state.claimed_by:
                events.append(
                    AlertEvent(kind="claim", at=now, guild_id=now_state.claimed_by, **base)
                )
            continue
        if now_state.claimed_by != before.claimed_by:
            if now_state.claimed_by:
                events.append(
                    AlertEvent(kind="claim", at=now, guild_id=now_state.claimed_by, **base)
                )
            else:
                events.append(
                    AlertEvent(kind="unclaim", at=now, guild_id=before.claimed_by, **base)
                )
        tier = upgrade_tier(now_state.yaks)
        if tier > upgrade_tier(before.yaks):
            events.append(AlertEvent(kind="upgrade", at=now, tier=tier, **base))
    return events


def catch_up(
    changes: Sequence[AlertEvent], *, reason: CatchUpReason, now: datetime
) -> AlertEvent | None:
    """One "while offline: N changes" event standing for ``changes`` (``None`` if there are none).

    The changes are kept inside so that each subscription counts only the ones it wants."""
    if not changes:
        return None
    return AlertEvent(kind="catch_up", at=now, reason=reason, changes=list(changes))


def _held_seconds(since: datetime | None, until: datetime) -> int | None:
    if since is None or until < since:
        return None
    return int((until - since).total_seconds())


def _objective_order(objective_id: str) -> tuple[int, int, str]:
    map_part, _, number = objective_id.partition("-")
    return (
        int(map_part) if map_part.isdigit() else 0,
        int(number) if number.isdigit() else 0,
        objective_id,
    )


# ------------------------------------------------------------------------------ who wants what
def colour_of(match: Match, team_id: int) -> str | None:
    """``red``, ``blue`` or ``green`` for a team (or legacy world) of the match, else ``None``."""
    for colour in COLOURS:
        if match.worlds.of(colour) == team_id or team_id in match.all_worlds.of(colour):
            return colour
    return None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """What one subscription wants to hear about."""

    scope: Scope = "ours"
    objective_types: frozenset[str] = frozenset(ALERT_OBJECTIVE_TYPES)
    map_types: frozenset[str] = frozenset(MAP_TYPES)
    reminders: bool = True

    def wants(self, event: AlertEvent, colour: str | None) -> bool:
        """Whether the event is for this subscription, our team playing ``colour``.

        For a catch-up event: whether any of the changes it stands for is wanted."""
        if event.kind in ("reset_reminder", "skirmish_reminder"):
            return self.reminders
        if event.kind == "catch_up":
            return self.count_wanted(event.changes, colour) > 0
        if event.objective_type not in self.objective_types:
            return False
        if event.map_type not in self.map_types:
            return False
        if self.scope == "match":
            return True
        ours = OWNER_BY_COLOUR.get(colour or "", "")
        if not ours:
            return False
        if event.kind == "flip":
            return ours in (event.owner, event.previous_owner)
        return event.owner == ours

    def count_wanted(self, events: Iterable[AlertEvent], colour: str | None) -> int:
        return sum(1 for event in events if event.kind != "catch_up" and self.wants(event, colour))


def pings_role(event: AlertEvent, colour: str | None) -> bool:
    """Our keep, garrison or castle was lost: the one event that may mention a role."""
    ours = OWNER_BY_COLOUR.get(colour or "", "")
    return (
        event.kind == "flip"
        and bool(ours)
        and event.previous_owner == ours
        and event.objective_type in PING_TYPES
    )


def held_for(event: AlertEvent) -> timedelta | None:
    return None if event.held_seconds is None else timedelta(seconds=event.held_seconds)
