"""Rerolls come best first: the first plan is never beaten and scores never increase."""

from __future__ import annotations

import asyncio
import random

import pytest

from services.composer import (
    ComposeRequest,
    RosterPlayer,
    alternatives,
    compose,
    default_catalogue,
    optimize,
)

# A generous safety net: these tests are about order, not speed (the machine may be loaded).
SLOW_OK = 30.0


def _roster(seed: int, size: int) -> tuple[RosterPlayer, ...]:
    specs = sorted(default_catalogue().specs)
    rng = random.Random(seed)
    return tuple(
        RosterPlayer(name=f"Player {i:02d}", specs=tuple(rng.sample(specs, rng.randint(1, 6))))
        for i in range(size)
    )


# Seeded rosters where rerolls stopped at the 1 % rule came out of order (30 players: 2156,
# 2146, 2155; 50: 3675, 3673, 3675) or beat the first plan (seed 64, 50 players: the first plan,
# accepted within 1 %, scored 3655 and the first reroll 3665).
OUT_OF_ORDER = [(30, 30), (50, 50), (64, 50)]
FIRST_BEATEN = (64, 50)


@pytest.mark.parametrize(("seed", "size"), OUT_OF_ORDER)
def test_rerolls_never_beat_the_first_plan_and_never_increase(seed: int, size: int) -> None:
    request = ComposeRequest(size=size, roster=_roster(seed, size))
    first = optimize(request)
    shown = alternatives(request, 3, time_limit_s=SLOW_OK)
    assert shown[0].plan == first.plan
    scores = [result.plan.score for result in shown]
    assert len(scores) == 3
    assert len({result.plan.signature for result in shown}) == 3
    assert scores == sorted(scores, reverse=True), scores
    assert all(result.solve.method == "milp" for result in shown)


def test_a_reroll_through_compose_does_not_beat_the_plan_shown_first() -> None:
    seed, size = FIRST_BEATEN
    request = ComposeRequest(size=size, roster=_roster(seed, size))
    first = asyncio.run(compose(request, solver_time_limit_s=SLOW_OK, deadline_s=2 * SLOW_OK))
    assert first.solve.status == "within_gap"  # the case this test is about
    reroll = asyncio.run(
        compose(
            request,
            exclude=[first.optimizer_plan.signature],
            solver_time_limit_s=SLOW_OK,
            deadline_s=2 * SLOW_OK,
        )
    )
    assert reroll.optimizer_plan.signature != first.optimizer_plan.signature
    assert reroll.optimizer_plan.score <= first.optimizer_plan.score
    assert reroll.solve.method == "milp"


def test_rerolls_are_the_next_best_plans_in_order() -> None:
    """Each reroll is proven optimal among the plans not shown yet (under the previous score)."""
    request = ComposeRequest(size=25, roster=_roster(25, 25))
    shown = alternatives(request, 4, time_limit_s=SLOW_OK)
    assert [r.solve.status for r in shown[1:]] == ["optimal"] * 3
    scores = [r.plan.score for r in shown]
    assert scores == sorted(scores, reverse=True)
    # The second plan is the best of everything but the first: excluding both first plans
    # and solving again cannot find a plan above the second.
    third = optimize(request, exclude=[r.plan.signature for r in shown[:2]], time_limit_s=SLOW_OK)
    assert third.plan.score <= shown[1].plan.score
