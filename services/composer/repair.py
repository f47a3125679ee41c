"""Large-neighbourhood repair for big rosters: re-solve the subgroup that misses most together
with one other subgroup, the rest of the plan fixed, until the plan is within the gap target of
the proven bound. Cheaper than the full per-subgroup model, whose root work dominates there."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import highspy

from services.composer.highs import new_highs, set_start
from services.composer.model import PatternModel
from services.composer.problem import Problem
from services.composer.scoring import RawPlan, composition, raw_score
from services.composer.search import OptionTable, SearchSlot, improve, state_score, to_raw

__all__ = ["repair", "to_slots"]


def repair(
    table: OptionTable,
    model: PatternModel,
    state: list[list[SearchSlot]],
    score: int,
    deadline: float,
    goal: float,
) -> tuple[list[list[SearchSlot]], int, int] | None:
    """Large-neighbourhood repair of the subgroup that misses most: re-solve it together with
    one other subgroup at a time (the rest of the plan fixed), take the first improvement,
    polish it with local search, and repeat until the plan reaches ``goal`` or no pair helps.

    Deterministic (fixed order, node-limited sub-solves); None when the clock ran out.
    """
    problem = table.problem
    nodes = 0
    solves = 0
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return None
    highs = new_highs(model, remaining, REPAIR_NODES)  # one instance, bounds changed per pair
    # Most columns are fixed and the free part is two subgroups: presolve and symmetry detection
    # cost more than they save (measured: about a quarter of the repair time).
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("mip_detect_symmetry", False)
    for _ in range(REPAIR_ROUNDS):
        if score >= goal:
            break
        missing = [_missing_weight(problem, group) for group in state]
        by_missing = sorted(range(len(state)), key=lambda group: (-missing[group], group))
        by_redundancy = sorted(
            range(len(state)), key=lambda group: (-_redundancy(problem, state[group]), group)
        )
        pairs = [
            (worst, partner)
            for worst in by_missing[:REPAIR_WORST]
            for partner in by_redundancy
            if partner != worst
        ]
        improved = False
        tried: set[frozenset[int]] = set()
        for worst, partner in pairs:
            if frozenset((worst, partner)) in tried:
                continue
            if solves >= REPAIR_SOLVES:
                return state, score, nodes
            solves += 1
            tried.add(frozenset((worst, partner)))
            found = _solve_pair(highs, model, state, {worst, partner})
            if found is None:
                return None
            raw, extra = found
            nodes += extra
            value = sum(raw_score(problem, raw))
            if value > score and composition(raw) not in model.excluded:
                if model.score_cap is not None and value > model.score_cap:
                    continue
                state = to_slots(model, raw)
                state = improve(table, state, model.excluded, None)
                score = state_score(problem, state)
                improved = True
                break
        if not improved:
            break
    return state, score, nodes


REPAIR_ROUNDS = 8
REPAIR_SOLVES = 12  # pair sub-solves in all; past that the per-subgroup model is cheaper
REPAIR_WORST = 1  # the subgroup missing most weight, paired with every other subgroup in turn
REPAIR_NODES = 200


def _missing_weight(problem: Problem, group: Sequence[SearchSlot]) -> int:
    covered: set[str] = set()
    for slot in group:
        covered |= problem.profiles[slot.option]
    return len(group) * sum(
        weight for need, weight in problem.weights.items() if need not in covered
    )


def _redundancy(problem: Problem, group: Sequence[SearchSlot]) -> int:
    """Weighted needs provided more than once in the subgroup (what it could give away)."""
    counts: Counter[str] = Counter()
    for slot in group:
        counts.update(problem.profiles[slot.option])
    return sum(problem.weights[need] * (count - 1) for need, count in counts.items() if count > 1)


def _solve_pair(
    highs: highspy.Highs,
    model: PatternModel,
    state: list[list[SearchSlot]],
    free: set[int],
) -> tuple[RawPlan, int] | None:
    """The best plan that keeps every subgroup outside ``free`` as it is (profile counts)."""
    start = model.warm_values(state)
    if start is None:
        return to_raw(state), 0
    order = model.symmetry_order(state)
    fixed = {position for position, group in enumerate(order) if group not in free}
    for (position, _), column in [*model.v.items(), *model.cover.items()]:
        if position in fixed:
            highs.changeColBounds(column, start[column], start[column])
        else:
            highs.changeColBounds(column, model.lower[column], model.upper[column])
    set_start(highs, start)
    highs.run()
    info = highs.getInfo()
    if highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit:
        return None
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return to_raw(state), int(info.mip_node_count)
    return model.plan_from_values(list(highs.getSolution().col_value)), int(info.mip_node_count)


def to_slots(model: PatternModel, raw: RawPlan) -> list[list[SearchSlot]]:
    problem = model.problem
    class_of = {name: index for index, cls in enumerate(problem.classes) for name in cls.players}
    return [
        [
            SearchSlot(
                player, class_of[player] if player is not None else model.open_class(), option
            )
            for player, option in group
        ]
        for group in raw
    ]
