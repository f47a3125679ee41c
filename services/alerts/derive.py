"""One match, one poll: the new snapshot and the events it yields (pure).

The rules of a poll in one place: a match seen for the first time or a new week is a baseline (no
events); a real gap (the process's first look at the match, or a match that had no data) longer
than ``CATCH_UP_AFTER`` folds its changes into one catch-up event; otherwise the changes are told
one by one. Reminders due since the last look (within ``REMINDER_GRACE``) are added either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.gw2.models import Match

from .events import AlertEvent, CatchUpReason, MatchSnapshot, catch_up, diff, snapshot
from .reminders import REMINDER_GRACE, reminders_between

CATCH_UP_AFTER = timedelta(minutes=3)


@dataclass(frozen=True, slots=True)
class LastSeen:
    """What the previous look at the match stored."""

    start_time: str
    snapshot: MatchSnapshot
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class Derived:
    """``changes`` are told one by one (their guilds still to be named); ``others`` are a
    catch-up summary and reminders, ready as they are."""

    snapshot: MatchSnapshot
    changes: list[AlertEvent] = field(default_factory=list)
    others: list[AlertEvent] = field(default_factory=list)


def derive(
    match: Match,
    start_time: str,
    last: LastSeen | None,
    *,
    now: datetime,
    first_look: bool,
    had_no_data: bool,
) -> Derived:
    """The poll's result for ``match`` (``start_time`` identifies its week)."""
    current = snapshot(match)
    if last is None or last.start_time != start_time:
        return Derived(current)  # a baseline: a new match, or a new week after the reset
    changes = diff(last.snapshot, current, now=now)
    reminders = reminders_between(match, max(last.seen_at, now - REMINDER_GRACE), now)
    # Only a real gap is summarised; a slow poll of many channels is not one.
    if now - last.seen_at > CATCH_UP_AFTER and (first_look or had_no_data):
        reason: CatchUpReason = "offline" if first_look else "outage"
        summary = catch_up(changes, reason=reason, now=now)
        return Derived(current, [], ([summary] if summary is not None else []) + reminders)
    return Derived(current, changes, reminders)
