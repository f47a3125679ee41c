"""Reminder times of a match: reset in 1 h and 10 min, and each skirmish ending in 5 min.

A poll asks for the reminders whose time fell in ``(after, upto]``: the window since the previous
poll. Callers bound ``after`` (see ``REMINDER_GRACE``) so a bot back from a long downtime does not
remind of a reset that is already past.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from services.gw2.models import Match

from .events import AlertEvent

RESET_REMINDER_MINUTES = (60, 10)
SKIRMISH_REMINDER_MINUTES = 5
SKIRMISH = timedelta(hours=2)
# A reminder more than this late is dropped rather than sent late.
REMINDER_GRACE = timedelta(minutes=2)


def reminders_between(match: Match, after: datetime, upto: datetime) -> list[AlertEvent]:
    """Reminders due in ``(after, upto]``, oldest first."""
    if upto <= after:
        return []
    events: list[AlertEvent] = []
    for minutes in RESET_REMINDER_MINUTES:
        at = match.end_time - timedelta(minutes=minutes)
        if after < at <= upto:
            events.append(AlertEvent(kind="reset_reminder", at=at, minutes_left=minutes))
    lead = timedelta(minutes=SKIRMISH_REMINDER_MINUTES)
    first = max(1, math.floor((after + lead - match.start_time) / SKIRMISH))
    last = math.floor((upto + lead - match.start_time) / SKIRMISH)
    for number in range(first, last + 1):
        ends = match.start_time + number * SKIRMISH
        at = ends - lead
        # The last skirmish ends with the week: the reset reminders say it already.
        if not after < at <= upto or ends > match.end_time - timedelta(minutes=10):
            continue
        current = match.skirmishes[-1] if match.skirmishes else None
        events.append(
            AlertEvent(
                kind="skirmish_reminder",
                at=at,
                minutes_left=SKIRMISH_REMINDER_MINUTES,
                skirmish=number,
                standing=(
                    {c: current.scores.of(c) for c in ("red", "blue", "green")}
                    if current is not None
                    else None
                ),
            )
        )
    return sorted(events, key=lambda e: e.at)
