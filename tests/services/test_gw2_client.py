"""The GW2 client against the fake API: endpoints, auth transports, error mapping, retries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from services.gw2 import (
    BadResponseError,
    EndpointDisabledError,
    GW2Client,
    GW2Metrics,
    InvalidKeyError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    UnavailableError,
    key_id,
)
from tests.fakes.gw2_api import (
    BULK_CHARACTERS_ROUTE,
    FakeCharacter,
    FakeGW2API,
    Fault,
    InstantClock,
)

KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"
OTHER_KEY = "11111111-2222-3333-4444-555555555555AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> InstantClock:
    return InstantClock(START)


@pytest.fixture
async def fake(clock: InstantClock) -> AsyncIterator[FakeGW2API]:
    async with FakeGW2API(clock=clock) as api:
        api.add_key(
            KEY,
            permissions=["account", "wvw", "characters", "builds"],
            account_name="Ann.1234",
            team_id=11005,
            wvw_guild="GUILD-1",
            characters=[
                FakeCharacter("Zoë Fire", "Guardian", [62, None]),
                FakeCharacter("Sir Strip", "Necromancer", [60]),
            ],
        )
        yield api


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def client(
    session: aiohttp.ClientSession,
    fake: FakeGW2API,
    clock: InstantClock,
    registry: CollectorRegistry,
) -> GW2Client:
    return GW2Client(
        session,
        base_url=fake.base_url,
        clock=clock,
        metrics=GW2Metrics(registry),
        retry=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=4.0),
        request_timeout=2.0,
    )


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


# ----------------------------------------------------------------------------- endpoints
async def test_match_for_team_returns_the_match_holding_that_team(
    client: GW2Client, fake: FakeGW2API
) -> None:
    result = await client.match_for_team(11005)

    expected = fake.world.match_for(11005)
    assert expected is not None
    assert result.value.id == expected.id
    assert 11005 in result.value.team_ids()
    assert result.value.scores.red == expected.scores["red"]
    assert len(result.value.maps) == 4
    assert not result.from_cache
    assert not result.stale


async def test_requests_carry_schema_version_and_user_agent(
    client: GW2Client, fake: FakeGW2API
) -> None:
    await client.build()

    recorded = fake.request_log[-1]
    assert recorded.query["v"] >= "2024-07-20T01:00:00.000Z"
    assert recorded.user_agent.startswith("GW2Optimizer/")


async def test_every_public_endpoint_parses(client: GW2Client, fake: FakeGW2API) -> None:
    assert len((await client.matches_all()).value) == 9
    assert (await client.match("2-3")).value.id == "2-3"
    objectives = (await client.objectives()).value
    assert {o.id for o in objectives} >= {"38-9", "1099-114", "96-37", "95-32"}
    assert next(o for o in objectives if o.id == "38-9").name == "Stonemist Castle"
    assert any(w.name == "Anvil Rock" for w in (await client.worlds()).value)
    assert (await client.build()).value.id == fake.world.build_id
    guild_id = next(g for g, team in fake.guild_teams["eu"].items() if team == 12002)
    assert (await client.guild(guild_id)).value.name == "Guild of 12002"


async def test_specializations_know_which_are_elite(client: GW2Client) -> None:
    specs = (await client.specializations([62, 42, 60, 39])).value

    assert {s.id: s.elite for s in specs} == {62: True, 42: False, 60: True, 39: False}


async def test_specializations_with_an_unknown_id_keep_the_known_ones(
    client: GW2Client, fake: FakeGW2API
) -> None:
    specs = (await client.specializations([62, 99_999])).value

    assert [s.id for s in specs] == [62]
    assert fake.count("/v2/specializations") == 1


async def test_key_endpoints_answer_for_the_key(client: GW2Client) -> None:
    token = (await client.tokeninfo(KEY)).value
    assert set(token.permissions) == {"account", "wvw", "characters", "builds"}
    account = (await client.account(KEY)).value
    assert account.name == "Ann.1234"
    assert account.wvw.team_id == 11005
    assert (await client.account_wvw(KEY)).value.team == 11005


async def test_characters_all_reads_every_character_in_one_request(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fetched = await client.characters_all(KEY)

    chars = fetched.value
    assert [(c.name, c.profession, c.level) for c in chars] == [
        ("Zoë Fire", "Guardian", 80),
        ("Sir Strip", "Necromancer", 80),
    ]
    assert chars[0].age == 123_456
    assert chars[0].deaths == 42
    assert chars[0].created == datetime(2015, 8, 28, tzinfo=UTC)
    assert [t.specialization_ids()[-1] for t in chars[0].build_tabs] == [62, 13]
    assert [t.is_active for t in chars[0].build_tabs] == [True, False]
    assert fake.count(BULK_CHARACTERS_ROUTE) == 1
    assert fake.count("/v2/characters") == 0
    assert fake.request_log[-1].query["ids"] == "all"
    assert fake.request_log[-1].authenticated
    assert (await client.characters_all(KEY)).from_cache
    assert fake.count(BULK_CHARACTERS_ROUTE) == 1


async def test_characters_all_without_builds_has_no_build_tabs(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.add_key(
        OTHER_KEY,
        permissions=["account", "characters"],
        characters=[FakeCharacter("Cid", "Warrior", [61])],
    )

    chars = (await client.characters_all(OTHER_KEY)).value

    assert [(c.name, c.profession, c.build_tabs) for c in chars] == [("Cid", "Warrior", [])]


async def test_characters_all_needs_a_known_key_with_the_characters_scope(
    client: GW2Client, fake: FakeGW2API
) -> None:
    with pytest.raises(InvalidKeyError):
        await client.characters_all(OTHER_KEY)
    fake.add_key(OTHER_KEY, permissions=["account", "builds"])

    with pytest.raises(MissingPermissionError) as caught:
        await client.characters_all(OTHER_KEY)

    assert caught.value.scope == "characters"


@pytest.mark.parametrize("transport", ["header", "query"])
async def test_both_auth_transports_work_and_never_both(
    session: aiohttp.ClientSession, fake: FakeGW2API, clock: InstantClock, transport: str
) -> None:
    client = GW2Client(session, base_url=fake.base_url, clock=clock, auth_transport=transport)  # type: ignore[arg-type]

    account = (await client.account(KEY)).value

    assert account.name == "Ann.1234"
    assert fake.request_log[-1].authenticated
    assert fake.request_log[-1].auth_via == transport


# ----------------------------------------------------------------------------- error mapping
async def test_unknown_key_is_an_invalid_key_error_without_the_key(client: GW2Client) -> None:
    with pytest.raises(InvalidKeyError) as caught:
        await client.account(OTHER_KEY)

    assert "/key add" in str(caught.value)
    assert OTHER_KEY not in str(caught.value)
    assert OTHER_KEY[:8] not in repr(caught.value.args)


async def test_missing_scope_names_the_scope(client: GW2Client, fake: FakeGW2API) -> None:
    fake.add_key(OTHER_KEY, permissions=["account"])

    with pytest.raises(MissingPermissionError) as caught:
        await client.characters_all(OTHER_KEY)

    assert caught.value.scope == "characters"
    assert "characters" in str(caught.value)


async def test_account_wvw_needs_the_wvw_scope(client: GW2Client, fake: FakeGW2API) -> None:
    fake.add_key(OTHER_KEY, permissions=["account", "characters"])

    with pytest.raises(MissingPermissionError) as caught:
        await client.account_wvw(OTHER_KEY)

    assert caught.value.scope == "wvw"


async def test_team_not_in_a_match_is_not_found(client: GW2Client) -> None:
    with pytest.raises(NotFoundError):
        await client.match_for_team(99_999)


async def test_api_not_active_is_endpoint_disabled_and_not_retried(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    fake.script("/v2/wvw/matches", Fault.disabled())

    with pytest.raises(EndpointDisabledError) as caught:
        await client.match_for_team(11001)

    assert "API not active" in str(caught.value)
    assert fake.count("/v2/wvw/matches") == 1
    assert clock.slept == []


@pytest.mark.parametrize("status", [401, 403, 400])
async def test_key_texts_are_recognised_on_every_key_status(
    client: GW2Client, fake: FakeGW2API, status: int
) -> None:
    fake.script("/v2/account", Fault(status=status, text="invalid key"))

    with pytest.raises(InvalidKeyError):
        await client.account(KEY)
    assert fake.count("/v2/account") == 1


@pytest.mark.parametrize("status", [408, 429, 500, 502, 504])
async def test_retryable_statuses_are_retried_until_success(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock, status: int
) -> None:
    fake.script("/v2/build", Fault(status=status, text="", times=2))

    result = await client.build()

    assert result.value.id == fake.world.build_id
    assert fake.count("/v2/build") == 3
    assert len(clock.slept) >= 2


@pytest.mark.parametrize("text", ["ErrTimeout", "ErrBadData", "unknown error"])
async def test_transient_texts_are_retried_whatever_the_status(
    client: GW2Client, fake: FakeGW2API, text: str
) -> None:
    fake.script("/v2/build", Fault(status=400, text=text))

    await client.build()

    assert fake.count("/v2/build") == 2


async def test_persistent_5xx_gives_up_after_max_attempts_with_unavailable(
    client: GW2Client, fake: FakeGW2API, registry: CollectorRegistry
) -> None:
    fake.script("/v2/build", Fault(status=500, text="", times=None))

    with pytest.raises(UnavailableError) as caught:
        await client.build()

    assert "unavailable" in str(caught.value)
    assert fake.count("/v2/build") == 3
    assert (
        sample(registry, "gw2opt_gw2_api_retries_total", family="build", outcome="unavailable") == 2
    )


async def test_backoff_grows_exponentially(
    session: aiohttp.ClientSession, fake: FakeGW2API, clock: InstantClock
) -> None:
    client = GW2Client(
        session,
        base_url=fake.base_url,
        clock=clock,
        retry=RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=10.0),
        call_budget=60,
    )
    fake.script("/v2/build", Fault(status=502, text="", times=3))

    await client.build()

    first, second, third = clock.slept
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 2.0 <= third <= 4.0


async def test_retry_after_is_honoured(
    client: GW2Client, fake: FakeGW2API, clock: InstantClock
) -> None:
    fake.script("/v2/build", Fault.rate_limited(retry_after=3))

    await client.build()

    assert max(clock.slept) >= 3.0
    assert fake.count("/v2/build") == 2


async def test_upstream_429_beyond_the_budget_is_rate_limited(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.script("/v2/build", Fault.rate_limited(retry_after=120))

    with pytest.raises(RateLimitedError) as caught:
        await client.build()

    assert caught.value.retry_after == 60  # Retry-After is capped (see test_gw2_upstream_pause)
    assert fake.count("/v2/build") == 1


async def test_invalid_key_is_never_retried(client: GW2Client, fake: FakeGW2API) -> None:
    with pytest.raises(InvalidKeyError):
        await client.tokeninfo(OTHER_KEY)

    assert fake.count("/v2/tokeninfo") == 1


async def test_truncated_json_is_retried_then_reported_as_bad_response(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.script("/v2/wvw/matches", Fault.truncated(times=None))

    with pytest.raises(BadResponseError):
        await client.match_for_team(11001)

    assert fake.count("/v2/wvw/matches") == 3


async def test_truncated_json_once_recovers(client: GW2Client, fake: FakeGW2API) -> None:
    fake.script("/v2/wvw/matches", Fault.truncated())

    result = await client.match_for_team(11001)

    assert result.value.id == "1-1"


async def test_wrong_shape_is_bad_response_and_not_retried(
    client: GW2Client, fake: FakeGW2API
) -> None:
    fake.script("/v2/build", Fault(status=200, body=b'{"unexpected": true}'))

    with pytest.raises(BadResponseError):
        await client.build()

    assert fake.count("/v2/build") == 1


async def test_partial_content_206_is_accepted(client: GW2Client, fake: FakeGW2API) -> None:
    fake.script("/v2/specializations", Fault.partial_content())

    specs = (await client.specializations([5, 7, 27, 34])).value

    assert 1 <= len(specs) < 4


async def test_a_hanging_api_is_unavailable_within_the_budget(
    session: aiohttp.ClientSession, fake: FakeGW2API, clock: InstantClock
) -> None:
    client = GW2Client(
        session,
        base_url=fake.base_url,
        clock=clock,
        request_timeout=0.05,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    fake.script("/v2/build", Fault.slow(0.5, times=None))

    started = time.perf_counter()
    with pytest.raises(UnavailableError):
        await client.build()

    assert time.perf_counter() - started < 0.4
    assert fake.count("/v2/build") == 2


async def test_the_call_budget_stops_retries(
    session: aiohttp.ClientSession, fake: FakeGW2API, clock: InstantClock
) -> None:
    client = GW2Client(
        session,
        base_url=fake.base_url,
        clock=clock,
        call_budget=1.0,
        retry=RetryPolicy(max_attempts=10, base_delay=0.4, max_delay=10),
    )
    fake.script("/v2/build", Fault(status=500, text="", times=None))

    with pytest.raises(UnavailableError):
        await client.build()

    assert sum(clock.slept) <= 1.0
    assert fake.count("/v2/build") < 10


async def test_connection_refused_is_unavailable(
    session: aiohttp.ClientSession, clock: InstantClock
) -> None:
    client = GW2Client(
        session,
        base_url="http://127.0.0.1:9",
        clock=clock,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )

    with pytest.raises(UnavailableError):
        await client.build()


# ----------------------------------------------------------------------------- secrecy + metrics
async def test_the_key_never_reaches_logs_metrics_or_cache_keys(
    client: GW2Client,
    fake: FakeGW2API,
    registry: CollectorRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.script("/v2/account", Fault(status=500, text="", times=2))
    await client.account(KEY)
    with pytest.raises(InvalidKeyError):
        await client.account(OTHER_KEY)

    everything_logged = "\n".join(r.getMessage() for r in caplog.records)
    assert KEY not in everything_logged
    assert OTHER_KEY not in everything_logged
    labels = {v for m in registry.collect() for s in m.samples for v in s.labels.values()}
    assert not any(KEY[:8] in v or key_id(KEY) in v for v in labels)
    cache_keys = list(client.cache._entries)
    assert all(KEY not in repr(k) for k in cache_keys)
    assert any(k[2] == key_id(KEY) for k in cache_keys)


async def test_metrics_count_requests_by_family_and_outcome(
    client: GW2Client, fake: FakeGW2API, registry: CollectorRegistry
) -> None:
    await client.match_for_team(11001)
    await client.match_for_team(11001)
    with pytest.raises(InvalidKeyError):
        await client.account(OTHER_KEY)

    assert sample(registry, "gw2opt_gw2_api_requests_total", family="matches", outcome="ok") == 1
    assert (
        sample(registry, "gw2opt_gw2_api_cache_lookups_total", family="matches", result="hit") == 1
    )
    assert (
        sample(registry, "gw2opt_gw2_api_cache_lookups_total", family="matches", result="miss") == 1
    )
    assert (
        sample(registry, "gw2opt_gw2_api_requests_total", family="account", outcome="invalid_key")
        == 1
    )
    assert sample(registry, "gw2opt_gw2_api_upstream_latency_seconds_count", family="matches") == 1
    assert sample(registry, "gw2opt_gw2_api_ratelimit_wait_seconds_count") == 2


async def test_fetched_reports_age_from_the_clock(client: GW2Client, clock: InstantClock) -> None:
    first = await client.match_for_team(11001)
    clock.advance(10)
    second = await client.match_for_team(11001)

    assert second.from_cache
    assert second.fetched_at == first.fetched_at == START
    assert second.age == timedelta(seconds=10)


async def test_a_caller_joining_a_slow_request_still_gets_its_own_budget(
    client: GW2Client, fake: FakeGW2API
) -> None:
    # Autocomplete asks with a 1 s budget; it must not wait out someone else's 8 s request.
    fake.script("/v2/worlds", Fault.slow(1.0))
    patient = asyncio.create_task(client.worlds())
    await asyncio.sleep(0.05)  # the first request is in flight

    started = time.perf_counter()
    with pytest.raises(UnavailableError):
        await client.worlds(budget=0.2)
    assert time.perf_counter() - started < 0.6

    assert len((await patient).value) > 0  # the shared request itself was not cancelled
    assert fake.count("/v2/worlds") == 1


async def test_aclose_cancels_requests_still_in_flight() -> None:
    async with FakeGW2API() as fake, aiohttp.ClientSession() as session:
        fake.script("/v2/wvw/matches", Fault.slow(0.5))
        client = GW2Client(session, base_url=fake.base_url, clock=InstantClock())
        call = asyncio.create_task(client.match_for_team(11001))
        await asyncio.sleep(0.05)
        await client.aclose()
        with pytest.raises(UnavailableError):
            await call  # the caller is told the API is unavailable, it does not hang
        assert len(client._flights) == 0
