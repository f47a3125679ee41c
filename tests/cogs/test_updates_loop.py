"""The match-update loop through the fake Discord and the fake GW2 API, on a manual clock.

The loop runs as in production; tests either let it react (a new subscription wakes it) or call
``run_cycle`` after moving the clock. Cycles never overlap, so whoever runs a due cycle, the
channels see the same messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import Application
from cogs.common import stopped
from cogs.updates import Updates
from services.clock import ManualClock
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates")
TEAM = 11001
MATCHES = "/v2/wvw/matches"


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    clock: ManualClock
    guild: FakeGuild
    admin: FakeMember
    channel: FakeChannel
    tmp_path: Path


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        channel = discord_fake.add_text_channel(guild, "wvw-updates")
        yield World(discord_fake, gw2_fake, clock, guild, admin, channel, tmp_path)


@asynccontextmanager
async def bot(world: World) -> AsyncIterator[Application]:
    async with running_bot(
        world.discord, world.tmp_path, gw2=world.gw2, clock=world.clock, extensions=EXTENSIONS
    ) as app:
        yield app


def updates(app: Application) -> Updates:
    assert app.bot is not None
    cog = app.bot.get_cog("Updates")
    # discord.py loads an extension as a module object of its own: compare by name.
    assert type(cog).__name__ == "Updates"
    return cast(Updates, cog)


async def subscribe(
    world: World, channel: FakeChannel | None = None, **options: object
) -> FakeMessage:
    handle = await world.discord.slash(
        world.admin,
        "settings updates",
        {"channel": channel or world.channel, "team": str(TEAM), **options},
    )
    reply = await handle.wait_final_message()
    assert handle.ephemeral
    return reply


def posts(world: World, channel: FakeChannel | None = None) -> list[FakeMessage]:
    """What the bot posted in a channel (not interaction replies), oldest first."""
    return [
        m
        for m in world.discord.messages_in(channel or world.channel)
        if m.source == "channel" and m.author is world.discord.bot_user
    ]


async def next_slot(world: World, app: Application, minutes: float = 15) -> None:
    world.clock.advance(minutes * 60)
    await updates(app).run_cycle()


async def settle_presence(app: Application, world: World, *, present: bool) -> None:
    """Wait for the guild join/remove listener (a task of its own) to record the change."""
    assert app._services is not None
    repo = app._services.guild_settings
    for _ in range(500):
        if ((await repo.get(world.guild.id)).left_at is None) is present:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the guild never became {'present' if present else 'absent'}")


def change_the_match(world: World) -> None:
    match = world.gw2.world.match_for(TEAM)
    assert match is not None
    match.add_kills("red", 5)


async def test_subscribing_posts_once_then_edits_and_skips_unchanged_data(world: World) -> None:
    async with bot(world) as app:
        reply = await subscribe(world)
        assert "every 15 min" in reply.content
        first = await world.discord.wait_for_message(world.channel)  # the loop woke up by itself
        await updates(app).run_cycle()
        assert [m.id for m in posts(world)] == [first.id]
        assert first.embed is not None
        assert first.embed["title"].startswith("WvW NA Tier")
        requests_before = world.gw2.count(MATCHES)

        change_the_match(world)
        await next_slot(world, app)
        assert [m.id for m in posts(world)] == [first.id]
        assert len(first.history) == 1  # edited once
        assert world.gw2.count(MATCHES) == requests_before + 1  # one request for the one match

        await next_slot(world, app)  # nothing changed
        assert len(first.history) == 1
        assert [m.id for m in posts(world)] == [first.id]
        metrics = updates(app).metrics
        assert metrics.deliveries.labels(action="edit", outcome="unchanged")._value.get() >= 1


async def test_post_mode_posts_a_new_message_when_the_data_changes(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world, mode="post", interval=5)
        await updates(app).run_cycle()
        await world.discord.wait_for_message(world.channel)
        await next_slot(world, app, 5)
        assert len(posts(world)) == 1  # unchanged: not re-sent
        change_the_match(world)
        await next_slot(world, app, 5)
        assert len(posts(world)) == 2


async def test_a_deleted_message_is_replaced_by_a_new_post(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world)
        first = await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        await world.discord.delete_message(first)
        change_the_match(world)
        await next_slot(world, app)
        remaining = posts(world)
        assert len(remaining) == 1
        assert remaining[0].id != first.id
        change_the_match(world)
        await next_slot(world, app)  # and the new one is the message kept up to date
        assert [m.id for m in posts(world)] == [remaining[0].id]
        assert len(remaining[0].history) == 1


async def test_a_deleted_channel_stops_the_updates_and_the_admin_is_told_once(
    world: World,
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        await world.discord.delete_channel(world.channel)
        change_the_match(world)
        await next_slot(world, app)
        await next_slot(world, app)
        dms = world.discord.sent_dms(world.admin.user)
        assert len(dms) == 1
        assert "deleted" in dms[0].content
        assert "Vigil Keep" in dms[0].content
        handle = await world.discord.slash(world.admin, "settings show")
        shown = await handle.wait_final_message()
        text = shown.all_text()
        assert "Stopped" in text
        assert "the channel was deleted" in text
        disabled = updates(app).metrics.disabled.labels(reason="channel_gone")._value.get()
        assert disabled == 1


async def test_a_lost_permission_stops_the_updates_without_spamming_closed_dms(
    world: World,
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        world.discord.deny_bot_permission(world.channel, "send_messages", "view_channel")
        world.discord.close_dms(world.admin.user)
        change_the_match(world)
        await next_slot(world, app)
        await next_slot(world, app)
        handle = await world.discord.slash(world.admin, "settings show")
        text = (await handle.wait_final_message()).all_text()
        assert "Stopped" in text
        assert "View Channel" in text
        assert world.discord.sent_dms(world.admin.user) == []  # closed: nobody is told
        denied = [
            r
            for r in world.discord.requests
            if r.path.startswith(f"/channels/{world.channel.id}/") and r.status == 403
        ]
        assert len(denied) == 1  # stopped after the first refusal


async def test_a_missing_send_permission_is_named_when_the_cache_knows(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world, mode="post", interval=5)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        world.discord.deny_bot_permission(world.channel, "send_messages")
        change_the_match(world)
        await next_slot(world, app, 5)
        dms = world.discord.sent_dms(world.admin.user)
        assert len(dms) == 1
        assert "Send Messages" in dms[0].content


async def test_the_stop_reason_label_comes_from_the_error_not_the_message_text(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot(world) as app:
        cog = updates(app)
        # Reword the human text so it happens to contain "deleted": the label must not follow.
        monkeypatch.setattr(
            stopped, "permission_messages", lambda names: ["Manage deleted messages"]
        )
        await subscribe(world, mode="post", interval=5)
        await world.discord.wait_for_message(world.channel)
        await cog.run_cycle()
        world.discord.deny_bot_permission(world.channel, "send_messages")
        change_the_match(world)
        await next_slot(world, app, 5)
        forbidden = cog.metrics.disabled.labels(reason="forbidden")._value.get()
        gone = cog.metrics.disabled.labels(reason="channel_gone")._value.get()
    assert (forbidden, gone) == (1, 0)


async def test_a_429_is_waited_out_and_the_post_goes_through(world: World) -> None:
    async with bot(world) as app:
        rule = world.discord.fail(
            "POST", rf"^/channels/{world.channel.id}/messages$", status=429, retry_after=0.05
        )
        await subscribe(world)
        await updates(app).run_cycle()
        await world.discord.wait_for_message(world.channel)
        assert rule.hits == 1
        assert len(posts(world)) == 1


async def test_one_failing_channel_does_not_stop_the_others(world: World) -> None:
    other_guild = world.discord.add_guild(name="Other")
    other_admin = world.discord.add_member(
        other_guild, world.discord.add_user("Bob"), permissions="manage_guild"
    )
    other_channel = world.discord.add_text_channel(other_guild, "updates")
    async with bot(world) as app:
        world.discord.fail(
            "POST", rf"^/channels/{world.channel.id}/messages$", status=400, code=50035, times=None
        )
        await subscribe(world)
        handle = await world.discord.slash(
            other_admin, "settings updates", {"channel": other_channel, "team": "12001"}
        )
        await handle.wait_final_message()
        await updates(app).run_cycle()
        await world.discord.wait_for_message(other_channel)
        assert posts(world) == []
        errors = updates(app).metrics.deliveries.labels(action="post", outcome="error")
        assert errors._value.get() >= 1
        assert app.bot is not None
        assert app.bot.is_ready()


async def test_a_gw2_outage_gives_one_stale_note_not_a_stream(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world)
        first = await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        world.gw2.fail(MATCHES, status=503, text="down for maintenance", times=None)
        await next_slot(world, app)
        assert len(first.history) == 1
        assert "data stale since 18:00 UTC" in first.content
        await next_slot(world, app)
        await next_slot(world, app)
        assert len(first.history) == 1  # one note, not one per cycle
        assert len(posts(world)) == 1

        world.gw2.clear_faults()
        change_the_match(world)
        await next_slot(world, app)
        assert first.content == ""  # back to normal: the note is gone
        assert len(posts(world)) == 1


async def test_an_outage_without_any_cached_data_posts_one_note(world: World) -> None:
    world.gw2.fail(MATCHES, status=503, text="down for maintenance", times=None)
    async with bot(world) as app:
        await subscribe(world)
        note = await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        await next_slot(world, app)
        assert [m.id for m in posts(world)] == [note.id]
        assert "GW2 API is not answering" in note.content
        world.gw2.clear_faults()
        await next_slot(world, app)
        assert len(posts(world)) == 2
        assert posts(world)[1].embed is not None


async def test_the_week_reset_posts_the_result_and_starts_a_fresh_message(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world)
        first = await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        old = world.gw2.world.match_for(TEAM)
        assert old is not None
        winner_vp = max(old.victory_points.values())

        world.gw2.world.roll_week()
        new_start = world.gw2.world.match_for(TEAM).start_time  # type: ignore[union-attr]
        world.clock.advance((new_start - world.clock.now()).total_seconds() + 60)
        await updates(app).run_cycle()
        messages = posts(world)
        assert len(messages) == 3
        assert messages[0].id == first.id
        assert first.history == []
        result, fresh = messages[1], messages[2]
        assert result.embed is not None
        assert result.embed["title"].startswith("Week result")
        assert f"**{winner_vp:,}** VP" in result.all_text()
        assert "K/D" in result.all_text()
        assert fresh.embed is not None
        assert fresh.embed["title"].startswith("WvW NA Tier")

        change_the_match(world)
        await next_slot(world, app)
        assert len(posts(world)) == 3
        assert len(fresh.history) == 1


async def test_a_failed_post_after_the_week_result_does_not_repeat_the_result(
    world: World,
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        world.gw2.world.roll_week()
        new_start = world.gw2.world.match_for(TEAM).start_time  # type: ignore[union-attr]
        world.clock.advance((new_start - world.clock.now()).total_seconds() + 60)
        # The week result goes out, then sending the new match's message fails once.
        cog = updates(app)
        acquire = cog.pacer.acquire
        sends = 0

        async def second_send_fails() -> None:
            nonlocal sends
            sends += 1
            if sends == 2:
                raise RuntimeError("Discord hiccup")
            await acquire()

        cog.pacer.acquire = second_send_fails  # type: ignore[method-assign]
        await cog.run_cycle()
        await next_slot(world, app)
        titles = [m.embed["title"] for m in posts(world) if m.embed is not None]
    assert sum(title.startswith("Week result") for title in titles) == 1
    assert titles[-1].startswith("WvW NA Tier")


async def test_a_channel_turned_off_during_a_cycle_gets_nothing_more(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        cog = updates(app)
        claim = cog.subscriptions.claim_due

        async def turned_off_while_fetching(now: datetime, *args: Any) -> list[Any]:
            found = await claim(now, *args)
            if found:
                await cog.subscriptions.unsubscribe(world.guild.id, world.channel.id)
            return found

        cog.subscriptions.claim_due = turned_off_while_fetching  # type: ignore[method-assign]
        change_the_match(world)
        await next_slot(world, app)
        assert len(posts(world)) == 1
        assert posts(world)[0].history == []


async def test_after_a_restart_posts_resume_without_double_posting(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world, mode="post")
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
    assert len(posts(world)) == 1

    world.clock.advance(5 * 60)
    async with bot(world) as app:
        await updates(app).run_cycle()  # not due yet
        await next_slot(world, app, 10)  # due, but nothing changed
        assert len(posts(world)) == 1
        change_the_match(world)
        await next_slot(world, app, 15)
        assert len(posts(world)) == 2


async def test_the_loop_runs_on_the_clock_by_itself(world: World) -> None:
    async with bot(world) as app:
        await subscribe(world)
        first = await world.discord.wait_for_message(world.channel)
        change_the_match(world)
        cog = updates(app)
        await world.discord.wait_until(lambda: world.clock.sleepers > 0, "the loop to sleep")
        world.clock.advance(15 * 60)
        await world.discord.wait_until(lambda: len(first.history) == 1, "the loop to edit")
        assert cog.metrics.due._value.get() == 1


async def test_a_crashing_cycle_is_counted_and_the_loop_goes_on(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with bot(world) as app:
        cog = updates(app)
        calls = 0
        original = cog.subscriptions.claim_due

        async def broken_once(*args: Any) -> object:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("database hiccup")
            return await original(*args)

        monkeypatch.setattr(cog.subscriptions, "claim_due", broken_once)
        await subscribe(world)  # wakes the loop: the first cycle fails
        await world.discord.wait_until(
            lambda: cog.metrics.cycles.labels(outcome="error")._value.get() == 1, "a failed cycle"
        )
        await world.discord.wait_until(lambda: world.clock.sleepers > 0, "the loop to sleep")
        world.clock.advance(5 * 60)
        await world.discord.wait_for_message(world.channel)
        assert app.metrics.errors.labels(where="update_loop")._value.get() == 1


async def test_leaving_a_guild_keeps_its_settings_for_the_grace_period_only(
    world: World,
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        assert app._services is not None
        db = app._services.db
        await world.discord.remove_guild(world.guild)
        await settle_presence(app, world, present=False)
        change_the_match(world)
        await next_slot(world, app)
        assert len(world.channel and posts(world)) == 1  # nothing due in a guild the bot left
        assert await db.fetchval("SELECT COUNT(*) FROM update_subscriptions") == 1

        await world.discord.join_guild(world.guild)  # re-invited: everything is still there
        await settle_presence(app, world, present=True)
        await next_slot(world, app)
        assert len(posts(world)[0].history) == 1

        await world.discord.remove_guild(world.guild)
        await settle_presence(app, world, present=False)
        await next_slot(world, app, 8 * 24 * 60)
        assert await db.fetchval("SELECT COUNT(*) FROM update_subscriptions") == 0
        assert await db.fetchval("SELECT COUNT(*) FROM guild_settings") == 0


async def test_due_subscriptions_share_one_fetch_per_match(world: World) -> None:
    channels = [world.discord.add_text_channel(world.guild, f"updates-{i}") for i in range(3)]
    async with bot(world) as app:
        match = world.gw2.world.match_for(TEAM)
        assert match is not None
        for channel, team in zip(channels, sorted(match.team_ids()), strict=True):
            handle = await world.discord.slash(
                world.admin, "settings updates", {"channel": channel, "team": str(team)}
            )
            await handle.wait_final_message()
        for channel in channels:
            await world.discord.wait_for_message(channel)
        await updates(app).run_cycle()
        world.gw2.reset_counters()
        change_the_match(world)
        # The loop asleep (not between two cycles of its own), so this cycle is the one that serves.
        await world.discord.wait_until(lambda: world.clock.sleepers > 0, "the loop to sleep")
        world.clock.advance(15 * 60)
        report = await updates(app).run_cycle()
        assert world.gw2.count(MATCHES) == 1
        assert report.matches == 1
        assert report.outcomes == {"edited": 3}


async def test_the_outage_note_goes_away_when_the_api_returns_with_the_same_data(
    world: World,
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        first = await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
    world.gw2.fail(MATCHES, status=503, text="down for maintenance", times=None)
    async with bot(world) as app:  # restarted: nothing cached to serve stale
        await next_slot(world, app)
        assert "GW2 API is not answering" in first.content
        world.gw2.clear_faults()  # back, with the match unchanged (a frozen match)
        await next_slot(world, app)
        assert first.content == ""
        assert len(posts(world)) == 1

        world.gw2.fail(MATCHES, status=503, text="down for maintenance", times=None)
        await next_slot(world, app)  # the next outage gets its note again
        assert "GW2 API is not answering" in first.content
