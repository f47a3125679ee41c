"""Alert text without team names or in other languages: colours and durations are translated."""

from __future__ import annotations

from datetime import UTC, datetime

from cogs.alerts_render import AlertBlock, render_batch
from services.alerts import AlertEvent, AlertFilter

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def skirmish_ending(minutes: int) -> AlertBlock:
    event = AlertEvent(
        kind="skirmish_reminder",
        at=NOW,
        minutes_left=minutes,
        skirmish=7,
        standing={"red": 5, "blue": 3, "green": 1},
    )
    return AlertBlock(11001, "1-1", "red", [event], AlertFilter())  # no team names known


def test_colours_without_team_names_and_minutes_speak_german() -> None:
    batch = render_batch([skirmish_ending(5)], {}, "de")
    assert batch is not None
    line = batch.content.splitlines()[-1]
    assert "Rot 5" in line
    assert "Blau 3" in line
    assert "Grün 1" in line
    assert "5 Min." in line
    assert not any(word in line for word in ("Red", "Blue", "Green", " min"))


def test_english_keeps_its_compact_minutes_and_colour_names() -> None:
    batch = render_batch([skirmish_ending(60)], {})
    assert batch is not None
    line = batch.content.splitlines()[-1]
    assert "ends in 1 h" in line
    assert "Red 5" in line
