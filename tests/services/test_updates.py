"""The pure scheduling logic of match-update posts."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from services.clock import ManualClock
from services.gw2.models import Match
from services.match_analysis import analyse_match
from services.updates import (
    RENDER_VERSION,
    RequestPacer,
    WeekResult,
    content_hash,
    fetch_by_plan,
    fetch_plan,
    is_new_week,
    match_key,
    next_due,
)
from tests.fakes.gw2_api import FakeWorld

T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


@pytest.fixture
def match() -> Match:
    world = FakeWorld(ManualClock(T0))
    return Match.model_validate(world.match("1-1").to_json())


def test_next_due_keeps_the_grid_and_skips_missed_slots() -> None:
    assert next_due(T0, 15, T0) == T0 + timedelta(minutes=15)
    assert next_due(T0, 15, T0 + timedelta(minutes=3)) == T0 + timedelta(minutes=15)
    # down for an hour: the next slot on the same grid, no catch-up burst
    assert next_due(T0, 15, T0 + timedelta(minutes=61)) == T0 + timedelta(minutes=75)
    assert next_due(T0 + timedelta(minutes=5), 15, T0) == T0 + timedelta(minutes=5)


def test_fetch_plan_groups_teams_by_their_last_match() -> None:
    plan = fetch_plan(
        [(11003, "1-1"), (11001, "1-1"), (12001, "2-1"), (11005, None), (11001, "1-1")]
    )
    assert plan.groups == ((11001, 11003), (12001,))
    assert plan.unknown == (11005,)


async def test_fetch_by_plan_fetches_teams_of_one_match_one_after_another() -> None:
    """Teams of one match never overlap in flight (the second is a cache hit); other matches
    run at the same time; teams of unknown matches come last."""
    events: list[str] = []

    async def fetch(team_id: int) -> int:
        events.append(f"start {team_id}")
        await asyncio.sleep(0)
        events.append(f"end {team_id}")
        return team_id * 10

    results = await fetch_by_plan(
        [(11001, "1-1"), (11003, "1-1"), (12001, "2-1"), (11005, None)], fetch
    )
    assert results == {11001: 110010, 11003: 110030, 12001: 120010, 11005: 110050}
    assert events.index("end 11001") < events.index("start 11003")
    assert events.index("start 12001") < events.index("end 11001")  # other match in parallel
    assert events[-2:] == ["start 11005", "end 11005"]


def test_content_hash_is_stable_and_follows_the_data(match: Match) -> None:
    def digest(
        m: Match = match,
        team_id: int = 11001,
        stale: bool = False,
        fetched_at: datetime | None = None,
    ) -> str:
        return content_hash(m, team_id=team_id, stale=stale, locale="en", fetched_at=fetched_at)

    same = Match.model_validate(match.model_dump())
    assert digest() == digest(same)
    assert digest() != digest(team_id=11002)
    assert digest() != digest(stale=True, fetched_at=T0)
    changed = match.model_copy(update={"kills": match.kills.model_copy(update={"red": 1})})
    assert digest() != digest(changed)
    assert len(digest(team_id=1)) == 32


def test_content_hash_follows_the_language_of_the_post(match: Match) -> None:
    hashes = {
        locale: content_hash(match, team_id=11001, stale=False, locale=locale)
        for locale in ("en", "fr", "de", "es")
    }
    assert len(set(hashes.values())) == 4
    # English hashes are those stored before the language counted: no re-post after an upgrade.
    legacy = hashlib.sha256(f"v{RENDER_VERSION}|11001|0|".encode())
    legacy.update(match.model_dump_json().encode())
    assert hashes["en"] == legacy.hexdigest()[:32]


def test_a_new_week_is_a_later_match_not_the_first_one(match: Match) -> None:
    match_id, start = match_key(match)
    assert not is_new_week(None, None, match)
    assert not is_new_week(match_id, start, match)
    earlier = (match.start_time - timedelta(days=7)).isoformat()
    assert is_new_week(match_id, earlier, match)
    assert is_new_week("1-4", earlier, match)
    later = (match.start_time + timedelta(days=7)).isoformat()
    assert not is_new_week(match_id, later, match)


def test_week_result_ranks_by_victory_points_and_survives_json(match: Match) -> None:
    summary = analyse_match(match, now=T0)
    result = WeekResult.from_summary(summary)
    vps = [s.victory_points for s in result.standings]
    assert vps == sorted(vps, reverse=True)
    assert WeekResult.from_json(result.to_json()) == result
    best = result.standings[0]
    assert result.rank_of(best.team_ids[0]) == 1
    assert result.rank_of(99_999) is None


async def test_the_pacer_spaces_requests_at_its_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = RequestPacer(rate=50, burst=1, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(101):
        await pacer.acquire()
    assert now[0] == pytest.approx(2.0)  # 100 requests after the first, at 50 per second
    with pytest.raises(ValueError, match="rate"):
        RequestPacer(rate=0)


def test_week_keys_use_the_one_stored_time_format() -> None:
    from datetime import timezone

    from bot.storage import db_time
    from services.clock import parse_stored_time, stored_time

    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 20, 19, 0, 0, 123456, tzinfo=paris)
    assert stored_time(moment) == db_time(moment) == "2026-11-20T18:00:00+00:00"
    assert parse_stored_time(stored_time(moment)) == moment.replace(microsecond=0)
    assert parse_stored_time("garbage") is None
