"""Property tests: exact size, subgroups of at most 5, roster and locks respected, determinism."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.composer import (
    ComposeRequest,
    Lock,
    RosterPlayer,
    default_catalogue,
    optimize,
    score_plan,
)

SPECS = sorted(default_catalogue().specs)


@st.composite
def requests(draw: st.DrawFn) -> ComposeRequest:
    size = draw(st.integers(min_value=1, max_value=50))
    mode = draw(st.sampled_from(["zerg", "havoc", "roaming", "defense"]))
    layout = draw(st.sampled_from(["balanced", "fill"]))
    roster_size = draw(st.sampled_from([0, 0, max(1, size // 2), size, size + 3]))
    roster = tuple(
        RosterPlayer(
            name=f"Player {i}",
            specs=tuple(
                draw(st.lists(st.sampled_from(SPECS), min_size=1, max_size=6, unique=True))
            ),
        )
        for i in range(roster_size)
    )
    locks: list[Lock] = []
    if roster:
        for i in draw(
            st.lists(st.integers(0, len(roster) - 1), max_size=min(2, size), unique=True)
        ):
            locks.append(Lock(player=roster[i].name, spec=roster[i].specs[0]))
    return ComposeRequest(size=size, mode=mode, layout=layout, roster=roster, locks=tuple(locks))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_plans_respect_size_subgroups_roster_and_locks(request: ComposeRequest) -> None:
    result = optimize(request)
    plan = result.plan
    slots = plan.slots
    assert len(slots) == request.size
    assert all(1 <= len(g.slots) <= 5 for g in plan.subgroups)
    assert len(plan.subgroups) == -(-request.size // 5)
    by_name = {p.name: p for p in request.roster}
    catalogue = default_catalogue()
    placed = [s.player for s in slots if s.player is not None]
    assert len(placed) == len(set(placed))
    for slot in slots:
        if slot.player is not None:
            allowed = {catalogue.resolve_spec(x).key for x in by_name[slot.player].specs}  # type: ignore[union-attr]
            assert slot.spec in allowed
    for lock in request.locks:
        slot = next(s for s in slots if s.player == lock.player)
        assert slot.spec == catalogue.resolve_spec(lock.spec).key  # type: ignore[union-attr]
    if len(request.roster) <= request.size:
        assert set(placed) == set(by_name)
        assert sum(1 for s in slots if s.player is None) == request.size - len(request.roster)
    else:
        assert len(placed) == request.size
        assert set(plan.bench) == set(by_name) - set(placed)
    score = score_plan(plan, request)
    assert score.valid, score.violations
    assert score.total == plan.score == result.solve.score
    if result.solve.bound is not None:
        assert plan.score >= result.solve.bound * (1 - 0.01) - 1


@settings(max_examples=10, deadline=None)
@given(requests())
def test_same_input_gives_byte_identical_plans(request: ComposeRequest) -> None:
    first = optimize(request).plan.model_dump_json()
    second = optimize(request.model_copy(deep=True)).plan.model_dump_json()
    assert first == second


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_the_deterministic_fallback_plan_is_valid(request: ComposeRequest) -> None:
    result = optimize(request, time_limit_s=0)
    assert (result.solve.method, result.solve.status) == ("heuristic", "time_limit")
    plan = result.plan
    assert len(plan.slots) == request.size
    assert all(1 <= len(g.slots) <= 5 for g in plan.subgroups)
    score = score_plan(plan, request)
    assert score.valid, score.violations
    assert score.total == plan.score
    again = optimize(request.model_copy(deep=True), time_limit_s=0)
    assert again.plan.model_dump_json() == plan.model_dump_json()
