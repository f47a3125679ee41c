"""The squad optimizer: an integer model over spec *profiles*, solved in deterministic stages,
with a deterministic local-search fallback.

Formulation (details in ``docs/composer.md``):

* Players only matter through the options (spec × role) they can play, so the model counts
  ``x[pool, spec]`` and ``y[o]`` = slots playing option ``o``; the free roster is a single pool.
* Inside a subgroup only the *profile* of an option matters (the weighted needs it covers), so each
  subgroup ``g`` holds counts ``v[g, p]`` of profiles; options without a profile are fillers.
* ``cover[g, b] <= sum of v[g, p] over profiles p that give need b``; squad-wide needs are
  ``u[t] <= sum a[o, t] * y[o]`` capped at the target. Objective = the integer plan score.
* The *aggregated* model pools the subgroups of one size (``cover`` counts how many of them cover
  ``b``): a symmetry-free relaxation whose optimum is a proven upper bound.

Stages: aggregated model → pack its composition into subgroups + local search → (if not yet
proven optimal) RINS around that plan → the per-subgroup model from that plan, stopped once
optimality is proven or, after a fixed number of HiGHS limit checks, once the proven gap is at
most 1 %. HiGHS runs with one thread and a fixed seed; every stop rule is a count, never a clock,
so the same input gives the same plan. The wall-clock limit is only a safety net: if it fires,
the deterministic fallback (greedy + local search) is used instead of whatever the solver had.
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
import numpy as np

from services.composer.catalogue import Catalogue
from services.composer.models import ComposeRequest, OptimizeResult, SolveInfo
from services.composer.problem import Problem, resolve
from services.composer.scoring import (
    RawPlan,
    build_plan,
    composition,
    parse_signature,
    raw_score,
    signature_of,
)

__all__ = [
    "DEFAULT_NODE_LIMIT",
    "DEFAULT_TIME_LIMIT_S",
    "alternatives",
    "optimize",
    "solve_problem",
]

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 3.0
DEFAULT_NODE_LIMIT = 20_000
_SEED = 20240720
# The exact model stops once optimality is proven or, after _MIN_CHECKS of HiGHS's limit checks
# (a deterministic measure of effort), once the proven gap is at most _GAP_TARGET.
_GAP_TARGET = 0.01
_MIN_CHECKS = 3
_MIN_CHECKS_SMALL = 40  # squads of up to _SMALL players: proving optimality is cheap
_SMALL = 20
_RINS_NODES = 500
_EPS = 1e-6

# A slot while searching: (player or None, class index, option index).
_Slot = tuple[str | None, int, int]


def optimize(
    request: ComposeRequest,
    *,
    exclude: Iterable[str] = (),
    catalogue: Catalogue | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    node_limit: int = DEFAULT_NODE_LIMIT,
) -> OptimizeResult:
    """The best plan for ``request`` whose signature is not in ``exclude``.

    Blocking (tens of milliseconds, more for hard rosters): call it from a worker thread. Raises
    :class:`~services.composer.problem.CompositionError` for requests that cannot be planned.
    """
    return solve_problem(
        resolve(request, catalogue),
        exclude=exclude,
        time_limit_s=time_limit_s,
        node_limit=node_limit,
    )


def alternatives(
    request: ComposeRequest,
    count: int,
    *,
    exclude: Iterable[str] = (),
    catalogue: Catalogue | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    node_limit: int = DEFAULT_NODE_LIMIT,
) -> list[OptimizeResult]:
    """Up to ``count`` plans with distinct compositions, best first ("reroll")."""
    problem = resolve(request, catalogue)
    seen = list(exclude)
    results: list[OptimizeResult] = []
    for _ in range(count):
        result = solve_problem(
            problem, exclude=seen, time_limit_s=time_limit_s, node_limit=node_limit
        )
        if result.solve.status == "infeasible_exclusions" or result.plan.signature in seen:
            break
        results.append(result)
        seen.append(result.plan.signature)
    return results


def solve_problem(
    problem: Problem,
    *,
    exclude: Iterable[str] = (),
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    node_limit: int = DEFAULT_NODE_LIMIT,
) -> OptimizeResult:
    """Solve a resolved problem: aggregated model, disaggregation, exact model, fallback.

    ``time_limit_s <= 0`` skips the solver and returns the deterministic fallback.
    """
    started = time.perf_counter()
    excluded = [
        c for c in (parse_signature(problem, s) for s in sorted(set(exclude))) if c is not None
    ]
    outcome = (
        _solve_exact(problem, excluded, started + time_limit_s, node_limit)
        if time_limit_s > 0
        else _Outcome("time_limit", None, None, 0)
    )
    method: Literal["milp", "heuristic"]
    status: Literal["optimal", "within_gap", "node_limit", "time_limit", "infeasible_exclusions"]
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
        raw = _to_raw(_fallback(problem, excluded))
        method = "heuristic"
        status = "infeasible_exclusions" if outcome.status == "infeasible" else "time_limit"
        bound = None
    plan = build_plan(problem, raw)
    gap = None if bound is None else max(0.0, (bound - plan.score) / max(1.0, abs(bound)))
    if status == "node_limit" and gap is not None and gap <= _GAP_TARGET:
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


def _solve_exact(
    problem: Problem, excluded: Sequence[Counter[int]], deadline: float, node_limit: int
) -> _Outcome:
    """The deterministic stages; any wall-clock limit makes the whole result a time limit.

    1. The *aggregated* model (subgroups of equal size pooled) is a relaxation without the
       subgroup symmetry: its optimum is a proven upper bound and its composition a good start.
    2. That composition is packed into subgroups and improved by local search.
    3. If that plan is more than 0.8 × ``_GAP_TARGET`` below the bound: RINS around it.
    4. Unless the plan already meets the bound (or, for large rosters, is already within
       ``_GAP_TARGET`` of it), the per-subgroup model continues from it and stops when
       optimality is proven or, after ``min_checks`` HiGHS limit checks, when the proven gap
       (against the better of both models' bounds) is at most ``_GAP_TARGET``.
       The result's status is ``optimal`` only when the plan meets the proven bound, otherwise
       ``node_limit`` with that proven bound and gap.
    """
    agg = _Milp(problem, excluded, aggregate=True)
    first = agg.run(deadline, node_limit)
    if first.status in {"infeasible", "time_limit"} or first.values is None:
        return _Outcome(first.status, None, None, first.nodes)
    nodes = first.nodes
    bound = _floor(first.bound)
    state = _pack(problem, [pair for _, pairs in agg._pairs(first.values) for pair in pairs])
    allowed = agg.allowed_options()
    state = _improve(problem, state, excluded, allowed)
    goal = math.ceil((1 - _GAP_TARGET * 0.8) * bound) if math.isfinite(bound) else 0
    scorer = _Scorer(problem)
    score = _state_score(scorer, state)
    if _composition(state) in excluded:  # cannot happen: packing keeps the composition
        score = -1
    if score >= bound:
        return _Outcome("optimal", _to_raw(state), float(score), nodes)
    full = _Milp(problem, excluded)
    if score < goal:
        state, score, extra = full.neighbourhood(state, score, deadline, goal)
        nodes += extra
    small = problem.size <= _SMALL or not problem.has_roster
    if not small and score >= 0 and bound - score <= _GAP_TARGET * bound:
        # Large rosters: proven within the target already, as step 4 would accept at once.
        return _Outcome("node_limit", _to_raw(state), bound, nodes)
    second = full.run(
        deadline,
        node_limit,
        warm=state if score >= 0 else None,
        known_bound=bound,
        min_checks=_MIN_CHECKS_SMALL if small else _MIN_CHECKS,
    )
    nodes += second.nodes
    if second.status == "time_limit":
        return _Outcome("time_limit", None, None, nodes)
    if second.status == "infeasible":  # only when stage 2 is excluded, which cannot happen
        return _Outcome("infeasible", None, None, nodes)
    raw = _to_raw(state)
    if second.values is not None:
        bound = min(bound, _floor(second.bound))
        candidate = full._raw(second.values)
        value = sum(raw_score(problem, candidate))
        if value > score and composition(candidate) not in excluded:
            raw, score = candidate, value
    if score < 0:
        return _Outcome("time_limit", None, None, nodes)
    bound = max(bound, score)
    return _Outcome("optimal" if score >= bound else "node_limit", raw, bound, nodes)


def _floor(bound: float) -> float:
    """A proven bound rounded down to the integer scores (infinite stays infinite)."""
    return float(math.floor(bound + _EPS)) if math.isfinite(bound) else bound


def _fallback(problem: Problem, excluded: Sequence[Counter[int]]) -> list[list[_Slot]]:
    """The deterministic heuristic plan: greedy, then local search (never an excluded plan)."""
    state = _improve(problem, _greedy(problem), excluded, None)
    if _composition(state) in excluded:
        sigs = {signature_of(problem, [[(None, o) for o in c.elements()]]) for c in excluded}
        state = _local_search(problem, state, sigs, max_rounds=50)
    return state


def _composition(state: Sequence[Sequence[_Slot]]) -> Counter[int]:
    return Counter(o for group in state for _, _, o in group)


def _signature(problem: Problem, state: Sequence[Sequence[_Slot]]) -> str:
    return signature_of(problem, _to_raw(state))


def _to_raw(state: Sequence[Sequence[_Slot]]) -> RawPlan:
    return tuple(tuple((p, o) for p, _, o in group) for group in state)


# --------------------------------------------------------------------------------------------
# Greedy warm start and local search (the deterministic fallback)
# --------------------------------------------------------------------------------------------


class _Scorer:
    """Incremental score bookkeeping for the heuristics."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.weights = problem.weights
        self.profiles = problem.profiles
        self.squad = [
            {n: a for n, a in o.squad.items() if n in problem.targets and a > 0}
            for o in problem.options
        ]
        self.pref = [o.preference for o in problem.options]

    def squad_gain(self, totals: Counter[str], opt: int, sign: int = 1) -> int:
        gain = 0
        for need, amount in self.squad[opt].items():
            target, weight = self.problem.targets[need]
            have = totals[need]
            gain += weight * (min(have + sign * amount, target) - min(have, target))
        return gain


def _greedy(problem: Problem) -> list[list[_Slot]]:
    """Fill slots one by one with the (option, subgroup) of largest marginal score."""
    scorer = _Scorer(problem)
    sizes = problem.sizes
    groups: list[list[_Slot]] = [[] for _ in sizes]
    counts: list[Counter[str]] = [Counter() for _ in sizes]
    totals: Counter[str] = Counter()
    remaining = [c.count for c in problem.classes]
    players = [list(c.players) for c in problem.classes]
    phases = [
        [i for i, c in enumerate(problem.classes) if c.required and not c.is_open],
        [i for i, c in enumerate(problem.classes) if not (c.required and not c.is_open)],
    ]
    slots_left = problem.size
    for phase in phases:
        while slots_left and any(remaining[i] for i in phase):
            live = [i for i in phase if remaining[i]]
            opts = sorted({o for i in live for o in problem.classes[i].options})
            best: tuple[int, int, int] | None = None  # (gain, -group, -opt) maximised
            best_pick = (0, 0)
            seen_groups: set[tuple[int, tuple[tuple[str, int], ...]]] = set()
            group_order = []
            for g, size in enumerate(sizes):
                if len(groups[g]) >= size:
                    continue
                sig = (size, tuple(sorted(b for b, n in counts[g].items() if n)))
                key = (size, tuple((b, 1) for b in sig[1]))
                if key in seen_groups:
                    continue
                seen_groups.add(key)
                group_order.append(g)
            for opt in opts:
                base = scorer.squad_gain(totals, opt) + scorer.pref[opt]
                for g in group_order:
                    covered = counts[g]
                    gain = base + sizes[g] * sum(
                        scorer.weights[b] for b in scorer.profiles[opt] if not covered[b]
                    )
                    cand = (gain, -g, -opt)
                    if best is None or cand > best:
                        best = cand
                        best_pick = (g, opt)
            g, opt = best_pick
            cls = min(
                (i for i in live if opt in problem.classes[i].options),
                key=lambda i: (len(problem.classes[i].options), problem.classes[i].key),
            )
            player = players[cls].pop(0) if players[cls] else None
            remaining[cls] -= 1
            groups[g].append((player, cls, opt))
            counts[g].update(scorer.profiles[opt])
            totals.update(scorer.squad[opt])
            slots_left -= 1
    return groups


def _state_score(scorer: _Scorer, state: Sequence[Sequence[_Slot]]) -> int:
    sub, squad, pref = raw_score(scorer.problem, _to_raw(state))
    return sub + squad + pref


def _local_search(
    problem: Problem,
    start: Sequence[Sequence[_Slot]],
    excluded: set[str],
    *,
    max_rounds: int,
) -> list[list[_Slot]]:
    """Best-improvement local search (re-spec, swap across subgroups, bench swap); deterministic.

    Plans whose signature is excluded are never accepted as the result.
    """
    scorer = _Scorer(problem)
    state = [list(g) for g in start]
    classes = problem.classes
    used = Counter(c for g in state for _, c, _ in g)
    bench: dict[int, list[str]] = {
        i: [p for p in c.players if p not in {s[0] for g in state for s in g}]
        for i, c in enumerate(classes)
    }

    def neighbours() -> Iterable[list[list[_Slot]]]:
        for g, group in enumerate(state):
            for i, (player, cls, opt) in enumerate(group):
                for new in classes[cls].options:
                    if new != opt:
                        cand = [list(x) for x in state]
                        cand[g][i] = (player, cls, new)
                        yield cand
                if not classes[cls].required:
                    for other, oc in enumerate(classes):
                        if (
                            other == cls
                            or oc.required
                            or used[other] >= oc.count
                            or not bench[other]
                        ):
                            continue
                        for new in oc.options:
                            cand = [list(x) for x in state]
                            cand[g][i] = (bench[other][0], other, new)
                            yield cand
        for g in range(len(state)):
            for h in range(g + 1, len(state)):
                for i, a in enumerate(state[g]):
                    for j, b in enumerate(state[h]):
                        if a[2] == b[2]:
                            continue
                        cand = [list(x) for x in state]
                        cand[g][i], cand[h][j] = b, a
                        yield cand

    current = (
        _state_score(scorer, state) if _signature(problem, state) not in excluded else -(10**9)
    )
    for _ in range(max_rounds):
        best_score = current
        best_state: list[list[_Slot]] | None = None
        for cand in neighbours():
            score = _state_score(scorer, cand)
            if score > best_score and _signature(problem, cand) not in excluded:
                best_score, best_state = score, cand
        if best_state is None:
            break
        state, current = best_state, best_score
        used = Counter(c for g in state for _, c, _ in g)
        placed = {s[0] for g in state for s in g}
        bench = {i: [p for p in c.players if p not in placed] for i, c in enumerate(classes)}
    return state


def _pack(problem: Problem, pairs: Sequence[tuple[int, int]]) -> list[list[_Slot]]:
    """Place (class, option) units into subgroups: richest profiles first, largest gain."""
    weights, profiles, sizes = problem.weights, problem.profiles, problem.sizes
    groups: list[list[_Slot]] = [[] for _ in sizes]
    counts: list[Counter[str]] = [Counter() for _ in sizes]
    names = {ci: list(c.players) for ci, c in enumerate(problem.classes)}
    order = sorted(
        pairs,
        key=lambda t: (
            -sum(weights[b] for b in profiles[t[1]]),
            problem.options[t[1]].key,
            problem.classes[t[0]].key,
        ),
    )
    for ci, o in order:
        best: tuple[int, int, int] | None = None
        for g, size in enumerate(sizes):
            if len(groups[g]) < size:
                gain = size * sum(weights[b] for b in profiles[o] if not counts[g][b])
                cand = (gain, -len(groups[g]), -g)
                if best is None or cand > best:
                    best = cand
        assert best is not None  # the model never places more units than there are slots
        g = -best[2]
        groups[g].append((names[ci].pop(0) if names[ci] else None, ci, o))
        counts[g].update(profiles[o])
    return groups


def _improve(
    problem: Problem,
    start: Sequence[Sequence[_Slot]],
    excluded: Sequence[Counter[int]],
    allowed: Sequence[Sequence[int]] | None,
    *,
    max_rounds: int = 500,
) -> list[list[_Slot]]:
    """Fast best-improvement local search with incremental scores; deterministic.

    Moves: re-spec a slot (``allowed[class]`` options, default: all the class can play), bring a
    benched player in for a slot of an optional class, swap two slots across subgroups. A move
    that makes the composition an excluded one is never taken. Needs are bit masks, so a swap is
    scored with a few integer operations.
    """
    sizes, targets, classes = problem.sizes, problem.targets, problem.classes
    needs = sorted(problem.weights)
    weigh = _MaskWeight([problem.weights[b] for b in needs])
    mask = [sum(1 << k for k, b in enumerate(needs) if b in prof) for prof in problem.profiles]
    bits = [[k for k in range(len(needs)) if m >> k & 1] for m in mask]
    options = allowed if allowed is not None else [c.options for c in classes]
    squad = [{n: a for n, a in o.squad.items() if n in targets and a > 0} for o in problem.options]
    pref = [o.preference for o in problem.options]
    flat = [(player, ci, o, g) for g, group in enumerate(start) for player, ci, o in group]
    who = [t[0] for t in flat]
    cls = [t[1] for t in flat]
    opt = [t[2] for t in flat]
    grp = [t[3] for t in flat]
    counts = [[0] * len(needs) for _ in sizes]
    totals: Counter[str] = Counter()
    comp: Counter[int] = Counter(opt)
    for o, g in zip(opt, grp, strict=True):
        for k in bits[o]:
            counts[g][k] += 1
        totals.update(squad[o])
    covered = [0] * len(sizes)  # needs with at least one provider in the subgroup
    single = [0] * len(sizes)  # needs with exactly one provider

    def refresh(g: int) -> None:
        row = counts[g]
        covered[g] = sum(1 << k for k, n in enumerate(row) if n)
        single[g] = sum(1 << k for k, n in enumerate(row) if n == 1)

    def place(g: int, o: int, sign: int) -> None:
        for k in bits[o]:
            counts[g][k] += sign

    for g in range(len(sizes)):
        refresh(g)
    placed = set(who)
    bench = {
        ci: [p for p in c.players if p not in placed]
        for ci, c in enumerate(classes)
        if not c.required
    }

    def cover_gain(g: int, lose: int, get: int) -> int:
        return weigh(get & ~lose & ~covered[g]) - weigh(lose & ~get & single[g])

    def respec_gain(g: int, o: int, new: int) -> int:
        gain = pref[new] - pref[o] + sizes[g] * cover_gain(g, mask[o], mask[new])
        for need in squad[o].keys() | squad[new].keys():
            target, weight = targets[need]
            have = totals[need]
            now = have - squad[o].get(need, 0) + squad[new].get(need, 0)
            gain += weight * (min(now, target) - min(have, target))
        return gain

    def allowed_comp(o: int, new: int) -> bool:
        if not excluded:
            return True
        comp[o] -= 1
        comp[new] += 1
        ok = comp not in excluded
        comp[o] += 1
        comp[new] -= 1
        return ok

    n = len(opt)
    for _ in range(max_rounds):
        best = 0
        move: tuple[int, int, int, int] | None = None  # (kind, slot, other slot or class, option)
        for i in range(n):
            ci, o, g = cls[i], opt[i], grp[i]
            for new in options[ci]:
                if new != o:
                    gain = respec_gain(g, o, new)
                    if gain > best and allowed_comp(o, new):
                        best, move = gain, (0, i, ci, new)
            if ci in bench:
                for cj, waiting in bench.items():
                    if cj == ci or not waiting:
                        continue
                    for new in options[cj]:
                        gain = respec_gain(g, o, new)
                        if gain > best and allowed_comp(o, new):
                            best, move = gain, (1, i, cj, new)
        for i in range(n):
            gi, mi = grp[i], mask[opt[i]]
            cov_i, one_i, size_i = ~covered[gi], single[gi], sizes[gi]
            for j in range(i + 1, n):
                gj, mj = grp[j], mask[opt[j]]
                if gi == gj or mi == mj:
                    continue
                gain = size_i * (weigh(mj & ~mi & cov_i) - weigh(mi & ~mj & one_i)) + sizes[gj] * (
                    weigh(mi & ~mj & ~covered[gj]) - weigh(mj & ~mi & single[gj])
                )
                if gain > best:
                    best, move = gain, (2, i, j, -1)
        if move is None:
            break
        kind, i, j, new = move
        if kind == 2:
            gi, gj = grp[i], grp[j]
            place(gi, opt[i], -1)
            place(gi, opt[j], 1)
            place(gj, opt[j], -1)
            place(gj, opt[i], 1)
            grp[i], grp[j] = gj, gi
            refresh(gi)
            refresh(gj)
            continue
        player, ci, o, g = who[i], cls[i], opt[i], grp[i]
        place(g, o, -1)
        place(g, new, 1)
        refresh(g)
        totals.subtract(squad[o])
        totals.update(squad[new])
        comp[o] -= 1
        comp[new] += 1
        if kind == 1 and player is not None:
            bench[ci] = sorted([*bench[ci], player])
            who[i], cls[i] = bench[j].pop(0), j
        opt[i] = new
    out: list[list[_Slot]] = [[] for _ in sizes]
    for player, ci, o, g in zip(who, cls, opt, grp, strict=True):
        out[g].append((player, ci, o))
    return out


class _MaskWeight:
    """Total weight of a bit mask of needs, by table look-up per byte."""

    def __init__(self, weights: Sequence[int]) -> None:
        self.tables = [
            [
                sum(w for k, w in enumerate(weights[base : base + 8]) if byte >> k & 1)
                for byte in range(256)
            ]
            for base in range(0, max(1, len(weights)), 8)
        ]
        self.full = (1 << len(weights)) - 1

    def __call__(self, mask: int) -> int:
        mask &= self.full
        total = 0
        for table in self.tables:
            total += table[mask & 255]
            mask >>= 8
        return total


# --------------------------------------------------------------------------------------------
# The exact model
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str  # optimal | node_limit | time_limit | infeasible
    raw: RawPlan | None
    bound: float | None
    nodes: int


@dataclass
class _Run:
    status: str  # optimal | stopped | time_limit | infeasible
    values: list[float] | None
    bound: float
    nodes: int


class _Milp:
    """The pattern-count integer model for one problem (see the module docstring)."""

    def __init__(
        self, problem: Problem, excluded: Sequence[Counter[int]], *, aggregate: bool = False
    ) -> None:
        self.problem = problem
        self.excluded = excluded
        # Subgroups as (size, how many): one each, or pooled by size in the aggregated model.
        sizes = Counter(problem.sizes)
        self.groups: list[tuple[int, int]] = (
            [(size, sizes[size]) for size in sorted(sizes, reverse=True)]
            if aggregate
            else [(size, 1) for size in problem.sizes]
        )
        # Dominated specs/options never improve a plan, but exclusions may need them.
        self.prune = not excluded
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[list[int], list[float], float, float]] = []
        self._build()

    def _col(self, cost: float, lower: float, upper: float, integer: bool) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(1 if integer else 0)
        return len(self.cost) - 1

    def _row(self, entries: dict[int, float], lower: float, upper: float) -> None:
        idx = sorted(entries)
        self.rows.append((idx, [entries[i] for i in idx], lower, upper))

    def _build(self) -> None:
        p = self.problem
        inf = highspy.kHighsInf
        n = p.size
        groups = self.groups
        # Pools: classes merged when, after dropping dominated specs, they play the same specs.
        spec_of = [o.spec.key for o in p.options]
        self.pool_of: dict[int, int] = {}
        pool_keys: dict[tuple[tuple[str, ...], tuple[int, ...], bool], int] = {}
        self.pools: list[tuple[tuple[str, ...], tuple[int, ...], bool, list[int]]] = []
        for ci, cls in enumerate(p.classes):
            locked_role = len({spec_of[o] for o in cls.options}) == 1 and len(cls.options) < len(
                [o for o in range(len(p.options)) if spec_of[o] == spec_of[cls.options[0]]]
            )
            specs = tuple(sorted({spec_of[o] for o in cls.options}))
            role = tuple(cls.options) if locked_role else ()
            if not role and self.prune:
                specs = _undominated_specs(p, specs)
            key = (specs, role, cls.required)
            if key not in pool_keys:
                pool_keys[key] = len(self.pools)
                self.pools.append((specs, role, cls.required, []))
            self.pools[pool_keys[key]][3].append(ci)
            self.pool_of[ci] = pool_keys[key]
        # x[q, s]: players of pool q playing spec s; y[o]: slots playing option o.
        self.x: dict[tuple[int, str], int] = {}
        for qi, (specs, _, _, members) in enumerate(self.pools):
            count = sum(p.classes[ci].count for ci in members)
            for spec in specs:
                self.x[(qi, spec)] = self._col(0, 0, count, True)
        playable_specs = sorted({spec for _, spec in self.x})
        dropped = _dominated_options(p) if self.prune else frozenset()
        locked_options = {o for _, role, _, _ in self.pools for o in role}
        self.y: dict[int, int] = {}
        for o, option in enumerate(p.options):
            if option.spec.key in playable_specs and (o not in dropped or o in locked_options):
                self.y[o] = self._col(option.preference, 0, n, True)
        by_option = {o: [col] for o, col in self.y.items()}
        self.by_option = by_option
        for qi, (specs, _, required, members) in enumerate(self.pools):
            count = sum(p.classes[ci].count for ci in members)
            self._row({self.x[(qi, spec)]: 1.0 for spec in specs}, count if required else 0, count)
        self._row(dict.fromkeys(self.x.values(), 1.0), n, n)
        for spec in playable_specs:
            spec_entries = {col: 1.0 for (_, s), col in self.x.items() if s == spec}
            for o, col in self.y.items():
                if spec_of[o] == spec:
                    spec_entries[col] = -1.0
            self._row(spec_entries, 0, 0)
        # Locked roles: a pool locked to one role of a spec needs that many slots of it.
        self.restricted: dict[tuple[int, str], int] = {
            (qi, specs[0]): role[0] for qi, (specs, role, _, _) in enumerate(self.pools) if role
        }
        for o in sorted(set(self.restricted.values())):
            lock_entries = {self.y[o]: 1.0}
            for (qi, spec), ro in self.restricted.items():
                if ro == o:
                    lock_entries[self.x[(qi, spec)]] = -1.0
            self._row(lock_entries, 0, inf)
        # profiles actually playable, in a fixed order.
        profiles = sorted(
            {p.profiles[o] for o in by_option if p.profiles[o]}, key=lambda s: sorted(s)
        )
        self.profile_list = profiles
        needs = sorted({b for prof in profiles for b in prof})
        # v[g, k]: slots of subgroup g (aggregated: of the subgroups of one size) with profile k.
        self.v: dict[tuple[int, int], int] = {}
        for g, (size, many) in enumerate(groups):
            for k in range(len(profiles)):
                self.v[(g, k)] = self._col(0, 0, size * many, True)
        # cover[g, b]: subgroup g covers need b (aggregated: how many of them do).
        self.cover: dict[tuple[int, str], int] = {}
        for g, (size, many) in enumerate(groups):
            for b in needs:
                self.cover[(g, b)] = self._col(p.weights[b] * size, 0, many, True)
        # squad-wide needs.
        self.u: dict[str, int] = {}
        for need, (target, weight) in p.targets.items():
            self.u[need] = self._col(weight, 0, target, False)
        for g, (size, many) in enumerate(groups):
            self._row({self.v[(g, k)]: 1.0 for k in range(len(profiles))}, 0, size * many)
        for k, prof in enumerate(profiles):
            entries: dict[int, float] = {self.v[(g, k)]: 1.0 for g in range(len(groups))}
            for o, cols in by_option.items():
                if p.profiles[o] == prof:
                    for col in cols:
                        entries[col] = -1.0
            self._row(entries, 0, 0)
        for g in range(len(groups)):
            for b in needs:
                entries = {self.cover[(g, b)]: 1.0}
                for k, prof in enumerate(profiles):
                    if b in prof:
                        entries[self.v[(g, k)]] = -1.0
                self._row(entries, -inf, 0)
        for need, col in self.u.items():
            entries = {col: 1.0}
            for o, cols in by_option.items():
                amount = p.options[o].squad.get(need, 0)
                if amount:
                    for xc in cols:
                        entries[xc] = -float(amount)
            self._row(entries, -inf, 0)
        # Exclusions: some option used at least once less than in the excluded composition.
        self.feasible_exclusions = True
        for comp in self.excluded:
            if any(o not in by_option for o in comp):
                continue  # that composition is impossible here anyway
            flags = []
            for o, count in sorted(comp.items()):
                d = self._col(0, 0, 1, True)
                flags.append(d)
                entries = dict.fromkeys(by_option[o], 1.0)
                entries[d] = float(n)
                self._row(entries, -inf, count - 1 + n)
            self._row(dict.fromkeys(flags, 1.0), 1, inf)

    def neighbourhood(
        self, state: list[list[_Slot]], score: int, deadline: float, goal: int
    ) -> tuple[list[list[_Slot]], int, int]:
        """RINS: integer columns where ``state`` agrees with the LP relaxation are fixed and the
        rest is searched (``_RINS_NODES`` nodes, stop at ``goal``). Returns the better plan."""
        start = self._warm_values(state)
        remaining = deadline - time.perf_counter()
        if start is None or remaining <= 0:
            return state, score, 0
        h = self._highs(remaining, _RINS_NODES)
        h.setOptionValue("solve_relaxation", True)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return state, score, 0
        relaxed = list(h.getSolution().col_value)
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return state, score, 0
        h = self._highs(remaining, _RINS_NODES)
        for col, (lp, value) in enumerate(zip(relaxed, start, strict=True)):
            if self.integer[col] and abs(lp - value) < _EPS:
                h.changeColBounds(col, value, value)
        sol = highspy.HighsSolution()
        sol.col_value = start
        sol.value_valid = True
        h.setSolution(sol)
        h.setOptionValue("objective_target", float(goal))
        h.run()
        info = h.getInfo()
        nodes = int(info.mip_node_count)
        if (
            h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
            or info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible
        ):
            return state, score, nodes
        raw = self._raw(list(h.getSolution().col_value))
        value = sum(raw_score(self.problem, raw))
        if value <= score or composition(raw) in self.excluded:
            return state, score, nodes
        names = {p: ci for ci, c in enumerate(self.problem.classes) for p in c.players}
        better = [
            [(p, names[p] if p is not None else self._open_class(), o) for p, o in g] for g in raw
        ]
        return better, int(value), nodes

    def _open_class(self) -> int:
        return next(ci for ci, c in enumerate(self.problem.classes) if c.is_open)

    def _highs(self, time_limit_s: float, node_limit: int) -> highspy.Highs:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", _SEED)
        h.setOptionValue("time_limit", max(0.01, time_limit_s))
        h.setOptionValue("mip_max_nodes", node_limit)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.99)  # the score is an integer
        lp = highspy.HighsLp()
        ncol = len(self.cost)
        lp.num_col_ = ncol
        lp.num_row_ = len(self.rows)
        lp.col_cost_ = np.array(self.cost, dtype=np.float64)
        lp.col_lower_ = np.array(self.lower, dtype=np.float64)
        lp.col_upper_ = np.array(self.upper, dtype=np.float64)
        lp.row_lower_ = np.array([r[2] for r in self.rows], dtype=np.float64)
        lp.row_upper_ = np.array([r[3] for r in self.rows], dtype=np.float64)
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in self.integer
        ]
        starts = [0]
        index: list[int] = []
        value: list[float] = []
        for idx, vals, _, _ in self.rows:
            index.extend(idx)
            value.extend(vals)
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value, dtype=np.float64)
        lp.a_matrix_.num_col_ = ncol
        lp.a_matrix_.num_row_ = len(self.rows)
        h.passModel(lp)
        return h

    def run(
        self,
        deadline: float,
        node_limit: int,
        *,
        warm: Sequence[Sequence[_Slot]] | None = None,
        known_bound: float | None = None,
        min_checks: int = _MIN_CHECKS,
    ) -> _Run:
        """Solve; with ``known_bound``, stop early once the proven gap is small enough.

        The early stop is decided in HiGHS's limit-check callback from the solver's own state
        (how many checks so far, its incumbent, ``min(known_bound, its dual bound)``), so it is
        as deterministic as the search itself.
        """
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return _Run("time_limit", None, math.inf, 0)
        h = self._highs(remaining, node_limit)
        if warm is not None:
            start = self._warm_values(warm)
            if start is not None:
                sol = highspy.HighsSolution()
                sol.col_value = start
                sol.value_valid = True
                h.setSolution(sol)
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
                if _floor(bound) <= primal or (
                    checks >= min_checks and bound - primal <= _GAP_TARGET * abs(bound)
                ):
                    stopped = True
                    event.interrupt()

            h.cbMipInterrupt.subscribe(check)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        nodes = int(info.mip_node_count)
        ms = highspy.HighsModelStatus
        if status == ms.kInfeasible:
            return _Run("infeasible", None, -math.inf, nodes)
        if status == ms.kTimeLimit:
            return _Run("time_limit", None, math.inf, nodes)
        bound = float(info.mip_dual_bound)
        if not math.isfinite(bound):
            bound = math.inf
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            return _Run("stopped", None, bound, nodes)
        values = list(h.getSolution().col_value)
        if status == ms.kOptimal and not stopped:
            bound = min(bound, float(info.objective_function_value) + 1 - _EPS)
            return _Run("optimal", values, bound, nodes)
        return _Run("stopped", values, bound, nodes)

    def allowed_options(self) -> list[list[int]]:
        """Per class, the options the model lets it play (dominated ones dropped)."""
        p = self.problem
        return [
            [
                o
                for o in cls.options
                if o in self.y and (self.pool_of[ci], p.options[o].spec.key) in self.x
            ]
            for ci, cls in enumerate(p.classes)
        ]

    def _warm_values(self, warm: Sequence[Sequence[_Slot]]) -> list[float] | None:
        """Column values of a heuristic plan (None when it violates an exclusion)."""
        p = self.problem
        values = [0.0] * len(self.cost)
        counts: Counter[int] = Counter()
        for group in warm:
            for _, cls, opt in group:
                xcol = self.x.get((self.pool_of[cls], p.options[opt].spec.key))
                if xcol is None or opt not in self.y:
                    return None
                values[xcol] += 1
                values[self.y[opt]] += 1
                counts[opt] += 1
        # Subgroups in the model's symmetry order: by size (fixed), then coverage/profile key.
        prof_index = {prof: k for k, prof in enumerate(self.profile_list)}
        big = len(self.profile_list) * 5 + 1

        def key(group: Sequence[_Slot]) -> tuple[int, int]:
            covered: set[str] = set()
            pk = 0
            for _, _, opt in group:
                covered |= p.profiles[opt]
                if p.profiles[opt]:
                    pk += prof_index[p.profiles[opt]] + 1
            return (-len(group), -(sum(p.weights[b] for b in covered) * big + pk))

        ordered = sorted(warm, key=key)
        if tuple(len(g) for g in ordered) != p.sizes:
            return None
        totals: Counter[str] = Counter()
        for g, group in enumerate(ordered):
            covered: set[str] = set()
            for _, _, opt in group:
                prof = p.profiles[opt]
                if prof:
                    values[self.v[(g, prof_index[prof])]] += 1
                    covered |= prof
                totals.update(p.options[opt].squad)
            for b in covered:
                values[self.cover[(g, b)]] = 1
        for need, col in self.u.items():
            values[col] = float(min(totals[need], p.targets[need][0]))
        # Exclusion flags.
        next_col = (
            max([*self.u.values(), *self.cover.values(), *self.v.values(), *self.y.values()]) + 1
        )
        for comp in self.excluded:
            if any(o not in self.by_option for o in comp):
                continue
            found = False
            for o, count in sorted(comp.items()):
                if not found and counts[o] <= count - 1:
                    values[next_col] = 1
                    found = True
                next_col += 1
            if not found:
                return None
        return values

    def _raw(self, values: Sequence[float]) -> RawPlan:
        """Turn column values into concrete subgroups and players, deterministically."""
        p = self.problem
        units: dict[frozenset[str], list[tuple[int, int]]] = {}
        fillers: list[tuple[int, int]] = []
        for spec, pairs in self._pairs(values):
            del spec
            for ci, o in pairs:
                bucket = units.setdefault(p.profiles[o], []) if p.profiles[o] else fillers
                bucket.append((ci, o))
        groups: list[list[tuple[int, int]]] = [[] for _ in p.sizes]
        for k, prof in enumerate(self.profile_list):
            pool = units.get(prof, [])
            for g in range(len(p.sizes)):
                take = round(values[self.v[(g, k)]])
                groups[g].extend(pool[:take])
                del pool[:take]
        leftovers = fillers + [u for prof in self.profile_list for u in units.get(prof, [])]
        for g, size in enumerate(p.sizes):
            room = size - len(groups[g])
            groups[g].extend(leftovers[:room])
            del leftovers[:room]
        names = {ci: list(c.players) for ci, c in enumerate(p.classes)}
        raw: list[tuple[tuple[str | None, int], ...]] = []
        for group in groups:
            slots = []
            for ci, o in group:
                player = names[ci].pop(0) if names[ci] else None
                slots.append((player, o))
            raw.append(tuple(slots))
        return tuple(raw)

    def _pairs(self, values: Sequence[float]) -> list[tuple[str, list[tuple[int, int]]]]:
        """Per spec, (class, option) units: classes locked to a role take that role first."""
        p = self.problem
        out = []
        left = {ci: c.count for ci, c in enumerate(p.classes)}
        for spec in sorted({s for _, s in self.x}):
            slots: list[int] = []
            for o, col in sorted(self.y.items(), key=lambda kv: p.options[kv[0]].key):
                if p.options[o].spec.key == spec:
                    slots.extend([o] * round(values[col]))
            players: list[tuple[bool, int]] = []
            for (qi, s), col in sorted(self.x.items()):
                if s == spec:
                    players.extend([((qi, s) not in self.restricted, qi)] * round(values[col]))
            players.sort()
            pairs: list[tuple[int, int]] = []
            for free, qi in players:
                want = None if free else self.restricted[(qi, spec)]
                pick = slots.index(want) if want is not None else 0
                ci = next(c for c in self.pools[qi][3] if left[c] > 0)
                left[ci] -= 1
                pairs.append((ci, slots.pop(pick)))
            out.append(
                (spec, sorted(pairs, key=lambda t: (p.options[t[1]].key, p.classes[t[0]].key)))
            )
        return out


def _dominates(problem: Problem, better: int, worse: int) -> bool:
    """True when option ``better`` is at least as good as ``worse`` in every part of the score."""
    if not problem.profiles[better] >= problem.profiles[worse]:
        return False
    if problem.options[better].preference < problem.options[worse].preference:
        return False
    a, b = problem.options[better].squad, problem.options[worse].squad
    return all(a.get(t, 0) >= b.get(t, 0) for t in problem.targets)


def _dominated_options(problem: Problem) -> frozenset[int]:
    """Options beaten (ties: by key order) by another role of the same spec."""
    out = set()
    for o, option in enumerate(problem.options):
        for other, cand in enumerate(problem.options):
            if other == o or other in out or cand.spec.key != option.spec.key:
                continue
            if _dominates(problem, other, o) and (not _dominates(problem, o, other) or other < o):
                out.add(o)
                break
    return frozenset(out)


def _undominated_specs(problem: Problem, specs: tuple[str, ...]) -> tuple[str, ...]:
    """Drop a spec when each of its roles is matched by a role of another spec still kept."""
    roles = {s: [o for o, opt in enumerate(problem.options) if opt.spec.key == s] for s in specs}
    kept = list(specs)
    for spec in specs:
        others = [o for s in kept if s != spec for o in roles[s]]
        if others and all(
            any(
                _dominates(problem, d, o) and (not _dominates(problem, o, d) or d < o)
                for d in others
            )
            for o in roles[spec]
        ):
            kept.remove(spec)
    return tuple(kept)
