"""Live WvW alerts, the pure parts: match diffs, reminders, filters and metrics."""

from services.match_analysis import upgrade_tier

from .derive import CATCH_UP_AFTER, Derived, LastSeen, derive
from .events import (
    ALERT_EVENT,
    ALERT_OBJECTIVE_TYPES,
    MAP_TYPES,
    MATCH_SNAPSHOT,
    AlertEvent,
    AlertFilter,
    CatchUpReason,
    MatchSnapshot,
    ObjectiveState,
    Scope,
    catch_up,
    colour_of,
    diff,
    held_for,
    pings_role,
    snapshot,
)
from .metrics import AlertMetrics
from .reminders import REMINDER_GRACE, reminders_between

__all__ = [
    "ALERT_EVENT",
    "ALERT_OBJECTIVE_TYPES",
    "CATCH_UP_AFTER",
    "MAP_TYPES",
    "MATCH_SNAPSHOT",
    "REMINDER_GRACE",
    "AlertEvent",
    "AlertFilter",
    "AlertMetrics",
    "CatchUpReason",
    "Derived",
    "LastSeen",
    "MatchSnapshot",
    "ObjectiveState",
    "Scope",
    "catch_up",
    "colour_of",
    "derive",
    "diff",
    "held_for",
    "pings_role",
    "reminders_between",
    "snapshot",
    "upgrade_tier",
]
