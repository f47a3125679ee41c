"""An upstream 429 holds back only the key or endpoint family that got it, for at most 60 s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from services.gw2 import GW2Client, GW2Metrics, RateLimitedError
from services.gw2.ratelimit import MAX_UPSTREAM_PAUSE_S
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock

KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"
OTHER_KEY = "11111111-2222-3333-4444-555555555555AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock(START)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(
    clock: InstantClock, registry: CollectorRegistry
) -> AsyncIterator[tuple[GW2Client, FakeGW2API]]:
    async with FakeGW2API(clock=clock) as fake, aiohttp.ClientSession() as session:
        fake.add_key(KEY, account_name="Ann.1234")
        fake.add_key(OTHER_KEY, account_name="Bob.5678")
        yield (
            GW2Client(session, base_url=fake.base_url, clock=clock, metrics=GW2Metrics(registry)),
            fake,
        )


def _metric(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_retry_after_3600_on_one_key_holds_back_only_that_key_for_60_s(
    client: tuple[GW2Client, FakeGW2API], clock: InstantClock, registry: CollectorRegistry
) -> None:
    gw2, fake = client
    fake.script("/v2/account", Fault.rate_limited(retry_after=3600))

    with pytest.raises(RateLimitedError) as caught:
        await gw2.account(KEY)
    assert caught.value.retry_after == MAX_UPSTREAM_PAUSE_S == 60

    # Another user's key, public match data and other families go on at once.
    slept_before = len(clock.slept)
    assert (await gw2.account(OTHER_KEY)).value.name == "Bob.5678"
    await gw2.match_for_team(11001)
    await gw2.build()
    assert all(wait < 1 for wait in clock.slept[slept_before:])
    assert _metric(registry, "gw2opt_gw2_api_paused_scopes") == 1
    assert _metric(registry, "gw2opt_gw2_api_upstream_pauses_total", family="account", scope="key")
    assert _metric(
        registry, "gw2opt_gw2_api_upstream_pause_seconds_sum", family="account"
    ) == pytest.approx(60)

    # The paused key waits at most the cap, then works again.
    clock.advance(30)
    assert gw2.rate_limiter.paused_for(key_id=_kid(KEY)) == pytest.approx(30)
    clock.advance(30.5)
    assert (await gw2.account(KEY)).value.name == "Ann.1234"
    assert _metric(registry, "gw2opt_gw2_api_paused_scopes") == 0


async def test_a_public_429_pauses_its_family_not_the_others(
    client: tuple[GW2Client, FakeGW2API], clock: InstantClock
) -> None:
    gw2, fake = client
    fake.script("/v2/wvw/matches", Fault.rate_limited(retry_after=5))
    await gw2.match_for_team(11001)  # retried after the (short) pause
    assert max(clock.slept) == pytest.approx(5, abs=0.5)
    slept_before = len(clock.slept)
    await gw2.build()
    assert all(wait < 1 for wait in clock.slept[slept_before:])


async def test_an_http_date_retry_after_is_capped_and_read_on_the_injected_clock(
    client: tuple[GW2Client, FakeGW2API], clock: InstantClock
) -> None:
    gw2, fake = client
    far = format_datetime(clock.now() + timedelta(days=2), usegmt=True)
    fake.script("/v2/build", Fault(status=429, text="too many", headers={"Retry-After": far}))
    with pytest.raises(RateLimitedError) as caught:
        await gw2.build()
    assert caught.value.retry_after == 60
    assert gw2.rate_limiter.paused_for(family="build") == pytest.approx(60)


def _kid(key: str) -> str:
    from services.gw2 import key_id

    return key_id(key)
