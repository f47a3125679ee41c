"""The match service: one freeze rule, the analysis cache, the legacy-world rule, no match."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from services.clock import ManualClock
from services.gw2 import Fetched, NotFoundError
from services.gw2.models import MATCH, Match, World
from services.matches import MatchService, TeamNotInMatchError
from tests.services.test_match_analysis import MATCH_BODY, NOW, team_scores


class StubGW2:
    """``match_for_team`` hands back whatever the test set; ``worlds`` counts its calls."""

    def __init__(self, match: Match, fetched_at: datetime) -> None:
        self.fetched = Fetched(match, fetched_at, timedelta(0))
        self.world_calls = 0
        self.missing = False

    async def match_for_team(self, team_id: int, *, budget: float | None = None) -> Any:
        if self.missing:
            raise NotFoundError(family="matches", upstream_text="no such id")
        return self.fetched

    async def worlds(self, *, budget: float | None = None) -> Fetched[list[World]]:
        self.world_calls += 1
        return Fetched([World(id=2202, name="Riverside")], NOW, timedelta(0))

    def serve(self, match: Match, fetched_at: datetime, *, stale: bool = False) -> None:
        self.fetched = Fetched(match, fetched_at, timedelta(0), stale=stale)


def service(match: Match, clock: ManualClock) -> tuple[MatchService, StubGW2]:
    gw2 = StubGW2(match, clock.now())
    return MatchService(gw2, clock), gw2  # type: ignore[arg-type]


def teams_only() -> Match:
    body = dict(MATCH_BODY, all_worlds={"red": [12002], "blue": [12007], "green": [12011]})
    return MATCH.validate_python(body)


async def test_data_unchanged_for_half_an_hour_of_fetches_is_frozen() -> None:
    clock = ManualClock(NOW)
    match = teams_only()
    matches, gw2 = service(match, clock)
    assert not (await matches.live(12002)).summary.frozen

    # The same content fetched again 31 minutes later (a new object, a new fetched_at).
    clock.advance(31 * 60)
    gw2.serve(teams_only(), clock.now())
    live = await matches.live(12002)

    assert live.summary.frozen
    assert live.summary.last_changed_at == NOW


async def test_changed_data_is_not_frozen() -> None:
    clock = ManualClock(NOW)
    matches, gw2 = service(teams_only(), clock)
    await matches.live(12002)
    clock.advance(31 * 60)
    moved = MATCH.validate_python(dict(MATCH_BODY, scores=team_scores(1005, 800, 600)))
    gw2.serve(moved, clock.now())

    assert not (await matches.live(12002)).summary.frozen


async def test_stale_data_is_stale_never_frozen() -> None:
    clock = ManualClock(NOW)
    match = teams_only()
    matches, gw2 = service(match, clock)
    await matches.live(12002)
    clock.advance(45 * 60)
    gw2.serve(match, NOW, stale=True)  # the API failed: the old copy is served

    live = await matches.live(12002)

    assert live.stale
    assert not live.summary.frozen


async def test_a_cache_hit_reuses_the_analysis_with_a_fresh_clock() -> None:
    clock = ManualClock(NOW)
    matches, _ = service(teams_only(), clock)
    first = await matches.live(12002)
    clock.advance(90)
    again = await matches.live(12002)

    assert again.summary.colours is first.summary.colours  # not analysed twice
    assert again.summary.skirmish.time_left == first.summary.skirmish.time_left - timedelta(
        seconds=90
    )
    assert again.data_version == first.data_version


async def test_world_names_are_asked_only_for_legacy_ids() -> None:
    clock = ManualClock(NOW)
    matches, gw2 = service(teams_only(), clock)
    await matches.live(12002)
    assert gw2.world_calls == 0

    legacy = MATCH.validate_python(MATCH_BODY)  # blue lists legacy world 2202
    gw2.serve(legacy, clock.now())
    live = await matches.live(12002)

    assert gw2.world_calls == 1
    assert "Riverside" in live.summary.colours["blue"].team_names


async def test_no_running_match_is_a_player_facing_error() -> None:
    matches, gw2 = service(teams_only(), ManualClock(NOW))
    gw2.missing = True

    with pytest.raises(TeamNotInMatchError, match="isn't in a running WvW match"):
        await matches.live(11005)
