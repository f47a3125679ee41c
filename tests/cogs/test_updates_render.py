"""Pure renderers of the settings embed and the update posts."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.storage.guilds import GuildSettings
from bot.storage.subscriptions import Subscription
from cogs.updates_render import (
    admin_dm,
    outage_note,
    render_settings,
    render_week_result,
    stale_note,
)
from services.i18n import Message
from services.updates import Standing, WeekResult

T0 = datetime(2026, 11, 20, 18, 5, tzinfo=UTC)


def subscription(**changes: object) -> Subscription:
    values: dict[str, object] = {
        "id": 1,
        "guild_id": 10,
        "channel_id": 20,
        "team_id": 11005,
        "interval_minutes": 15,
        "mode": "edit",
        "last_message_id": None,
        "last_match_id": None,
        "last_match_start": None,
        "last_posted_hash": None,
        "last_posted_at": None,
        "next_due_at": T0,
        "enabled": True,
        "last_error": None,
        "disabled_at": None,
        "stale_since": None,
        "created_by": 30,
    }
    values.update(changes)
    return Subscription(**values)  # type: ignore[arg-type]


def test_settings_list_channels_and_why_one_stopped() -> None:
    embed = render_settings(
        GuildSettings(guild_id=10, default_team_id=11005),
        [
            subscription(),
            subscription(
                channel_id=21,
                mode="post",
                enabled=False,
                last_error="the channel was deleted.",
                disabled_at=T0,
            ),
        ],
        guild_name="Vigil Keep",
        limit=10,
    )
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Default team"] == "Tombs of Drascir (11005)"
    updates = fields["Match updates (2/10)"]
    assert (
        "<#20> — Tombs of Drascir (11005) · every 15 min · one message kept up to date" in updates
    )
    assert "<#21>" in updates
    assert "⛔ Stopped" in updates
    assert "the channel was deleted." in updates


def test_settings_without_anything_say_how_to_start() -> None:
    embed = render_settings(GuildSettings(guild_id=10), [], guild_name="G", limit=10)
    fields = {f.name: f.value for f in embed.fields}
    assert "/settings team" in fields["Default team"]
    assert "/settings updates" in fields["Match updates (0/10)"]


def test_week_result_shows_rank_vp_and_kd_with_the_team_marked() -> None:
    result = WeekResult(
        "1-2",
        "na",
        T0,
        T0,
        (
            Standing("green", ("Mosswood",), (11012,), 300, 90_000, 4_000, 3_000),
            Standing("red", ("Moogooloo",), (11001,), 250, 80_000, 3_000, 3_000),
            Standing("blue", ("Rall's Rest",), (11002,), 200, 70_000, 2_000, 0),
        ),
    )
    embed = render_week_result(result, team_id=11001)
    assert embed.title == "Week result — NA Tier 2"
    names = [f.name for f in embed.fields]
    assert names[0].startswith("🥇")
    assert "Mosswood" in names[0]
    assert "★" in names[1]
    assert "**300** VP" in (embed.fields[0].value or "")
    assert "K/D 4,000/3,000 (1.33)" in (embed.fields[0].value or "")
    assert "(—)" in (embed.fields[2].value or "")
    assert embed.footer.text is not None
    assert embed.footer.text.startswith("Your team finished #2")


def test_notes_say_since_when_and_what_happens_next() -> None:
    assert "data stale since 18:05 UTC" in stale_note(T0)
    assert "since 18:05 UTC" in outage_note(T0)
    assert "resume by themselves" in outage_note(None)
    text = admin_dm("Vigil Keep", "#wvw", Message("the channel was deleted."))
    assert "#wvw" in text
    assert "Vigil Keep" in text
    assert "/settings updates" in text
    french = admin_dm(
        None, Message("a channel that no longer exists"), Message("the channel was deleted."), "fr"
    )
    assert french.startswith(
        "J'ai arrêté de publier les mises à jour du match McM dans un salon qui n'existe plus sur "
        "**votre serveur** : le salon a été supprimé."
    )
