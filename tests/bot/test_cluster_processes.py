"""Two real bot processes (shards 0-1 and 2-3 of 4) on one fake Discord, PostgreSQL and Redis.

Every due subscription is posted exactly once per cycle whichever process claims it; when the
process holding claims is SIGKILLed mid-cycle the other posts what it held once its lease runs out;
``/wvw match`` is answered in guilds of every shard.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage.postgres import PostgresDatabase
from bot.storage.subscriptions import SubscriptionRepository
from services.keys import generate_key
from tests.backends import postgres_url_in_new_schema, redis_prefix
from tests.fakes.discord import FakeChannel, FakeDiscord, FakeGuild, FakeMember
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import TEST_TOKEN

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SHARDS = 4
TEAM = 11001
LEASE_SECONDS = 3
HALVES = ("0-1", "2-3")


@dataclass
class Cluster:
    discord: FakeDiscord
    guilds: list[FakeGuild]
    admins: list[FakeMember]
    channels: list[FakeChannel]
    url: str
    processes: dict[str, asyncio.subprocess.Process]

    def posts_in(self, channel: FakeChannel) -> int:
        return sum(
            1
            for m in self.discord.messages_in(channel)
            if m.source == "channel" and m.author is self.discord.bot_user
        )

    def counts(self) -> list[int]:
        return [self.posts_in(c) for c in self.channels]


def _env(
    tmp_path: Path, discord_fake: FakeDiscord, gw2: FakeGW2API, url: str, ids: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DISCORD_", "METRICS_", "DATABASE_", "KEY_ENCRYPTION", "SENTRY_", "REDIS_")
        )
    }
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN=TEST_TOKEN,
        DISCORD_SHARD_COUNT=str(SHARDS),
        DISCORD_SHARD_IDS=ids,
        DISCORD_GUILD_READY_TIMEOUT="0.05",
        DATABASE_URL=url,
        DATABASE_PATH=str(tmp_path / ids / "data" / "bot.sqlite3"),
        DATABASE_LEASE_SECONDS=str(LEASE_SECONDS),
        GW2_API_BASE_URL=gw2.base_url,
        METRICS_PORT="0",
        LOG_FORMAT="text",
        LOG_LEVEL="INFO",
        **discord_fake.client_env(),
    )
    return env


@asynccontextmanager
async def cluster(tmp_path: Path, subscriptions: int) -> AsyncIterator[Cluster]:
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(postgres_url_in_new_schema())
        redis_url, redis_prefix_ = await stack.enter_async_context(redis_prefix())
        discord_fake = await stack.enter_async_context(
            FakeDiscord(shard_count=SHARDS, max_concurrency=SHARDS, default_timeout=60)
        )
        gw2 = await stack.enter_async_context(FakeGW2API())
        guilds = [
            discord_fake.add_guild(f"Shard {i}", id=discord_fake.guild_id_on_shard(i))
            for i in range(SHARDS)
        ]
        admins = [
            discord_fake.add_member(
                g, discord_fake.add_user(f"Admin{i}"), permissions="manage_guild"
            )
            for i, g in enumerate(guilds)
        ]
        channels = [
            discord_fake.add_text_channel(guilds[i % SHARDS], f"wvw-{i}")
            for i in range(subscriptions)
        ]
        # Due now, before either process starts: they race for the claims.
        db = await PostgresDatabase.connect(url)
        try:
            repo = SubscriptionRepository(db)
            for channel in channels:
                assert channel.guild is not None
                await repo.subscribe(
                    guild_id=channel.guild.id,
                    channel_id=channel.id,
                    team_id=TEAM,
                    interval_minutes=120,
                    mode="edit",
                    created_by=admins[0].user.id,
                    now=datetime.now(UTC),
                    limit=10_000,
                )
        finally:
            await db.close()
        key = generate_key()
        processes: dict[str, asyncio.subprocess.Process] = {}
        for ids in HALVES:
            env = _env(tmp_path, discord_fake, gw2, url, ids)
            env.update(KEY_ENCRYPTION_KEY=key, REDIS_URL=redis_url, REDIS_PREFIX=redis_prefix_)
            log = (tmp_path / f"bot-{ids}.log").open("wb")
            stack.callback(log.close)
            processes[ids] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=log, stderr=log
            )
        try:
            yield Cluster(discord_fake, guilds, admins, channels, url, processes)
        finally:
            for process in processes.values():
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _lease_holders(url: str) -> dict[int, int]:
    """pid -> number of subscriptions it holds claims on (owner ids are host:pid:job:random)."""
    db = await PostgresDatabase.connect(url)
    try:
        rows = await db.fetchall(
            "SELECT lease_owner, COUNT(*) AS n FROM update_subscriptions "
            "WHERE lease_owner IS NOT NULL GROUP BY lease_owner"
        )
    finally:
        await db.close()
    return {int(r["lease_owner"].split(":")[1]): r["n"] for r in rows}


async def test_two_processes_post_every_due_subscription_exactly_once(tmp_path: Path) -> None:
    async with cluster(tmp_path, subscriptions=40) as c:
        await c.discord.wait_until(lambda: all(n >= 1 for n in c.counts()), "every channel's post")
        replies = []
        for index in range(SHARDS):  # each guild is answered by the process of its shard
            handle = await c.discord.slash(c.admins[index], "wvw match", {"team": str(TEAM)})
            replies.append(await handle.wait_final_message())
        await asyncio.sleep(1.0)  # real processes: give a duplicate time to show up
        counts = c.counts()
    assert counts == [1] * 40
    assert all(r.embeds and "Tier" in r.embeds[0]["title"] for r in replies)


async def test_a_killed_process_s_claims_are_posted_by_the_other_within_a_lease(
    tmp_path: Path,
) -> None:
    total = 150
    async with cluster(tmp_path, subscriptions=total) as c:
        await c.discord.wait_until(lambda: sum(c.counts()) >= 10, "the first posts")
        holders = await _lease_holders(c.url)
        assert holders, "nobody holds claims mid-cycle"
        victim_pid = max(holders, key=lambda pid: holders[pid])
        victim = next(p for p in c.processes.values() if p.pid == victim_pid)
        victim.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        await victim.wait()
        posted_at_kill = sum(c.counts())
        assert posted_at_kill < total, "the cycle finished before the kill: nothing to take over"
        await c.discord.wait_until(
            lambda: all(n >= 1 for n in c.counts()), "the survivor to post the rest", timeout=30
        )
        took = time.monotonic() - killed_at
        await asyncio.sleep(1.0)
        counts = c.counts()
    assert counts == [1] * total, [n for n in counts if n != 1]
    # One lease period, plus the survivor's wake-up granularity and its posting time.
    assert took < LEASE_SECONDS + 10, took
