"""Shared state in a real Redis: one Discord budget, one GW2 flight per match, local fallback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from prometheus_client import CollectorRegistry

from services.clock import ManualClock
from services.gw2 import GW2Client
from services.shared_state import (
    RedisLink,
    SharedGW2RateLimiter,
    SharedPacer,
    SharedResponses,
    SharedStateMetrics,
)
from tests.backends import redis_prefix
from tests.fakes.gw2_api import FakeGW2API
from tests.tcp_proxy import Proxy

MATCHES = "/v2/wvw/matches"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(round(seconds, 3))


async def test_two_processes_share_one_discord_budget() -> None:
    clock = ManualClock()
    async with redis_prefix() as (url, prefix):
        links = [RedisLink.from_url(url, clock, prefix=prefix) for _ in range(2)]
        sleeps = [Sleeps(), Sleeps()]
        pacers = [
            SharedPacer(link, rate=10, burst=2, sleep=sleep)
            for link, sleep in zip(links, sleeps, strict=True)
        ]
        try:
            await pacers[0].acquire()
            await pacers[0].acquire()  # the burst of 2 is spent, by process 0
            await pacers[1].acquire()  # process 1 waits for the next token: 1/10 s
            await pacers[1].acquire()
        finally:
            for link in links:
                await link.aclose()
    assert sleeps[0].waits == []
    assert sleeps[1].waits == [0.1, 0.2]


@contextlib.asynccontextmanager
async def gw2_client(
    gw2: FakeGW2API, link: RedisLink, clock: ManualClock
) -> AsyncIterator[GW2Client]:
    async with aiohttp.ClientSession() as session:
        client = GW2Client(
            session,
            base_url=gw2.base_url,
            clock=clock,
            rate_limiter=SharedGW2RateLimiter(link, clock),
            shared=SharedResponses(link),
        )
        try:
            yield client
        finally:
            await client.aclose()


async def test_processes_asking_for_one_match_make_one_upstream_request() -> None:
    clock = ManualClock()
    async with redis_prefix() as (url, prefix), FakeGW2API(clock=clock) as gw2:
        match = next(iter(gw2.world.matches.values()))
        first, *others = sorted(match.team_ids())
        links = [RedisLink.from_url(url, clock, prefix=prefix) for _ in range(3)]
        try:
            async with (
                gw2_client(gw2, links[0], clock) as a,
                gw2_client(gw2, links[1], clock) as b,
                gw2_client(gw2, links[2], clock) as c,
            ):
                results = await asyncio.gather(
                    a.match_for_team(first), b.match_for_team(first), c.match_for_team(first)
                )
                # Another team of the same match, from a process that never asked: still shared.
                sibling = await c.match_for_team(others[0])
        finally:
            for link in links:
                await link.aclose()
    assert [link.reason for link in links] == [None, None, None]
    assert gw2.count(MATCHES) == 1
    assert {r.value.id for r in results} == {match.id}
    assert sibling.value.id == match.id


async def test_redis_down_falls_back_to_the_local_budget_and_recovers_by_itself() -> None:
    clock = ManualClock()
    registry = CollectorRegistry()
    metrics = SharedStateMetrics(registry)
    async with redis_prefix() as (url, prefix):
        host_port = url.split("//", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
        host, port = host_port.split(":")
        proxy = Proxy((host, int(port)))
        await proxy.start()
        link = RedisLink.from_url(
            f"redis://127.0.0.1:{proxy.port}/0", clock, prefix=prefix, metrics=metrics
        )
        sleeps = Sleeps()
        pacer = SharedPacer(link, rate=10, burst=1, sleep=sleeps)
        try:
            await pacer.acquire()
            assert link.reason is None
            await proxy.stop()
            await pacer.acquire()  # served by the local bucket
            assert link.reason is not None
            assert "redis unavailable" in link.reason
            assert registry.get_sample_value("gw2opt_redis_up") == 0
            assert (
                registry.get_sample_value(
                    "gw2opt_redis_fallbacks_total", {"component": "discord_pacer"}
                )
                == 1
            )
            await proxy.start()  # Redis is back (same port)
            await pacer.acquire()  # still within retry_after: local, no attempt
            assert link.reason is not None
            clock.advance(link.retry_after)
            await pacer.acquire()
            assert link.reason is None
            assert registry.get_sample_value("gw2opt_redis_up") == 1
        finally:
            await link.aclose()
            await proxy.stop()


async def test_with_redis_down_a_process_paces_at_its_share_of_the_budget() -> None:
    # Two processes of a cluster, Redis unreachable: each may use half of Discord's budget, so
    # together they stay under it (each at the full rate would double it).
    clock = ManualClock()
    now = [0.0]

    class AdvancingSleeps(Sleeps):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            now[0] += seconds

    link = RedisLink.from_url("redis://127.0.0.1:9/0", clock, prefix="test")
    sleeps = AdvancingSleeps()
    pacer = SharedPacer(
        link, rate=10, burst=1, fallback_share=0.5, sleep=sleeps, monotonic=lambda: now[0]
    )
    try:
        for _ in range(3):
            await pacer.acquire()
    finally:
        await link.aclose()
    assert link.reason is not None
    assert sleeps.waits == [0.2, 0.2]  # 5 per second, not 10
    assert pacer.shared_rate == 10


def test_a_process_share_is_its_shards_over_all_shards() -> None:
    from types import SimpleNamespace
    from typing import Any

    from bot.shared import process_share

    def settings(**discord: Any) -> Any:
        return SimpleNamespace(discord=SimpleNamespace(**discord))

    assert process_share(settings(shard_count=4, shard_ids=(0, 1))) == 0.5
    assert process_share(settings(shard_count=4, shard_ids=None)) == 1.0
    assert process_share(settings(shard_count=None, shard_ids=None)) == 1.0
