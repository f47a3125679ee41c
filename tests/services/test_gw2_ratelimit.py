"""The shared token bucket: burst and refill like the API, per-key fairness, and a 1,000-call burst
that never makes the (rate-limiting) fake answer 429."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import aiohttp
import pytest

from services.clock import ManualClock
from services.gw2 import GW2Client, GW2RateLimiter, RateLimitedError, RetryPolicy
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock

T = TypeVar("T")
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def drive(clock: ManualClock, work: Awaitable[T], *, step: float = 0.1) -> T:
    """Run ``work`` while moving the manual clock forward whenever something sleeps on it."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.sleep(0.001)
        if clock.sleepers:
            clock.advance(step)
    return task.result()


async def drive_calls(clock: ManualClock, calls: list[Awaitable[T]], *, step: float) -> list[T]:
    """Like :func:`drive`, but time moves only when every unfinished call sleeps on the clock
    (none is on the wire), as it would for requests that reach the API instantly."""
    tasks = [asyncio.ensure_future(c) for c in calls]
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.001)
        pending = sum(1 for t in tasks if not t.done())
        if pending and clock.sleepers == pending:
            clock.advance(step)
    return [t.result() for t in tasks]


async def timed(clock: ManualClock, acquire: Callable[[], Awaitable[float]]) -> float:
    """When (on ``clock``) an acquire returned, relative to the clock at the call."""
    before = clock.monotonic()
    await acquire()
    return clock.monotonic() - before


async def test_burst_of_300_passes_then_5_per_second() -> None:
    clock = InstantClock(START)
    limiter = GW2RateLimiter(clock)

    waits = [await limiter.acquire() for _ in range(310)]

    assert waits[:300] == [0.0] * 300
    assert all(w == pytest.approx(0.2) for w in waits[300:])
    assert clock.monotonic() - 1000.0 == pytest.approx(10 * 0.2)


async def test_a_wait_longer_than_allowed_fails_fast_without_using_a_token() -> None:
    clock = InstantClock(START)
    limiter = GW2RateLimiter(clock, capacity=1, refill_per_second=1)
    await limiter.acquire()

    with pytest.raises(RateLimitedError) as caught:
        await limiter.acquire(max_wait=0.5)

    assert caught.value.retry_after == pytest.approx(1.0)
    assert limiter.available() == pytest.approx(0.0)


async def test_one_key_burst_cannot_starve_another_key() -> None:
    clock = ManualClock(START)
    limiter = GW2RateLimiter(clock)
    greedy = [
        asyncio.ensure_future(timed(clock, lambda: limiter.acquire("greedy"))) for _ in range(200)
    ]
    await asyncio.sleep(0)
    polite = asyncio.ensure_future(timed(clock, lambda: limiter.acquire("polite")))
    public = asyncio.ensure_future(timed(clock, limiter.acquire))

    await drive(clock, asyncio.gather(*greedy, polite, public), step=0.5)

    assert polite.result() == 0.0
    assert public.result() == 0.0
    greedy_waits = sorted(t.result() for t in greedy)
    assert greedy_waits[59] == 0.0
    assert greedy_waits[-1] >= (200 - 60) / 2.0 - 0.5


async def test_a_cancelled_waiter_gives_its_token_back() -> None:
    clock = ManualClock(START)
    limiter = GW2RateLimiter(clock, capacity=1, refill_per_second=1)
    await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.available() == pytest.approx(-1.0)

    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert limiter.available() == pytest.approx(0.0)


async def test_an_upstream_429_pauses_every_caller() -> None:
    clock = InstantClock(START)
    async with FakeGW2API(clock=clock) as fake, aiohttp.ClientSession() as session:
        client = GW2Client(session, base_url=fake.base_url, clock=clock)
        fake.script("/v2/build", Fault.rate_limited(retry_after=4))
        await client.build()

        assert fake.count("/v2/build") == 2
        assert max(clock.slept) >= 4.0


async def test_a_burst_of_1000_calls_never_gets_a_429() -> None:
    clock = ManualClock(START)
    async with (
        FakeGW2API(clock=clock, rate_limit=True) as fake,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session,
    ):
        for i in range(1000):
            fake.add_guild(f"BURST-{i:04d}", f"Burst {i}", "BRST")
        client = GW2Client(
            session, base_url=fake.base_url, clock=clock, call_budget=600, request_timeout=30
        )

        results = await drive_calls(
            clock, [client.guild(f"BURST-{i:04d}") for i in range(1000)], step=1.0
        )

        assert len(results) == 1000
        assert fake.count("/v2/guild/{id}") == 1000
        assert fake.rate_limited == 0


async def test_without_our_limiter_the_same_burst_would_be_rejected() -> None:
    """The control for the test above: the fake's bucket really does bite."""
    clock = ManualClock(START)
    async with (
        FakeGW2API(clock=clock, rate_limit=True) as fake,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session,
    ):
        for i in range(400):
            fake.add_guild(f"BURST-{i:04d}", f"Burst {i}", "BRST")
        client = GW2Client(
            session,
            base_url=fake.base_url,
            clock=clock,
            rate_limiter=GW2RateLimiter(clock, capacity=10_000, refill_per_second=10_000),
            retry=RetryPolicy(max_attempts=1),
        )

        await asyncio.gather(
            *(client.guild(f"BURST-{i:04d}") for i in range(400)), return_exceptions=True
        )

        assert fake.rate_limited == 100
