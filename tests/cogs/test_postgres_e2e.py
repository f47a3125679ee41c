"""The bot end to end on PostgreSQL: four shards, scheduled updates, /wvw match, settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends import postgres_url_in_new_schema
from tests.cogs.test_sharded_features import SHARDS, TEAM, sharded_world, subscribe, updates
from tests.harness import running_bot

pytestmark = pytest.mark.e2e

EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates", "cogs.wvw")


async def test_updates_and_match_commands_work_on_postgresql_on_every_shard(
    tmp_path: Path,
) -> None:
    async with (
        postgres_url_in_new_schema() as url,
        sharded_world(tmp_path) as world,
        running_bot(
            world.discord,
            tmp_path,
            gw2=world.gw2,
            clock=world.clock,
            extensions=EXTENSIONS,
            database_url=url,
        ) as app,
    ):
        assert app._services is not None
        assert app._services.db.backend == "postgresql"
        for index in range(SHARDS):
            await subscribe(world, index)
        first = [await world.discord.wait_for_message(c) for c in world.channels]
        match = world.gw2.world.match_for(TEAM)
        assert match is not None
        match.add_kills("red", 5)
        world.clock.advance(15 * 60)
        await updates(app).run_cycle()
        await world.discord.wait_until(
            lambda: all(len(m.history) == 1 for m in first), "the scheduled edits"
        )
        replies = []
        for index in range(SHARDS):
            handle = await world.discord.slash(
                world.admins[index], "wvw match", {"team": str(TEAM)}
            )
            replies.append(await handle.wait_final_message())
        shown = await world.discord.slash(world.admins[2], "settings show", {})
        settings_reply = await shown.wait_final_message()
        stored = await app._services.subscriptions.for_guild(world.guilds[3].id)
    for channel, message in zip(world.channels, first, strict=True):
        assert [m.id for m in world.posts(channel)] == [message.id]  # one post, then edits
    assert all(r.embeds and "Tier" in r.embeds[0]["title"] for r in replies)
    assert str(world.channels[2].id) in str(settings_reply.embeds)  # its match updates listed
    assert [s.channel_id for s in stored] == [world.channels[3].id]
    assert stored[0].last_message_id == first[3].id
