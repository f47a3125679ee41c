"""Cache TTLs, Cache-Control, single-flight and stale-if-error, with an injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from services.gw2 import (
    EndpointDisabledError,
    GW2Client,
    GW2Metrics,
    InvalidKeyError,
    NotFoundError,
    RetryPolicy,
    UnavailableError,
)
from services.gw2.cache import CacheEntry, ResponseCache
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock

KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"
OTHER_KEY = "11111111-2222-3333-4444-555555555555AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock(START)


@pytest.fixture
async def fake(clock: InstantClock) -> AsyncIterator[FakeGW2API]:
    async with FakeGW2API(clock=clock) as api:
        api.add_key(KEY, account_name="Ann.1234")
        api.add_key(OTHER_KEY, account_name="Bob.5678")
        yield api


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def client(
    fake: FakeGW2API, clock: InstantClock, registry: CollectorRegistry
) -> AsyncIterator[GW2Client]:
    async with aiohttp.ClientSession() as session:
        yield GW2Client(
            session,
            base_url=fake.base_url,
            clock=clock,
            metrics=GW2Metrics(registry),
            retry=RetryPolicy(max_attempts=2, base_delay=0.1),
        )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


# ----------------------------------------------------------------------------- TTLs
@pytest.mark.parametrize(
    ("call", "route", "fresh_for", "expired_after"),
    [
        ("match", "/v2/wvw/matches", 29, 31),
        ("objectives", "/v2/wvw/objectives", 23 * 3600, 24 * 3600 + 1),
        ("worlds", "/v2/worlds", 23 * 3600, 24 * 3600 + 1),
        ("account", "/v2/account", 299, 301),
        ("characters", "/v2/characters?ids", 299, 301),
    ],
)
async def test_ttl_per_endpoint_family(
    client: GW2Client,
    fake: FakeGW2API,
    clock: InstantClock,
    call: str,
    route: str,
    fresh_for: float,
    expired_after: float,
) -> None:
    calls = {
        "match": lambda: client.match_for_team(11001),
        "objectives": client.objectives,
        "worlds": client.worlds,
        "account": lambda: client.account(KEY),
        "characters": lambda: client.characters_all(KEY),
    }
    fetch = calls[call]

    await fetch()
    clock.advance(fresh_for)
    hit = await fetch()
    assert hit.from_cache
    assert fake.count(route) == 1

    clock.advance(expired_after - fresh_for)
    miss = await fetch()
    assert not miss.from_cache
    assert fake.count(route) == 2


async def test_cache_control_max_age_shortens_the_ttl(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    fake.response_headers["/v2/wvw/matches"] = {"Cache-Control": "public, max-age=5"}

    await client.match_for_team(11001)
    clock.advance(6)
    await client.match_for_team(11001)

    assert fake.count("/v2/wvw/matches") == 2


async def test_cache_control_is_capped_by_the_family_maximum(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    fake.response_headers["/v2/wvw/matches"] = {"Cache-Control": "max-age=86400"}

    await client.match_for_team(11001)
    clock.advance(100)
    assert (await client.match_for_team(11001)).from_cache
    clock.advance(30)
    assert not (await client.match_for_team(11001)).from_cache


async def test_no_store_is_never_served_fresh(client: GW2Client, fake: FakeGW2API) -> None:
    fake.response_headers["/v2/build"] = {"Cache-Control": "no-store"}

    await client.build()
    await client.build()

    assert fake.count("/v2/build") == 2


async def test_refresh_bypasses_a_fresh_entry(client: GW2Client, fake: FakeGW2API) -> None:
    await client.build()
    await client.build(refresh=True)

    assert fake.count("/v2/build") == 2


async def test_keys_do_not_share_cache_entries(client: GW2Client, fake: FakeGW2API) -> None:
    ann = await client.account(KEY)
    bob = await client.account(OTHER_KEY)

    assert (ann.value.name, bob.value.name) == ("Ann.1234", "Bob.5678")
    assert fake.count("/v2/account") == 2


async def test_a_match_fetched_for_one_team_serves_its_opponents_and_its_id(
    client: GW2Client, fake: FakeGW2API
) -> None:
    first = await client.match_for_team(11001)
    opponents = [t for t in first.value.team_ids() if t != 11001]

    for team in opponents:
        assert (await client.match_for_team(team)).from_cache
    assert (await client.match(first.value.id)).from_cache
    assert fake.count("/v2/wvw/matches") == 1


async def test_matches_all_fills_every_team(client: GW2Client, fake: FakeGW2API) -> None:
    await client.matches_all()

    assert (await client.match_for_team(12015)).from_cache
    assert fake.count("/v2/wvw/matches") == 1


def test_response_cache_is_bounded_lru() -> None:
    cache = ResponseCache(max_entries=2)
    entry = CacheEntry(1, START, 0.0, 10.0, 100.0)
    cache.put(("/a", (), None), entry)
    cache.put(("/b", (), None), entry)
    cache.get(("/a", (), None), 1.0)
    cache.put(("/c", (), None), entry)

    assert cache.get(("/b", (), None), 1.0) is None
    assert cache.get(("/a", (), None), 1.0) is not None
    assert len(cache) == 2


# ----------------------------------------------------------------------------- single-flight
async def test_100_concurrent_identical_calls_make_one_request(
    client: GW2Client, fake: FakeGW2API, registry: CollectorRegistry
) -> None:
    fake.script("/v2/wvw/matches", Fault.slow(0.05))

    results = await asyncio.gather(*(client.match_for_team(11003) for _ in range(100)))

    assert fake.count("/v2/wvw/matches") == 1
    assert {r.value.id for r in results} == {"1-1"}
    assert sample(registry, "gw2opt_gw2_api_coalesced_waits_total", family="matches") == 99


async def test_concurrent_calls_share_a_failure_too(client: GW2Client, fake: FakeGW2API) -> None:
    fake.script("/v2/wvw/matches", Fault.slow(0.05))

    results = await asyncio.gather(
        *(client.match_for_team(99_999) for _ in range(50)), return_exceptions=True
    )

    assert all(isinstance(r, NotFoundError) for r in results)
    assert fake.count("/v2/wvw/matches") == 1


async def test_a_cancelled_caller_does_not_cancel_the_shared_request(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.script("/v2/wvw/matches", Fault.slow(0.1))
    impatient = asyncio.create_task(client.match_for_team(11001))
    patient = asyncio.create_task(client.match_for_team(11001))
    await asyncio.sleep(0.02)

    impatient.cancel()
    result = await patient

    assert result.value.id == "1-1"
    assert impatient.cancelled()
    assert fake.count("/v2/wvw/matches") == 1


async def test_different_keys_are_not_coalesced(client: GW2Client, fake: FakeGW2API) -> None:
    fake.script("/v2/account", Fault.slow(0.05))

    await asyncio.gather(client.account(KEY), client.account(OTHER_KEY))

    assert fake.count("/v2/account") == 2


# ----------------------------------------------------------------------------- stale-if-error
async def test_stale_value_is_served_when_the_api_fails(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock, registry: CollectorRegistry
) -> None:
    fresh = await client.match_for_team(11001)
    clock.advance(60)
    fake.script("/v2/wvw/matches", Fault(status=502, text="", times=None))

    stale = await client.match_for_team(11001)

    assert stale.stale
    assert stale.from_cache
    assert stale.value == fresh.value
    assert isinstance(stale.error, UnavailableError)
    assert stale.fetched_at == START
    assert stale.age >= timedelta(seconds=60)
    assert (
        sample(registry, "gw2opt_gw2_api_cache_lookups_total", family="matches", result="stale")
        == 1
    )


async def test_stale_value_is_served_when_the_endpoint_is_switched_off(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    await client.objectives()
    clock.advance(25 * 3600)
    fake.script("/v2/wvw/objectives", Fault.disabled())

    result = await client.objectives()

    assert result.stale
    assert isinstance(result.error, EndpointDisabledError)


async def test_without_a_previous_value_the_error_is_raised(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.script("/v2/wvw/matches", Fault(status=500, text="", times=None))

    with pytest.raises(UnavailableError):
        await client.match_for_team(11001)


async def test_key_errors_are_never_hidden_by_stale_values(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    await client.account(KEY)
    clock.advance(301)
    fake.remove_key(KEY)

    with pytest.raises(InvalidKeyError):
        await client.account(KEY)


async def test_stale_values_expire_after_their_stale_window(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    await client.match_for_team(11001)
    clock.advance(7 * 3600)
    fake.script("/v2/wvw/matches", Fault(status=500, text="", times=None))

    with pytest.raises(UnavailableError):
        await client.match_for_team(11001)


async def test_after_recovery_fresh_values_come_back(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    await client.match_for_team(11001)
    clock.advance(60)
    fake.script("/v2/wvw/matches", Fault(status=500, text="", times=2))
    assert (await client.match_for_team(11001)).stale

    recovered = await client.match_for_team(11001)

    assert not recovered.stale
    assert not recovered.from_cache
    assert recovered.fetched_at == clock.now()


def test_invalidate_key_id_drops_only_that_keys_answers() -> None:
    from datetime import UTC, datetime

    from services.gw2.cache import CacheEntry, ResponseCache

    cache = ResponseCache()
    entry = CacheEntry("v", datetime(2026, 1, 1, tzinfo=UTC), 0.0, 10.0, 100.0)
    cache.put(("/v2/account", (), "aaaa"), entry)
    cache.put(("/v2/characters", (), "aaaa"), entry)
    cache.put(("/v2/account", (), "bbbb"), entry)
    cache.put(("/v2/wvw/matches", (("world", "11001"),), None), entry)
    assert cache.invalidate_key_id("aaaa") == 2
    assert len(cache) == 2
    assert cache.get(("/v2/account", (), "bbbb"), 1.0) is not None
