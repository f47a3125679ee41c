"""The alert message text: one message per channel, safe guild names, Discord's length limit."""

from __future__ import annotations

from datetime import UTC, datetime

from cogs.alerts import parse_maps, parse_types
from cogs.alerts_render import MESSAGE_LIMIT, AlertBlock, event_line, render_batch
from services.alerts import AlertEvent, AlertFilter
from services.alerts.events import CatchUpReason

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
NAMES = {"1099-99": "Red Lake Garrison"}


def lost(objective_id: str = "1099-99", kind: str = "Keep") -> AlertEvent:
    return AlertEvent(
        kind="flip",
        at=NOW,
        objective_id=objective_id,
        objective_type=kind,
        map_type="RedHome",
        owner="Blue",
        previous_owner="Red",
        held_seconds=3900,
    )


def block(*events: AlertEvent, role_id: int | None = None, **options: object) -> AlertBlock:
    return AlertBlock(
        11001,
        "1-1",
        "red",
        events,
        AlertFilter(),
        role_id,
        {"red": "Moogooloo", "blue": "Rall's Rest"},
        **options,  # type: ignore[arg-type]
    )


def test_a_lost_keep_reads_like_a_scout_call() -> None:
    batch = render_batch([block(lost())], NAMES)
    assert batch is not None
    assert batch.content.splitlines() == [
        "**WvW alerts — 🟥 Moogooloo** · NA Tier 1",
        "🚨 **Red Lake Garrison** (Red BL keep) lost to 🟦 Rall's Rest after 1h 05m",
    ]
    assert batch.role_ids == ()


def test_the_role_is_named_only_with_our_lost_keep() -> None:
    batch = render_batch([block(lost(), role_id=42)], NAMES)
    assert batch is not None
    assert batch.content.startswith("<@&42>")
    assert batch.role_ids == (42,)
    tower = render_batch([block(lost(kind="Tower"), role_id=42)], NAMES)
    assert tower is not None
    assert "<@&42>" not in tower.content
    assert tower.role_ids == ()


def test_guild_names_cannot_ping_or_format() -> None:
    claim = AlertEvent(
        kind="claim",
        at=NOW,
        objective_id="1099-99",
        objective_type="Keep",
        map_type="RedHome",
        owner="Red",
        guild_id="G",
        guild_name="@everyone **Loud**",
        guild_tag="<@&1>",
    )
    batch = render_batch([block(claim)], NAMES)
    assert batch is not None
    assert "@everyone" not in batch.content.replace("@\u200beveryone", "")
    assert "\\*\\*Loud\\*\\*" in batch.content


def test_nothing_wanted_means_no_message() -> None:
    theirs = lost().model_copy(update={"previous_owner": "Green"})
    assert render_batch([block(theirs)], NAMES) is None


def test_a_long_batch_stays_within_discords_limit_and_counts_the_rest() -> None:
    events = [lost(f"1099-{i}") for i in range(200)]
    batch = render_batch([block(*events)], {})
    assert batch is not None
    assert len(batch.content) <= MESSAGE_LIMIT
    assert batch.content.splitlines()[-1].startswith("… and ")


def test_notes_alone_make_a_message() -> None:
    batch = render_batch([block(notes=("⚠ paused",))], NAMES)
    assert batch is not None
    assert "⚠ paused" in batch.content


def test_type_and_map_words() -> None:
    assert parse_types("Keeps, castle") == {"Keep", "Castle"}
    assert parse_types(None) == {"Camp", "Tower", "Keep", "Castle"}
    assert parse_maps("eb; red") == {"Center", "RedHome"}
    assert parse_maps("all") == {"Center", "RedHome", "BlueHome", "GreenHome"}


def test_a_catch_up_line_counts_its_changes_in_the_readers_language() -> None:
    def catch_up(reason: CatchUpReason, count: int) -> AlertEvent:
        return AlertEvent(kind="catch_up", at=NOW, reason=reason, changes=[lost()] * count)

    def line(reason: CatchUpReason, count: int, locale: str) -> str:
        return event_line(catch_up(reason, count), block(), NAMES, locale)

    assert line("offline", 1, "en") == "↻ While offline: 1 change (not listed one by one)."
    assert line("outage", 3, "en") == (
        "↻ While the GW2 API was down: 3 changes (not listed one by one)."
    )
    assert line("offline", 1, "fr") == "↻ Pendant mon absence : 1 changement (non détaillé)."
    assert line("outage", 2, "de") == (
        "↻ Während die GW2-API ausgefallen war: 2 Änderungen (nicht einzeln aufgeführt)."
    )
