"""Live alerts through the fake Discord and the fake GW2 API, on a manual clock.

The poll loop runs as in production (a new subscription wakes it; then it sleeps 30 s on the
injected clock); tests move the clock and call ``poll`` themselves. Polls never overlap, and a
poll at the same moment as another finds nothing new, so either way the channels see the same
messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import Application
from cogs.alerts import Alerts
from cogs.alerts_poller import PollReport
from services.clock import ManualClock
from tests.fakes.discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMember,
    FakeMessage,
    RecordedRequest,
)
from tests.fakes.gw2_api import FakeGW2API, FakeMatch, FakeObjective
from tests.harness import running_bot

EXTENSIONS = ("cogs.alerts",)
TEAM = 11001
MATCHES = "/v2/wvw/matches"
GUILD_ID = "4BBB2C1E-0000-4000-8000-00000000A1E5"


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    clock: ManualClock
    guild: FakeGuild
    admin: FakeMember
    channel: FakeChannel
    tmp_path: Path

    @property
    def match(self) -> FakeMatch:
        match = self.gw2.world.match_for(TEAM)
        assert match is not None
        return match

    @property
    def colour(self) -> str:
        return next(c for c, t in self.match.worlds.items() if t == TEAM)

    def ours(self, kind: str, index: int = 0) -> FakeObjective:
        """An objective of ``kind`` on our home map, handed to us (before the baseline)."""
        home = {"red": "RedHome", "blue": "BlueHome", "green": "GreenHome"}[self.colour]
        found = [o for o in self.match.map(home).objectives if o.type == kind][index]
        self.match.flip(found.id, self.colour)
        return found

    def enemy(self) -> str:
        return next(c for c in ("red", "blue", "green") if c != self.colour)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        channel = discord_fake.add_text_channel(guild, "wvw-alerts")
        gw2_fake.add_guild(GUILD_ID, "Night Watch", "NW")
        yield World(discord_fake, gw2_fake, clock, guild, admin, channel, tmp_path)


@asynccontextmanager
async def bot(world: World) -> AsyncIterator[Application]:
    async with running_bot(
        world.discord, world.tmp_path, gw2=world.gw2, clock=world.clock, extensions=EXTENSIONS
    ) as app:
        yield app


def alerts(app: Application) -> Alerts:
    assert app.bot is not None
    cog = app.bot.get_cog("Alerts")
    assert type(cog).__name__ == "Alerts"
    return cast(Alerts, cog)


async def subscribe(world: World, **options: object) -> FakeMessage:
    handle = await world.discord.slash(
        world.admin,
        "alerts set",
        {"channel": world.channel, "team": str(TEAM), **options},
    )
    reply = await handle.wait_final_message()
    assert handle.ephemeral
    return reply


def posts(world: World, channel: FakeChannel | None = None) -> list[FakeMessage]:
    return [
        m
        for m in world.discord.messages_in(channel or world.channel)
        if m.source == "channel" and m.author is world.discord.bot_user
    ]


def sends(world: World, channel: FakeChannel | None = None) -> list[RecordedRequest]:
    path = f"/channels/{(channel or world.channel).id}/messages"
    return [r for r in world.discord.requests if r.method == "POST" and r.path == path]


async def next_poll(world: World, app: Application, seconds: float = 30) -> PollReport:
    world.clock.advance(seconds)
    return await alerts(app).poll()


async def baseline(world: World, app: Application, **options: object) -> None:
    await subscribe(world, **options)
    await alerts(app).poll()  # the loop may have polled already: either way, the baseline


async def test_the_first_poll_sets_the_baseline_and_posts_nothing(world: World) -> None:
    world.match.flip(world.ours("Keep").id, world.enemy())  # history before the subscription
    async with bot(world) as app:
        reply = await subscribe(world)
        assert "live alerts" in reply.content
        await alerts(app).poll()
        await next_poll(world, app)
        assert posts(world) == []


async def test_a_flip_a_claim_a_tier_and_a_reminder_each_post_one_message(world: World) -> None:
    keep = world.ours("Keep")
    keep.last_flipped = world.clock.now() - timedelta(minutes=90)
    tower = world.ours("Tower")
    world.match.flip(tower.id, world.enemy())
    async with bot(world) as app:
        await baseline(world, app)

        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        assert len(posts(world)) == 1
        flip = posts(world)[0].content
        assert f"**{keep.name}**" in flip
        assert "lost to" in flip
        assert "after 1h 30m" in flip

        world.match.flip(tower.id, world.colour)
        await next_poll(world, app)
        assert len(posts(world)) == 2
        assert "taken from" in posts(world)[1].content

        tower.claimed_by = GUILD_ID
        await next_poll(world, app)
        assert len(posts(world)) == 3
        assert "claimed by **Night Watch** [NW]" in posts(world)[2].content

        tower.yaks_delivered = 60
        await next_poll(world, app)
        assert len(posts(world)) == 4
        assert "reached tier 2" in posts(world)[3].content

        # The skirmish that started at 18:00 ends at 20:00: the reminder is due at 19:55.
        world.clock.advance(
            (
                world.clock.now().replace(hour=19, minute=54, second=0) - world.clock.now()
            ).total_seconds()
        )
        await alerts(app).poll()
        await next_poll(world, app, 60)
        await next_poll(world, app, 60)
        assert len(posts(world)) == 5
        assert "Skirmish" in posts(world)[4].content
        assert "ends in 5 min" in posts(world)[4].content
        assert all(r.json["allowed_mentions"] == {"parse": []} for r in sends(world))


async def test_events_of_one_poll_are_batched_in_one_message(world: World) -> None:
    keep, tower = world.ours("Keep"), world.ours("Tower")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.match.flip(keep.id, world.enemy())
        world.match.flip(tower.id, world.enemy(), claimed_by=GUILD_ID)
        await next_poll(world, app)
        assert len(posts(world)) == 1
        lines = posts(world)[0].content.splitlines()
        assert len(lines) == 3  # title, two flips (their claim is not ours to hear about)
        assert all("lost to" in line for line in lines[1:])


async def test_nothing_changes_nothing_is_posted(world: World) -> None:
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        for _ in range(3):
            await next_poll(world, app)
        assert posts(world) == []


async def test_a_restart_between_polls_repeats_nothing(world: World) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        assert len(posts(world)) == 1

    world.clock.advance(30)
    async with bot(world) as app:
        await alerts(app).poll()
        await next_poll(world, app)
        assert len(posts(world)) == 1  # the flip is not told again
        world.match.flip(keep.id, world.colour)
        await next_poll(world, app)
        assert len(posts(world)) == 2
        assert "taken from" in posts(world)[1].content


async def test_changes_while_offline_become_one_summary_line(world: World) -> None:
    keep, tower = world.ours("Keep"), world.ours("Tower")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)

    world.clock.advance(20 * 60)  # down for 20 minutes; meanwhile two of ours fall
    world.match.flip(keep.id, world.enemy())
    world.match.flip(tower.id, world.enemy())
    async with bot(world) as app:
        await alerts(app).poll()
        await next_poll(world, app)
        assert len(posts(world)) == 1
        content = posts(world)[0].content
        assert "While offline: 2 changes" in content
        assert keep.name not in content


async def test_only_our_lost_keep_mentions_the_role_and_nothing_else_can_ping(
    world: World,
) -> None:
    role = world.discord.add_role(world.guild, "Scouts")
    keep, camp = world.ours("Keep"), world.ours("Camp")
    async with bot(world) as app:
        reply = await subscribe(world, role=role, reminders=False)
        assert "can't be mentioned by me yet" in reply.content  # the fake's roles: not mentionable
        await alerts(app).poll()

        world.match.flip(camp.id, world.enemy())
        await next_poll(world, app)
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)

        camp_post, keep_post = posts(world)
        assert f"<@&{role.id}>" not in camp_post.content
        assert keep_post.content.startswith(f"<@&{role.id}>")
        camp_body, keep_body = (r.json for r in sends(world))
        assert camp_body["allowed_mentions"] == {"parse": []}
        assert keep_body["allowed_mentions"]["parse"] == []
        assert [int(r) for r in keep_body["allowed_mentions"]["roles"]] == [role.id]
        assert "users" not in keep_body["allowed_mentions"]


async def test_scope_types_and_maps_filter_what_a_channel_gets(world: World) -> None:
    tower = world.ours("Tower")
    camp = world.ours("Camp")
    async with bot(world) as app:
        await baseline(world, app, types="tower", maps=world.colour, reminders=False)
        world.match.flip(camp.id, world.enemy())
        await next_poll(world, app)
        assert posts(world) == []  # camps are not wanted
        world.match.flip(tower.id, world.enemy())
        await next_poll(world, app)
        assert len(posts(world)) == 1


async def test_a_deleted_channel_stops_the_alerts_and_the_admin_is_told_once(
    world: World,
) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        await world.discord.delete_channel(world.channel)
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        world.match.flip(keep.id, world.colour)
        await next_poll(world, app)
        dms = world.discord.sent_dms(world.admin.user)
        assert len(dms) == 1
        assert "deleted" in dms[0].content
        assert "Vigil Keep" in dms[0].content
        handle = await world.discord.slash(world.admin, "alerts show")
        text = (await handle.wait_final_message()).all_text()
        assert "Stopped" in text
        assert alerts(app).metrics.disabled.labels(reason="channel_gone")._value.get() == 1


async def test_a_lost_permission_stops_the_alerts_after_one_refusal(world: World) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.discord.deny_bot_permission(world.channel, "send_messages")
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        world.match.flip(keep.id, world.colour)
        await next_poll(world, app)
        assert len([r for r in sends(world) if r.status == 403]) == 1
        dms = world.discord.sent_dms(world.admin.user)
        assert len(dms) == 1
        assert "Send Messages" in dms[0].content


async def test_a_gw2_outage_pauses_with_one_note_and_no_burst_afterwards(world: World) -> None:
    keep, tower = world.ours("Keep"), world.ours("Tower")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.gw2.fail(MATCHES, status=503, text="down for maintenance", times=None)
        await next_poll(world, app)
        assert len(posts(world)) == 1
        assert "alerts paused since 18:00 UTC" in posts(world)[0].content
        world.match.flip(keep.id, world.enemy())
        world.match.flip(tower.id, world.enemy())
        for _ in range(10):
            await next_poll(world, app)
        assert len(posts(world)) == 1  # one note, not one per poll

        world.gw2.clear_faults()
        await next_poll(world, app)
        assert len(posts(world)) == 2
        back = posts(world)[1].content
        assert "alerts resumed" in back
        assert "While the GW2 API was down: 2 changes" in back
        assert keep.name not in back
        await next_poll(world, app)
        assert len(posts(world)) == 2


async def test_a_match_rollover_starts_a_new_baseline(world: World) -> None:
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.gw2.world.roll_week()
        new_start = world.match.start_time
        await next_poll(world, app, (new_start - world.clock.now()).total_seconds() + 60)
        await next_poll(world, app)
        assert posts(world) == []
        tower = next(
            o
            for m in world.match.maps
            for o in m.objectives
            if o.type == "Tower" and o.owner == "Neutral"
        )
        world.match.flip(tower.id, world.colour)
        await next_poll(world, app)
        assert len(posts(world)) == 1  # the new week's changes are alerts again
        assert f"✅ **{tower.name}**" in posts(world)[0].content


async def test_one_request_per_distinct_match_within_cache_control(world: World) -> None:
    other = world.discord.add_text_channel(world.guild, "enemy-watch")
    teams = sorted(world.match.team_ids())
    eu_team = 12001
    async with bot(world) as app:
        await baseline(world, app)
        for team in teams[1:]:
            await world.discord.slash(
                world.admin, "alerts set", {"channel": other, "team": str(team)}
            )
        await world.discord.slash(
            world.admin, "alerts set", {"channel": other, "team": str(eu_team)}
        )
        await alerts(app).poll()
        world.gw2.reset_counters()
        report = await next_poll(world, app)
        assert report.subscriptions == 4
        assert world.gw2.count(MATCHES) == 2  # NA and EU, whatever the number of teams
        world.gw2.response_headers[MATCHES] = {"Cache-Control": "max-age=90"}
        await next_poll(world, app)
        world.gw2.reset_counters()
        await next_poll(world, app)
        await next_poll(world, app)
        assert world.gw2.count(MATCHES) == 0  # still fresh: max-age honoured
        await next_poll(world, app)
        assert world.gw2.count(MATCHES) == 2


async def test_the_loop_polls_by_itself_on_the_clock(world: World) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await subscribe(world, reminders=False)
        await world.discord.wait_until(lambda: world.clock.sleepers > 0, "the loop to sleep")
        await alerts(app).poll()  # the baseline (or nothing, if the loop set it already)
        world.match.flip(keep.id, world.enemy())
        world.clock.advance(30)
        message = await world.discord.wait_for_message(world.channel)
        assert "lost to" in message.content


async def test_the_commands_need_manage_server(world: World) -> None:
    member = world.discord.add_member(world.guild, world.discord.add_user("Bob"))
    async with bot(world):
        handle = await world.discord.slash(
            member, "alerts set", {"channel": world.channel, "team": str(TEAM)}
        )
        text = (await handle.wait_final_message()).all_text()
        assert "Manage Server" in text


async def test_bad_options_are_explained_and_the_limit_holds(world: World) -> None:
    async with bot(world) as app:
        handle = await world.discord.slash(
            world.admin,
            "alerts set",
            {"channel": world.channel, "team": str(TEAM), "types": "keep, shrine"},
        )
        text = (await handle.wait_final_message()).all_text()
        assert "shrine" in text
        assert "camp, tower, keep, castle" in text
        teams = [11001 + i for i in range(11)]
        for team in teams:
            handle = await world.discord.slash(
                world.admin, "alerts set", {"channel": world.channel, "team": str(team)}
            )
            last = (await handle.wait_final_message()).all_text()
        assert "most allowed" in last
        assert len(await alerts(app).repository.for_guild(world.guild.id)) == 10
        handle = await world.discord.slash(world.admin, "alerts off", {"channel": world.channel})
        assert "Stopped" in (await handle.wait_final_message()).all_text()
        assert await alerts(app).repository.for_guild(world.guild.id) == []


async def test_alerts_turned_off_while_a_poll_runs_are_not_sent(world: World) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        cog = alerts(app)
        active = cog.repository.active

        async def turned_off_while_fetching() -> list[Any]:
            found = await active()
            await cog.repository.unsubscribe(world.guild.id, world.channel.id, None)
            return found

        cog.repository.active = turned_off_while_fetching  # type: ignore[method-assign]
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        assert posts(world) == []


async def test_the_cogs_share_one_discord_pacer(world: World) -> None:
    async with running_bot(
        world.discord,
        world.tmp_path,
        gw2=world.gw2,
        clock=world.clock,
        extensions=("cogs.updates", "cogs.alerts"),
    ) as app:
        assert app.bot is not None
        updates: Any = app.bot.get_cog("Updates")
        assert updates.pacer is alerts(app).poller.pacer
        assert updates.pacer is app.bot.services.discord_pacer


async def test_a_slow_poll_is_no_gap_its_changes_are_told_one_by_one(world: World) -> None:
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        cog = alerts(app)
        assert cog._task is not None
        cog._task.cancel()  # this test needs polls exactly where it puts them
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app, 5 * 60)  # as if the last poll took 5 minutes
        assert len(posts(world)) == 1
        assert "lost to" in posts(world)[0].content
