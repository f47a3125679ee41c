"""Squad optimizer: catalogue, quality bar, exactness against brute force, alternatives, scoring."""

from __future__ import annotations

import itertools
import random

import pytest

from services.composer import (
    ComposeRequest,
    CompositionError,
    Lock,
    OptimizeResult,
    RosterPlayer,
    alternatives,
    default_catalogue,
    optimize,
    score_plan,
    solver,
)
from services.composer.problem import resolve, subgroup_sizes
from services.composer.scoring import build_plan, raw_score

CORE_NEEDS = ("stability", "healing", "cleanse", "quickness", "alacrity")
ELITE_IDS = {
    27, 62, 65, 81, 18, 61, 68, 74, 52, 63, 69, 79, 43, 57, 70, 75,
    5, 55, 72, 78, 7, 58, 71, 77, 48, 56, 67, 80, 40, 59, 66, 73, 34, 60, 64, 76,
}  # fmt: skip


def test_catalogue_has_every_core_profession_and_elite_spec() -> None:
    catalogue = default_catalogue()
    ids = {s.specialization_id for s in catalogue.specs.values() if s.specialization_id}
    assert ids == ELITE_IDS
    cores = {s.key for s in catalogue.specs.values() if s.specialization_id is None}
    assert cores == {
        "guardian", "warrior", "revenant", "engineer", "ranger",
        "thief", "elementalist", "mesmer", "necromancer",
    }  # fmt: skip
    assert set(catalogue.modes) == {"zerg", "havoc", "roaming", "defense"}
    assert all(catalogue.options_for(key) for key in catalogue.specs)


def test_specs_resolve_by_key_name_and_id() -> None:
    catalogue = default_catalogue()
    assert catalogue.resolve_spec("Firebrand") == catalogue.resolve_spec(62)
    assert catalogue.resolve_spec("firebrand") == catalogue.resolve_spec("62")
    assert catalogue.resolve_spec("Paladin") is None


@pytest.mark.parametrize("size", range(5, 51))
def test_zerg_free_roster_covers_the_core_boons_in_every_full_subgroup(size: int) -> None:
    result = optimize(ComposeRequest(size=size, mode="zerg"))
    plan = result.plan
    assert result.solve.status == "optimal"
    assert sum(len(g.slots) for g in plan.subgroups) == size
    for group in plan.subgroups:
        if len(group.slots) >= 4:
            missing = set(CORE_NEEDS) - group.covered_needs
            assert not missing, f"subgroup {group.number} of {size}: missing {missing}"


@pytest.mark.parametrize("layout", ["balanced", "fill"])
def test_subgroup_sizes_use_the_fewest_subgroups(layout: str) -> None:
    for size in range(1, 51):
        sizes = subgroup_sizes(size, layout)
        assert sum(sizes) == size
        assert len(sizes) == -(-size // 5)
        assert all(1 <= s <= 5 for s in sizes)
    assert subgroup_sizes(12, "balanced") == (4, 4, 4)
    assert subgroup_sizes(12, "fill") == (5, 5, 2)


def test_fifteen_players_means_fifteen_slots() -> None:
    plan = optimize(ComposeRequest(size=15)).plan
    assert [len(g.slots) for g in plan.subgroups] == [5, 5, 5]


def _brute_force(request: ComposeRequest) -> int:
    """Best score by enumerating every choice of players, options and subgroup split."""
    problem = resolve(request)
    players = [p.name for p in request.roster] + [None] * problem.open_slots
    best = -1
    for chosen in itertools.combinations(players, request.size):
        choices = [
            sorted(problem.locked.get(p, problem.allowed[p])) if p else range(len(problem.options))
            for p in chosen
        ]
        for options in itertools.product(*choices):
            slots = list(zip(chosen, options, strict=True))
            first = problem.sizes[0]
            for idx in itertools.combinations(range(len(slots)), first):
                a = [slots[i] for i in idx]
                b = [slots[i] for i in range(len(slots)) if i not in idx]
                groups = [a, b] if b else [a]
                best = max(best, sum(raw_score(problem, groups)))
    return best


def _small_roster(seed: int, players: int) -> tuple[RosterPlayer, ...]:
    rng = random.Random(seed)
    specs = ["firebrand", "tempest", "scrapper", "herald", "spellbreaker", "virtuoso", "scourge"]
    return tuple(
        RosterPlayer(
            name=f"Player{i}.{1000 + i}", specs=tuple(rng.sample(specs, rng.randint(1, 2)))
        )
        for i in range(players)
    )


@pytest.mark.parametrize("seed", range(4))
def test_constrained_roster_plan_equals_brute_force_optimum(seed: int) -> None:
    request = ComposeRequest(size=6, roster=_small_roster(seed, 6))
    result = optimize(request)
    assert result.solve.status == "optimal"
    assert result.plan.score == _brute_force(request)
    assert result.solve.bound == pytest.approx(result.plan.score)


@pytest.mark.parametrize("seed", range(3))
def test_bench_choice_equals_brute_force_optimum(seed: int) -> None:
    request = ComposeRequest(size=4, roster=_small_roster(100 + seed, 6))
    result = optimize(request)
    assert result.plan.score == _brute_force(request)
    assert len(result.plan.bench) == 2


def test_unmet_needs_say_nobody_in_the_roster_can_provide_them() -> None:
    roster = tuple(RosterPlayer(name=f"p{i}", specs=("virtuoso", "deadeye")) for i in range(5))
    plan = optimize(ComposeRequest(size=5, roster=roster)).plan
    stab = next(u for u in plan.unmet if u.need == "stability")
    assert stab.reason.startswith("nobody in the roster can provide stability")
    assert "Firebrand" in stab.reason


def test_short_roster_is_placed_and_the_rest_are_open_slots() -> None:
    roster = (
        RosterPlayer(name="Ann", specs=("firebrand",)),
        RosterPlayer(name="Bo", specs=("tempest",)),
    )
    plan = optimize(ComposeRequest(size=10, roster=roster)).plan
    labels = [s.label for s in plan.slots]
    assert "Ann" in labels
    assert "Bo" in labels
    assert sum(1 for s in plan.slots if s.player is None) == 8
    assert plan.bench == ()


def test_locks_are_respected() -> None:
    roster = _small_roster(7, 8)
    target = roster[0]
    spec = target.specs[0]
    option = default_catalogue().options_for(spec)[0]
    request = ComposeRequest(
        size=5, roster=roster, locks=(Lock(player=target.name, spec=spec, role=option.role),)
    )
    plan = optimize(request).plan
    slot = next(s for s in plan.slots if s.player == target.name)
    assert (slot.spec, slot.role) == (spec, option.role)


def test_bad_requests_raise_user_facing_errors() -> None:
    with pytest.raises(CompositionError, match="Unknown spec"):
        optimize(ComposeRequest(size=5, roster=(RosterPlayer(name="a", specs=("Paladin",)),)))
    with pytest.raises(CompositionError, match="Unknown mode"):
        optimize(ComposeRequest(size=5, mode="blob"))
    with pytest.raises(CompositionError, match="cannot play"):
        optimize(
            ComposeRequest(
                size=5,
                roster=(RosterPlayer(name="a", specs=("tempest",)),),
                locks=(Lock(player="a", spec="firebrand"),),
            )
        )


def test_alternatives_are_distinct_and_not_better_than_the_optimum() -> None:
    request = ComposeRequest(size=10)
    results = alternatives(request, 3)
    signatures = [r.plan.signature for r in results]
    assert len(results) == 3
    assert len(set(signatures)) == 3
    scores = [r.plan.score for r in results]
    assert scores == sorted(scores, reverse=True)
    again = optimize(request, exclude=signatures[:1])
    assert again.plan.signature == signatures[1]


def test_score_plan_matches_the_optimizer_and_flags_violations() -> None:
    roster = _small_roster(3, 7)
    request = ComposeRequest(size=5, roster=roster)
    plan = optimize(request).plan
    score = score_plan(plan, request)
    assert score.valid
    assert score.total == plan.score
    broken_slot = plan.subgroups[0].slots[0].model_copy(update={"spec": "luminary"})
    group = plan.subgroups[0].model_copy(
        update={"slots": (broken_slot, *plan.subgroups[0].slots[1:])}
    )
    broken = plan.model_copy(update={"subgroups": (group,)})
    assert not score_plan(broken, request).valid


def test_build_plan_is_canonical_whatever_the_subgroup_order() -> None:
    request = ComposeRequest(size=10)
    problem = resolve(request)
    plan = optimize(request).plan
    raw = [
        [(s.player, problem.option_index[f"{s.spec}:{s.role}"]) for s in g.slots]
        for g in plan.subgroups
    ]
    shuffled = [list(reversed(g)) for g in reversed(raw)]
    assert build_plan(problem, shuffled).model_dump_json() == plan.model_dump_json()


def test_every_mode_plans_a_full_squad() -> None:
    for mode in ("zerg", "havoc", "roaming", "defense"):
        for size in (1, 3, 5, 12, 50):
            plan = optimize(ComposeRequest(size=size, mode=mode)).plan
            assert sum(len(g.slots) for g in plan.subgroups) == size


def _check_valid(request: ComposeRequest, result: OptimizeResult) -> None:
    plan = result.plan
    assert len(plan.slots) == request.size
    assert all(1 <= len(g.slots) <= 5 for g in plan.subgroups)
    score = score_plan(plan, request)
    assert score.valid, score.violations
    assert score.total == plan.score == result.solve.score


def _fallback_requests() -> list[ComposeRequest]:
    specs = sorted(default_catalogue().specs)
    rng = random.Random(5)
    roster = tuple(
        RosterPlayer(name=f"P{i}", specs=tuple(rng.sample(specs, rng.randint(1, 4))))
        for i in range(34)
    )
    return [
        ComposeRequest(size=30),
        ComposeRequest(size=30, roster=roster[:30]),
        ComposeRequest(size=12, roster=roster[:5], layout="fill"),
        ComposeRequest(
            size=25,
            roster=roster,
            locks=(Lock(player="P3", spec=roster[3].specs[0]),),
        ),
    ]


@pytest.mark.parametrize("request_index", range(4))
def test_fallback_when_the_time_limit_fires_is_valid_and_deterministic(
    request_index: int,
) -> None:
    request = _fallback_requests()[request_index]
    first = optimize(request, time_limit_s=0)
    assert (first.solve.method, first.solve.status) == ("heuristic", "time_limit")
    assert first.solve.bound is None
    assert first.solve.gap is None
    _check_valid(request, first)
    for lock in request.locks:
        slot = next(s for s in first.plan.slots if s.player == lock.player)
        assert slot.spec == default_catalogue().resolve_spec(lock.spec).key  # type: ignore[union-attr]
    again = optimize(request.model_copy(deep=True), time_limit_s=0)
    assert again.plan.model_dump_json() == first.plan.model_dump_json()
    exact = optimize(request)
    assert first.plan.score <= exact.solve.bound  # type: ignore[operator]


def test_fallback_when_the_solver_reports_a_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    def timed_out(*args: object, **kwargs: object) -> solver.HighsRun:
        return solver.HighsRun("time_limit", None, float("inf"), 0)

    monkeypatch.setattr(solver, "run_model", timed_out)
    request = _fallback_requests()[1]
    result = optimize(request)
    assert (result.solve.method, result.solve.status) == ("heuristic", "time_limit")
    _check_valid(request, result)
    assert optimize(request).plan.model_dump_json() == result.plan.model_dump_json()


def test_fallback_never_returns_an_excluded_plan() -> None:
    request = _fallback_requests()[0]
    first = optimize(request, time_limit_s=0)
    second = optimize(request, exclude=[first.plan.signature], time_limit_s=0)
    assert second.solve.method == "heuristic"
    assert second.plan.signature != first.plan.signature
    _check_valid(request, second)


@pytest.mark.parametrize("seed", range(3))
def test_large_rosters_report_an_honest_gap_of_at_most_one_percent(seed: int) -> None:
    specs = sorted(default_catalogue().specs)
    rng = random.Random(1000 + seed)
    roster = tuple(
        RosterPlayer(name=f"Player {i:02d}", specs=tuple(rng.sample(specs, rng.randint(1, 6))))
        for i in range(50)
    )
    request = ComposeRequest(size=50, roster=roster)
    result = optimize(request)
    info = result.solve
    assert info.method == "milp"
    assert info.bound is not None
    assert info.gap is not None
    assert info.bound >= info.score
    assert info.gap == pytest.approx((info.bound - info.score) / info.bound)
    assert info.gap <= 0.01
    if info.status == "optimal":
        assert info.bound == info.score
    else:
        assert info.status == "within_gap"
    _check_valid(request, result)
    again = optimize(request.model_copy(deep=True))
    assert again.plan.model_dump_json() == result.plan.model_dump_json()
    assert again.solve.model_dump(exclude={"seconds"}) == info.model_dump(exclude={"seconds"})
