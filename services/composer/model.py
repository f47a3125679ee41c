"""The pattern-count integer model of a squad problem (columns, rows, HiGHS data) and the
conversions between its column values and concrete plans.

* Players only matter through the options (spec × role) they can play, so the model counts
  ``x[pool, spec]`` and ``y[option]`` = slots playing that option; the free roster is one pool.
* Inside a subgroup only the *profile* of an option matters (the weighted needs it covers), so
  each subgroup holds counts ``v[subgroup, profile]``; options without a profile are fillers.
* ``cover[subgroup, need] <= sum of v over the profiles that give the need``; squad-wide needs
  are ``u[need] <= sum amount[option, need] * y[option]`` capped at the target. The objective is
  the integer plan score.
* The *aggregated* model pools the subgroups of one size (``cover`` counts how many of them
  cover the need): a symmetry-free relaxation whose optimum is a proven upper bound.

Details and measurements: ``docs/composer.md``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import highspy

from services.composer.dominance import dominated_options, undominated_specs
from services.composer.problem import Problem
from services.composer.scoring import RawPlan
from services.composer.search import SearchSlot

__all__ = ["PatternModel", "Pool"]

EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Pool:
    """Player classes merged because they play the same specs (after dominance pruning)."""

    specs: tuple[str, ...]
    locked_role: tuple[int, ...]  # the one option a role-locked pool must play, else empty
    required: bool
    members: list[int]  # class indexes


@dataclass(frozen=True, slots=True)
class Row:
    """One constraint: ``lower <= sum(values[k] * column[k]) <= upper``."""

    columns: list[int]
    values: list[float]
    lower: float
    upper: float


class PatternModel:
    """The integer model for one problem (see the module docstring)."""

    def __init__(
        self,
        problem: Problem,
        excluded: Sequence[Counter[int]],
        *,
        aggregate: bool = False,
        score_cap: int | None = None,
    ) -> None:
        self.problem = problem
        self.excluded = excluded
        self.score_cap = score_cap
        self.aggregate = aggregate
        self.at_target: dict[str, int] = {}  # squad need -> binary "target reached" (exact score)
        # Subgroups as (size, how many): one each, or pooled by size in the aggregated model.
        size_counts = Counter(problem.sizes)
        self.groups: list[tuple[int, int]] = (
            [(size, size_counts[size]) for size in sorted(size_counts, reverse=True)]
            if aggregate
            else [(size, 1) for size in problem.sizes]
        )
        # Dominated specs/options never improve a plan, but exclusions may need them.
        self.prune = not excluded
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[bool] = []
        self.rows: list[Row] = []
        self._build()

    # ----------------------------------------------------------------------------------------
    # Building
    # ----------------------------------------------------------------------------------------

    def _column(self, cost: float, lower: float, upper: float, integer: bool) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)
        return len(self.cost) - 1

    def _row(self, entries: dict[int, float], lower: float, upper: float) -> None:
        columns = sorted(entries)
        self.rows.append(Row(columns, [entries[column] for column in columns], lower, upper))

    def _build(self) -> None:
        problem = self.problem
        inf = highspy.kHighsInf
        size = problem.size
        spec_of = [option.spec.key for option in problem.options]
        self._build_pools(spec_of)
        # x[pool, spec]: players of the pool playing the spec; y[option]: slots playing it.
        self.x: dict[tuple[int, str], int] = {}
        for pool_index, pool in enumerate(self.pools):
            count = self._pool_count(pool)
            for spec in pool.specs:
                self.x[(pool_index, spec)] = self._column(0, 0, count, True)
        playable_specs = sorted({spec for _, spec in self.x})
        dropped = dominated_options(problem) if self.prune else frozenset()
        locked_options = {option for pool in self.pools for option in pool.locked_role}
        self.y: dict[int, int] = {}
        for index, role_option in enumerate(problem.options):
            if role_option.spec.key in playable_specs and (
                index not in dropped or index in locked_options
            ):
                self.y[index] = self._column(role_option.preference, 0, size, True)
        for pool_index, pool in enumerate(self.pools):
            count = self._pool_count(pool)
            self._row(
                {self.x[(pool_index, spec)]: 1.0 for spec in pool.specs},
                count if pool.required else 0,
                count,
            )
        self._row(dict.fromkeys(self.x.values(), 1.0), size, size)
        for spec in playable_specs:
            spec_entries = {column: 1.0 for (_, played), column in self.x.items() if played == spec}
            for option, column in self.y.items():
                if spec_of[option] == spec:
                    spec_entries[column] = -1.0
            self._row(spec_entries, 0, 0)
        # Locked roles: a pool locked to one role of a spec needs that many slots of it.
        self.restricted: dict[tuple[int, str], int] = {
            (pool_index, pool.specs[0]): pool.locked_role[0]
            for pool_index, pool in enumerate(self.pools)
            if pool.locked_role
        }
        for locked_option in sorted(set(self.restricted.values())):
            lock_entries = {self.y[locked_option]: 1.0}
            for (pool_index, spec), option in self.restricted.items():
                if option == locked_option:
                    lock_entries[self.x[(pool_index, spec)]] = -1.0
            self._row(lock_entries, 0, inf)
        self._build_subgroups()
        self._build_squad_needs()
        self._build_exclusions()
        if self.score_cap is not None:
            # Rerolls: never a plan better than the one already shown. The per-subgroup model
            # then makes its objective the exact plan score (else coverage could be
            # under-reported to pass the cap); the aggregated one stays a relaxation.
            objective = {column: cost for column, cost in enumerate(self.cost) if cost}
            self._row(objective, -inf, float(self.score_cap))
            if not self.aggregate:
                self._build_exact_score()

    def _build_pools(self, spec_of: list[str]) -> None:
        """Pools: classes merged when, after dropping dominated specs, they play the same specs."""
        problem = self.problem
        self.pool_of: dict[int, int] = {}
        pool_keys: dict[tuple[tuple[str, ...], tuple[int, ...], bool], int] = {}
        self.pools: list[Pool] = []
        for class_index, cls in enumerate(problem.classes):
            spec_options = [
                index
                for index in range(len(problem.options))
                if spec_of[index] == spec_of[cls.options[0]]
            ]
            role_locked = len({spec_of[option] for option in cls.options}) == 1 and len(
                cls.options
            ) < len(spec_options)
            specs = tuple(sorted({spec_of[option] for option in cls.options}))
            role = tuple(cls.options) if role_locked else ()
            if not role and self.prune:
                specs = undominated_specs(problem, specs)
            key = (specs, role, cls.required)
            if key not in pool_keys:
                pool_keys[key] = len(self.pools)
                self.pools.append(Pool(specs, role, cls.required, []))
            self.pools[pool_keys[key]].members.append(class_index)
            self.pool_of[class_index] = pool_keys[key]

    def _pool_count(self, pool: Pool) -> int:
        return sum(self.problem.classes[member].count for member in pool.members)

    def _build_subgroups(self) -> None:
        problem = self.problem
        inf = highspy.kHighsInf
        # Profiles actually playable, in a fixed order.
        self.profile_list = sorted(
            {problem.profiles[option] for option in self.y if problem.profiles[option]},
            key=sorted,
        )
        profiles = self.profile_list
        needs = sorted({need for profile in profiles for need in profile})
        # v[g, k]: slots of subgroup g (aggregated: of the subgroups of one size) with profile k.
        self.v: dict[tuple[int, int], int] = {}
        for group, (size, many) in enumerate(self.groups):
            for profile_no in range(len(profiles)):
                self.v[(group, profile_no)] = self._column(0, 0, size * many, True)
        # cover[g, need]: subgroup g covers the need (aggregated: how many of them do).
        self.cover: dict[tuple[int, str], int] = {}
        for group, (size, many) in enumerate(self.groups):
            for need in needs:
                self.cover[(group, need)] = self._column(
                    problem.weights[need] * size, 0, many, True
                )
        self.u: dict[str, int] = {}
        for need, (target, weight) in problem.targets.items():
            self.u[need] = self._column(weight, 0, target, False)
        for group, (size, many) in enumerate(self.groups):
            self._row({self.v[(group, no)]: 1.0 for no in range(len(profiles))}, 0, size * many)
        for profile_no, profile in enumerate(profiles):
            entries: dict[int, float] = {
                self.v[(group, profile_no)]: 1.0 for group in range(len(self.groups))
            }
            for option, column in self.y.items():
                if problem.profiles[option] == profile:
                    entries[column] = -1.0
            self._row(entries, 0, 0)
        for group in range(len(self.groups)):
            for need in needs:
                entries = {self.cover[(group, need)]: 1.0}
                for profile_no, profile in enumerate(profiles):
                    if need in profile:
                        entries[self.v[(group, profile_no)]] = -1.0
                self._row(entries, -inf, 0)

    def _build_squad_needs(self) -> None:
        inf = highspy.kHighsInf
        for need, column in self.u.items():
            entries = {column: 1.0}
            for option, y_column in self.y.items():
                amount = self.problem.options[option].squad.get(need, 0)
                if amount:
                    entries[y_column] = -float(amount)
            self._row(entries, -inf, 0)

    def _build_exclusions(self) -> None:
        """Per excluded composition: some option is used at least once less than in it."""
        inf = highspy.kHighsInf
        size = self.problem.size
        for comp in self.excluded:
            if any(option not in self.y for option in comp):
                continue  # that composition is impossible here anyway
            flags = []
            for option, count in sorted(comp.items()):
                flag = self._column(0, 0, 1, True)
                flags.append(flag)
                self._row({self.y[option]: 1.0, flag: float(size)}, -inf, count - 1 + size)
            self._row(dict.fromkeys(flags, 1.0), 1, inf)

    def _build_exact_score(self) -> None:
        """Coverage and squad-need columns equal what the plan really reaches."""
        problem = self.problem
        inf = highspy.kHighsInf
        for (group, need), column in self.cover.items():
            size = self.groups[group][0]
            entries = {column: float(size)}
            for profile_no, profile in enumerate(self.profile_list):
                if need in profile:
                    entries[self.v[(group, profile_no)]] = -1.0
            self._row(entries, 0, inf)  # any provider in the subgroup forces cover = 1
        for need, column in self.u.items():
            target = problem.targets[need][0]
            reached = self._column(0, 0, 1, True)
            self.at_target[need] = reached
            self._row({column: 1.0, reached: -float(target)}, 0, inf)  # reached: u = target
            entries = {column: 1.0}
            largest = 0.0
            for option, y_column in self.y.items():
                amount = problem.options[option].squad.get(need, 0)
                if amount:
                    entries[y_column] = -float(amount)
                    largest = max(largest, float(amount))
            big = largest * problem.size
            entries[reached] = big
            self._row(entries, 0, inf)  # not reached: u = units brought

    # ----------------------------------------------------------------------------------------
    # Plans <-> column values
    # ----------------------------------------------------------------------------------------

    def allowed_options(self) -> list[list[int]]:
        """Per class, the options the model lets it play (dominated ones dropped)."""
        problem = self.problem
        return [
            [
                option
                for option in cls.options
                if option in self.y
                and (self.pool_of[index], problem.options[option].spec.key) in self.x
            ]
            for index, cls in enumerate(problem.classes)
        ]

    def open_class(self) -> int:
        """The index of the open-slot class."""
        return next(index for index, cls in enumerate(self.problem.classes) if cls.is_open)

    def symmetry_order(self, warm: Sequence[Sequence[SearchSlot]]) -> list[int]:
        """The plan's subgroups in the model's order: by size, then coverage/profile key."""
        problem = self.problem
        profile_index = {profile: no for no, profile in enumerate(self.profile_list)}
        big = len(self.profile_list) * 5 + 1

        def order(index: int) -> tuple[int, int]:
            covered: set[str] = set()
            profile_key = 0
            for slot in warm[index]:
                covered |= problem.profiles[slot.option]
                if problem.profiles[slot.option]:
                    profile_key += profile_index[problem.profiles[slot.option]] + 1
            weight = sum(problem.weights[need] for need in covered)
            return (-len(warm[index]), -(weight * big + profile_key))

        return sorted(range(len(warm)), key=order)

    def warm_values(self, warm: Sequence[Sequence[SearchSlot]]) -> list[float] | None:
        """Column values of a heuristic plan (None when it violates an exclusion)."""
        problem = self.problem
        values = [0.0] * len(self.cost)
        counts: Counter[int] = Counter()
        for group in warm:
            for slot in group:
                x_column = self.x.get(
                    (self.pool_of[slot.class_index], problem.options[slot.option].spec.key)
                )
                if x_column is None or slot.option not in self.y:
                    return None
                values[x_column] += 1
                values[self.y[slot.option]] += 1
                counts[slot.option] += 1
        profile_index = {profile: no for no, profile in enumerate(self.profile_list)}
        ordered = [warm[index] for index in self.symmetry_order(warm)]
        if tuple(len(group) for group in ordered) != problem.sizes:
            return None
        totals: Counter[str] = Counter()
        for index, group in enumerate(ordered):
            covered: set[str] = set()
            for slot in group:
                profile = problem.profiles[slot.option]
                if profile:
                    values[self.v[(index, profile_index[profile])]] += 1
                    covered |= profile
                totals.update(problem.options[slot.option].squad)
            for need in covered:
                values[self.cover[(index, need)]] = 1
        for need, column in self.u.items():
            values[column] = float(min(totals[need], problem.targets[need][0]))
        # Exclusion flags, in the order _build_exclusions made them.
        next_column = (
            max([*self.u.values(), *self.cover.values(), *self.v.values(), *self.y.values()]) + 1
        )
        for comp in self.excluded:
            if any(option not in self.y for option in comp):
                continue
            found = False
            for option, count in sorted(comp.items()):
                if not found and counts[option] <= count - 1:
                    values[next_column] = 1
                    found = True
                next_column += 1
            if not found:
                return None
        for need, column in self.at_target.items():
            values[column] = 1.0 if totals[need] >= problem.targets[need][0] else 0.0
        return values

    def plan_from_values(self, values: Sequence[float]) -> RawPlan:
        """Turn column values into concrete subgroups and players, deterministically."""
        problem = self.problem
        by_profile: dict[frozenset[str], list[tuple[int, int]]] = {}
        fillers: list[tuple[int, int]] = []
        for _, units in self.units(values):
            for class_index, option in units:
                profile = problem.profiles[option]
                bucket = by_profile.setdefault(profile, []) if profile else fillers
                bucket.append((class_index, option))
        groups: list[list[tuple[int, int]]] = [[] for _ in problem.sizes]
        for profile_no, profile in enumerate(self.profile_list):
            waiting = by_profile.get(profile, [])
            for group in range(len(problem.sizes)):
                take = round(values[self.v[(group, profile_no)]])
                groups[group].extend(waiting[:take])
                del waiting[:take]
        leftovers = fillers + [
            u for profile in self.profile_list for u in by_profile.get(profile, [])
        ]
        for group, size in enumerate(problem.sizes):
            room = size - len(groups[group])
            groups[group].extend(leftovers[:room])
            del leftovers[:room]
        names = {index: list(cls.players) for index, cls in enumerate(problem.classes)}
        raw: list[tuple[tuple[str | None, int], ...]] = []
        for group_units in groups:
            slots = []
            for class_index, option in group_units:
                player = names[class_index].pop(0) if names[class_index] else None
                slots.append((player, option))
            raw.append(tuple(slots))
        return tuple(raw)

    def units(self, values: Sequence[float]) -> list[tuple[str, list[tuple[int, int]]]]:
        """Per spec, its (class, option) units: classes locked to a role take that role first."""
        problem = self.problem
        out = []
        left = {index: cls.count for index, cls in enumerate(problem.classes)}
        for spec in sorted({played for _, played in self.x}):
            slots: list[int] = []
            for option, column in sorted(self.y.items(), key=lambda kv: problem.options[kv[0]].key):
                if problem.options[option].spec.key == spec:
                    slots.extend([option] * round(values[column]))
            players: list[tuple[bool, int]] = []
            for (pool_index, played), column in sorted(self.x.items()):
                if played == spec:
                    free = (pool_index, played) not in self.restricted
                    players.extend([(free, pool_index)] * round(values[column]))
            players.sort()
            pairs: list[tuple[int, int]] = []
            for free, pool_index in players:
                want = None if free else self.restricted[(pool_index, spec)]
                pick = slots.index(want) if want is not None else 0
                class_index = next(
                    member for member in self.pools[pool_index].members if left[member] > 0
                )
                left[class_index] -= 1
                pairs.append((class_index, slots.pop(pick)))
            out.append(
                (
                    spec,
                    sorted(
                        pairs,
                        key=lambda t: (problem.options[t[1]].key, problem.classes[t[0]].key),
                    ),
                )
            )
        return out
