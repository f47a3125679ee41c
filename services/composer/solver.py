"""The solver driver: runs the integer models with HiGHS in deterministic stages and falls back
to the heuristic plan when the wall-clock safety net fires.

Stages: aggregated model → pack its composition into subgroups + local search → (if not yet
proven optimal) RINS around that plan → the per-subgroup model from that plan, stopped once
optimality is proven or, after a fixed number of HiGHS limit checks, once the proven gap is at
most the target. HiGHS runs with one thread and a fixed seed; every stop rule is a count, never a
clock, so the same input gives the same plan. The wall-clock limit is only a safety net: if it
fires, the deterministic fallback (greedy + local search) is used instead of whatever the solver
had.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import highspy

from services.composer.fallback import fallback_plan
from services.composer.highs import new_highs, set_start
from services.composer.model import EPS, PatternModel
from services.composer.models import OptimizeResult, SolveInfo
from services.composer.problem import Problem
from services.composer.repair import repair, to_slots
from services.composer.scoring import RawPlan, build_plan, composition, parse_signature, raw_score
from services.composer.search import (
    OptionTable,
    SearchSlot,
    composition_of,
    improve,
    pack,
    state_score,
    to_raw,
)

__all__ = ["DEFAULT_NODE_LIMIT", "DEFAULT_TIME_LIMIT_S", "GAP_TARGET", "solve_problem"]

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 3.0
DEFAULT_NODE_LIMIT = 20_000
# The exact model stops once optimality is proven or, after MIN_CHECKS of HiGHS's limit checks
# (a deterministic measure of effort), once the proven gap is at most GAP_TARGET.
GAP_TARGET = 0.01
MIN_CHECKS = 3
MIN_CHECKS_SMALL = 40  # squads of up to SMALL players: proving optimality is cheap
SMALL = 20
RINS_NODES = 500

Status = Literal["optimal", "within_gap", "node_limit", "time_limit", "infeasible_exclusions"]


def solve_problem(
    problem: Problem,
    *,
    exclude: Iterable[str] = (),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    node_limit: int = DEFAULT_NODE_LIMIT,
    score_cap: int | None = None,
) -> OptimizeResult:
    """Solve a resolved problem: aggregated model, disaggregation, exact model, fallback.

    With exclusions (a reroll) the plan is the best one, *proven optimal* rather than within
    the 1 % target, among the compositions not excluded that score at most ``score_cap``
    (default: the score of the plan without exclusions, which the same input reproduces
    exactly). So a reroll never beats the first plan and rerolls come best first.
    ``time_limit_s <= 0`` skips the solver and returns the deterministic fallback.
    """
    started = time.perf_counter()
    deadline = started + time_limit_s
    excluded = [
        comp
        for comp in (parse_signature(problem, text) for text in sorted(set(exclude)))
        if comp is not None
    ]
    table = OptionTable(problem)
    gap_target = GAP_TARGET
    if excluded and time_limit_s > 0:
        gap_target = 0.0
        if score_cap is None:
            first = _solve_exact(table, [], deadline, node_limit, GAP_TARGET, None)
            if first.raw is not None and first.status in {"optimal", "node_limit"}:
                score_cap = sum(raw_score(problem, first.raw))
    outcome = (
        _solve_exact(table, excluded, deadline, node_limit, gap_target, score_cap)
        if time_limit_s > 0
        else Outcome("time_limit", None, None, 0)
    )
    method: Literal["milp", "heuristic"]
    status: Status
    if outcome.status in {"optimal", "node_limit"} and outcome.raw is not None:
        raw = outcome.raw
        method = "milp"
        status = "optimal" if outcome.status == "optimal" else "node_limit"
        bound = outcome.bound
    else:
        if outcome.status == "time_limit":
            log.warning(
                "composer solver hit its %.2fs time limit; using the heuristic", time_limit_s
            )
        raw = to_raw(fallback_plan(table, excluded))
        method = "heuristic"
        status = "infeasible_exclusions" if outcome.status == "infeasible" else "time_limit"
        bound = None
    plan = build_plan(problem, raw)
    gap = None if bound is None else max(0.0, (bound - plan.score) / max(1.0, abs(bound)))
    if status == "node_limit" and gap is not None and gap <= GAP_TARGET:
        status = "within_gap"
    info = SolveInfo(
        method=method,
        status=status,
        score=plan.score,
        bound=bound,
        gap=gap,
        nodes=outcome.nodes,
        seconds=round(time.perf_counter() - started, 6),
    )
    return OptimizeResult(plan=plan, solve=info)


@dataclass
class Outcome:
    """What the exact stages produced."""

    status: str  # optimal | node_limit | time_limit | infeasible
    raw: RawPlan | None
    bound: float | None
    nodes: int


@dataclass
class HighsRun:
    """One HiGHS solve of a model."""

    status: str  # optimal | stopped | time_limit | infeasible
    values: list[float] | None
    bound: float
    nodes: int


def _solve_exact(
    table: OptionTable,
    excluded: Sequence[Counter[int]],
    deadline: float,
    node_limit: int,
    gap_target: float,
    score_cap: int | None,
) -> Outcome:
    """The deterministic stages; any wall-clock limit makes the whole result a time limit.

    1. The *aggregated* model (subgroups of equal size pooled) is a relaxation without the
       subgroup symmetry: its optimum is a proven upper bound and its composition a good start.
    2. That composition is packed into subgroups and improved by local search.
    3. If that plan is more than 0.8 × ``gap_target`` below the bound: RINS around it.
    4. Unless the plan already meets the bound (or, for large rosters, is already within
       ``gap_target`` of it), the per-subgroup model continues from it and stops when
       optimality is proven or, after ``min_checks`` HiGHS limit checks, when the proven gap
       (against the better of both models' bounds) is at most ``gap_target``.
       With ``score_cap`` both models only admit plans scoring at most the cap, and a heuristic
       plan above it is dropped.
       The result's status is ``optimal`` only when the plan meets the proven bound, otherwise
       ``node_limit`` with that proven bound and gap.
    """
    problem = table.problem
    aggregated = PatternModel(problem, excluded, aggregate=True, score_cap=score_cap)
    first = run_model(aggregated, deadline, node_limit)
    if first.status in {"infeasible", "time_limit"} or first.values is None:
        return Outcome(first.status, None, None, first.nodes)
    nodes = first.nodes
    bound = floor_bound(first.bound)
    units = [unit for _, spec_units in aggregated.units(first.values) for unit in spec_units]
    state = improve(table, pack(table, units), excluded, aggregated.allowed_options())
    goal = math.ceil((1 - gap_target * 0.8) * bound) if math.isfinite(bound) else 0
    score = state_score(problem, state)
    if composition_of(state) in excluded:  # cannot happen: packing keeps the composition
        score = -1
    if score_cap is not None and score > score_cap:
        score = -1
    if score >= bound:
        return Outcome("optimal", to_raw(state), float(score), nodes)
    full = PatternModel(problem, excluded, score_cap=score_cap)
    if 0 <= score < goal:
        state, score, extra = neighbourhood(full, state, score, deadline, goal)
        nodes += extra
    small = problem.size <= SMALL or not problem.has_roster
    if not small and gap_target > 0 and score >= 0 and bound - score > gap_target * bound:
        repaired = repair(table, full, state, score, deadline, (1 - gap_target) * bound)
        if repaired is None:
            return Outcome("time_limit", None, None, nodes)
        state, score, extra = repaired
        nodes += extra
    if not small and score >= 0 and bound - score <= gap_target * bound:
        # Large rosters: proven within the target already, as step 4 would accept at once.
        return Outcome("node_limit", to_raw(state), bound, nodes)
    second = run_model(
        full,
        deadline,
        node_limit,
        warm=state if score >= 0 else None,
        known_bound=bound,
        min_checks=MIN_CHECKS_SMALL if small else MIN_CHECKS,
        gap_target=gap_target,
    )
    nodes += second.nodes
    if second.status == "time_limit":
        return Outcome("time_limit", None, None, nodes)
    if second.status == "infeasible":  # only when stage 2 is excluded, which cannot happen
        return Outcome("infeasible", None, None, nodes)
    raw = to_raw(state)
    if second.values is not None:
        bound = min(bound, floor_bound(second.bound))
        candidate = full.plan_from_values(second.values)
        value = sum(raw_score(problem, candidate))
        if value > score and composition(candidate) not in excluded:
            raw, score = candidate, value
    if score < 0:
        return Outcome("time_limit", None, None, nodes)
    bound = max(bound, score)
    return Outcome("optimal" if score >= bound else "node_limit", raw, bound, nodes)


def floor_bound(bound: float) -> float:
    """A proven bound rounded down to the integer scores (infinite stays infinite)."""
    return float(math.floor(bound + EPS)) if math.isfinite(bound) else bound


def neighbourhood(
    model: PatternModel,
    state: list[list[SearchSlot]],
    score: int,
    deadline: float,
    goal: int,
) -> tuple[list[list[SearchSlot]], int, int]:
    """RINS: integer columns where ``state`` agrees with the LP relaxation are fixed and the rest
    is searched (``RINS_NODES`` nodes, stop at ``goal``). Returns the better plan and the nodes."""
    problem = model.problem
    start = model.warm_values(state)
    remaining = deadline - time.perf_counter()
    if start is None or remaining <= 0:
        return state, score, 0
    highs = new_highs(model, remaining, RINS_NODES)
    highs.setOptionValue("solve_relaxation", True)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return state, score, 0
    relaxed = list(highs.getSolution().col_value)
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return state, score, 0
    highs = new_highs(model, remaining, RINS_NODES)
    for column, (lp_value, value) in enumerate(zip(relaxed, start, strict=True)):
        if model.integer[column] and abs(lp_value - value) < EPS:
            highs.changeColBounds(column, value, value)
    set_start(highs, start)
    highs.setOptionValue("objective_target", float(goal))
    highs.run()
    info = highs.getInfo()
    nodes = int(info.mip_node_count)
    if (
        highs.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        or info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible
    ):
        return state, score, nodes
    raw = model.plan_from_values(list(highs.getSolution().col_value))
    value = sum(raw_score(problem, raw))
    if value <= score or composition(raw) in model.excluded:
        return state, score, nodes
    better = to_slots(model, raw)
    return better, int(value), nodes


def run_model(
    model: PatternModel,
    deadline: float,
    node_limit: int,
    *,
    warm: Sequence[Sequence[SearchSlot]] | None = None,
    known_bound: float | None = None,
    min_checks: int = MIN_CHECKS,
    gap_target: float = GAP_TARGET,
) -> HighsRun:
    """Solve ``model``; with ``known_bound``, stop early once the proven gap is small enough.

    The early stop is decided in HiGHS's limit-check callback from the solver's own state
    (how many checks so far, its incumbent, ``min(known_bound, its dual bound)``), so it is
    as deterministic as the search itself.
    """
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return HighsRun("time_limit", None, math.inf, 0)
    highs = new_highs(model, remaining, node_limit)
    if warm is not None:
        start = model.warm_values(warm)
        if start is not None:
            set_start(highs, start)
    stopped = False
    if known_bound is not None:
        cap = known_bound
        checks = 0

        def check(event: Any) -> None:
            nonlocal checks, stopped
            checks += 1
            primal = float(event.data_out.mip_primal_bound)
            bound = min(cap, float(event.data_out.mip_dual_bound))
            if not (math.isfinite(primal) and math.isfinite(bound)):
                return
            if floor_bound(bound) <= primal or (
                checks >= min_checks and bound - primal <= gap_target * abs(bound)
            ):
                stopped = True
                event.interrupt()

        highs.cbMipInterrupt.subscribe(check)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    nodes = int(info.mip_node_count)
    model_status = highspy.HighsModelStatus
    if status == model_status.kInfeasible:
        return HighsRun("infeasible", None, -math.inf, nodes)
    if status == model_status.kTimeLimit:
        return HighsRun("time_limit", None, math.inf, nodes)
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = math.inf
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return HighsRun("stopped", None, bound, nodes)
    values = list(highs.getSolution().col_value)
    if status == model_status.kOptimal and not stopped:
        bound = min(bound, float(info.objective_function_value) + 1 - EPS)
        return HighsRun("optimal", values, bound, nodes)
    return HighsRun("stopped", values, bound, nodes)
