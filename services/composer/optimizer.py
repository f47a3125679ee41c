"""The squad optimizer: an exact integer model over *party patterns*, a greedy warm start and a
deterministic local-search fallback.

Formulation (details in ``docs/composer.md``):

* Players only matter through the options (spec × role) they can play, so the model counts
  ``x[c, o]`` = players of class ``c`` playing option ``o``; the free roster is a single class.
* Inside a subgroup only the *profile* of an option matters (the weighted needs it covers), so each
  subgroup ``g`` holds counts ``v[g, p]`` of profiles; options without a profile are fillers.
* ``cover[g, b] <= sum of v[g, p] over profiles p that give need b``; squad-wide needs are
  ``u[t] <= sum a[o, t] * N[o]`` capped at the target. Objective = the integer plan score.
* Subgroups of equal size are interchangeable: they are ordered by (coverage, profile key), which
  removes the symmetry that made the player × subgroup × spec model slow.

The solver runs with one thread, a fixed seed and a deterministic node budget; the wall-clock
limit is only a safety net. If it fires, the deterministic fallback (greedy + local search) is
used instead of whatever the solver had, so the same input always gives the same plan.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np

from services.composer.catalogue import Catalogue
from services.composer.models import ComposeRequest, OptimizeResult, Plan, SolveInfo
from services.composer.problem import Problem, resolve
from services.composer.scoring import RawPlan, build_plan, parse_signature, raw_score, signature_of

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
    """Solve a resolved problem: greedy warm start, exact model, deterministic fallback."""
    started = time.perf_counter()
    excluded = [
        c for c in (parse_signature(problem, s) for s in sorted(set(exclude))) if c is not None
    ]
    excluded_sigs = {signature_of(problem, [[(None, o) for o in c.elements()]]) for c in excluded}
    warm = _greedy(problem)
    if _signature(problem, warm) in excluded_sigs:
        warm = _local_search(problem, warm, excluded_sigs, max_rounds=50)
    outcome = _Milp(problem, excluded).solve(warm, time_limit_s, node_limit)
    method: Literal["milp", "heuristic"]
    status: Literal["optimal", "node_limit", "time_limit", "infeasible_exclusions"]
    if outcome.status in {"optimal", "node_limit"} and outcome.raw is not None:
        raw = outcome.raw
        method = "milp"
        status = "optimal" if outcome.status == "optimal" else "node_limit"
        bound = outcome.bound
    else:
        if outcome.status == "time_limit":
            log.warning(
                "composer solver hit its %.1fs time limit; using the heuristic", time_limit_s
            )
        raw = _to_raw(_local_search(problem, warm, excluded_sigs, max_rounds=200))
        method = "heuristic"
        status = "infeasible_exclusions" if outcome.status == "infeasible" else "time_limit"
        bound = None
    plan = build_plan(problem, raw)
    gap = None if bound is None else max(0.0, (bound - plan.score) / max(1.0, abs(bound)))
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

    def group_value(self, counts: Counter[str], size: int) -> int:
        return size * sum(self.weights[b] for b, n in counts.items() if n > 0)

    def squad_value(self, totals: Counter[str]) -> int:
        return sum(w * min(totals[n], t) for n, (t, w) in self.problem.targets.items())

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


# --------------------------------------------------------------------------------------------
# The exact model
# --------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    status: str  # optimal | node_limit | time_limit | infeasible
    raw: RawPlan | None
    bound: float | None
    nodes: int


class _Milp:
    """The pattern-count integer model for one problem (see the module docstring)."""

    def __init__(self, problem: Problem, excluded: Sequence[Counter[int]]) -> None:
        self.problem = problem
        self.excluded = excluded
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
        sizes = p.sizes
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
        # v[g, k]: slots of subgroup g filled by profile k.
        self.v: dict[tuple[int, int], int] = {}
        for g, size in enumerate(sizes):
            for k in range(len(profiles)):
                self.v[(g, k)] = self._col(0, 0, size, True)
        # cover[g, b]
        self.cover: dict[tuple[int, str], int] = {}
        for g, size in enumerate(sizes):
            for b in needs:
                self.cover[(g, b)] = self._col(p.weights[b] * size, 0, 1, True)
        # squad-wide needs.
        self.u: dict[str, int] = {}
        for need, (target, weight) in p.targets.items():
            self.u[need] = self._col(weight, 0, target, False)
        for g, size in enumerate(sizes):
            self._row({self.v[(g, k)]: 1.0 for k in range(len(profiles))}, 0, size)
        for k, prof in enumerate(profiles):
            entries: dict[int, float] = {self.v[(g, k)]: 1.0 for g in range(len(sizes))}
            for o, cols in by_option.items():
                if p.profiles[o] == prof:
                    for col in cols:
                        entries[col] = -1.0
            self._row(entries, 0, 0)
        for g in range(len(sizes)):
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

    def solve(
        self, warm: Sequence[Sequence[_Slot]], time_limit_s: float, node_limit: int
    ) -> _Outcome:
        h = self._highs(time_limit_s, node_limit)
        start = self._warm_values(warm)
        if start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = start
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        nodes = int(info.mip_node_count)
        ms = highspy.HighsModelStatus
        if status == ms.kInfeasible:
            return _Outcome("infeasible", None, None, nodes)
        if status == ms.kTimeLimit:
            return _Outcome("time_limit", None, None, nodes)
        if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
            return _Outcome("time_limit", None, None, nodes)
        values = list(h.getSolution().col_value)
        label = "optimal" if status == ms.kOptimal else "node_limit"
        bound = (
            float(info.mip_dual_bound)
            if label == "node_limit"
            else float(info.objective_function_value)
        )
        return _Outcome(label, self._raw(values), bound, nodes)

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


def plan_for(request: ComposeRequest, catalogue: Catalogue | None = None) -> Plan:
    """Shortcut: the optimal plan only."""
    return optimize(request, catalogue=catalogue).plan
