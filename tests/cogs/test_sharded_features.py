"""Per-process work with several shards: the update loop, voice rosters, clusters of processes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from bot.app import Application
from cogs.updates import Updates
from services.clock import ManualClock
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

SHARDS = 4
TEAM = 11001
EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates", "cogs.compose")
MANAGE = "manage_guild"


@dataclass
class ShardedWorld:
    discord: FakeDiscord
    gw2: FakeGW2API
    clock: ManualClock
    tmp_path: Path
    #: One guild per shard, in shard order, each with an admin and an updates channel.
    guilds: list[FakeGuild]
    admins: list[FakeMember]
    channels: list[FakeChannel]

    @asynccontextmanager
    async def bot(self, **discord_options: Any) -> AsyncIterator[Application]:
        async with running_bot(
            self.discord,
            self.tmp_path,
            gw2=self.gw2,
            clock=self.clock,
            extensions=EXTENSIONS,
            **discord_options,
        ) as app:
            yield app

    def posts(self, channel: FakeChannel) -> list[FakeMessage]:
        return [
            m
            for m in self.discord.messages_in(channel)
            if m.source == "channel" and m.author is self.discord.bot_user
        ]


@asynccontextmanager
async def sharded_world(tmp_path: Path) -> AsyncIterator[ShardedWorld]:
    clock = ManualClock()
    # max_concurrency 4: the four shards identify at once (the manual clock never moves alone).
    async with (
        FakeDiscord(shard_count=SHARDS, max_concurrency=SHARDS) as discord_fake,
        FakeGW2API(clock=clock) as gw2_fake,
    ):
        guilds = [
            discord_fake.add_guild(f"Shard {i}", id=discord_fake.guild_id_on_shard(i))
            for i in range(SHARDS)
        ]
        admins = [
            discord_fake.add_member(g, discord_fake.add_user(f"Admin{i}"), permissions=MANAGE)
            for i, g in enumerate(guilds)
        ]
        channels = [discord_fake.add_text_channel(g, "wvw-updates") for g in guilds]
        yield ShardedWorld(discord_fake, gw2_fake, clock, tmp_path, guilds, admins, channels)


def updates(app: Application) -> Updates:
    assert app.bot is not None
    cog = app.bot.get_cog("Updates")
    assert type(cog).__name__ == "Updates"
    return cast(Updates, cog)


async def subscribe(world: ShardedWorld, index: int) -> None:
    handle = await world.discord.slash(
        world.admins[index],
        "settings updates",
        {"channel": world.channels[index], "team": str(TEAM)},
    )
    await handle.wait_final_message()


async def test_a_scheduled_update_is_posted_in_a_guild_on_each_shard(tmp_path: Path) -> None:
    async with sharded_world(tmp_path) as world, world.bot() as app:
        for index in range(SHARDS):
            await subscribe(world, index)
        first = [await world.discord.wait_for_message(c) for c in world.channels]
        match = world.gw2.world.match_for(TEAM)
        assert match is not None
        match.add_kills("red", 5)
        world.clock.advance(15 * 60)  # the loop wakes too: whoever runs the cycle, it runs once
        await updates(app).run_cycle()
    assert [world.discord.shard_of(g) for g in world.guilds] == [0, 1, 2, 3]
    for channel, message in zip(world.channels, first, strict=True):
        assert [m.id for m in world.posts(channel)] == [message.id]
        assert len(message.history) == 1  # edited by the scheduled cycle


async def test_voice_roster_finds_voice_states_on_any_shard(tmp_path: Path) -> None:
    async with sharded_world(tmp_path) as world:
        guild = world.guilds[3]  # the last shard
        raid = world.discord.add_voice_channel(guild, "Raid")
        players = [world.admins[3]] + [
            world.discord.add_member(guild, world.discord.add_user(name)) for name in ("Bo", "Cy")
        ]
        for member in players:
            world.discord.set_voice_channel(guild, member, raid)
        async with world.bot():
            handle = await world.discord.slash(
                world.admins[3], "compose", {"roster": "voice", "mode": "zerg"}
            )
            message = await handle.wait_final_message()
    assert message.embeds[0]["title"] == "Squad plan · Zerg · 3 players"
    assert "Bo" in json.dumps(message.embeds)


async def test_a_cluster_process_delivers_due_updates_of_every_shard(tmp_path: Path) -> None:
    """Posting is plain REST: any process may deliver any due subscription it claims."""
    async with sharded_world(tmp_path) as world:
        async with world.bot() as app:  # one process with every shard sets up all four guilds
            for index in range(SHARDS):
                await subscribe(world, index)
            first = [await world.discord.wait_for_message(c) for c in world.channels]
            await updates(app).run_cycle()  # waits for the loop's cycle to record its posts
        match = world.gw2.world.match_for(TEAM)
        assert match is not None
        match.add_kills("red", 5)
        world.clock.advance(15 * 60)
        # Then a process that runs shards 0 and 2 only (its peer runs 1 and 3).
        async with world.bot(shard_count=SHARDS, shard_ids=(0, 2)) as app:
            await world.discord.wait_until(
                lambda: all(len(m.history) == 1 for m in first), "the edits"
            )
            report = await updates(app).run_cycle()  # the loop's cycle claimed all four
            assert app._services is not None
            left = [(await app._services.guild_settings.get(g.id)).left_at for g in world.guilds]
    assert report.due == 0
    assert [len(m.history) for m in first] == [1, 1, 1, 1]
    # Guilds on the peer's shards are not "gone" just because this process never saw them.
    assert left == [None, None, None, None]
