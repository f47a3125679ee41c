"""Heuristic search over concrete plans: greedy fill, packing a composition into subgroups, and
best-improvement local search. Used to warm-start the exact model and (see ``fallback``) as the
deterministic plan when the wall-clock safety net fires.

A plan while searching is a list of subgroups, each a list of :class:`SearchSlot`. Every option
fact the heuristics need (weighted needs as bit masks, squad-wide contributions, preference) is
read from one :class:`OptionTable`, built once per solve.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from services.composer.problem import Problem
from services.composer.scoring import RawPlan, raw_score

__all__ = [
    "MoveKind",
    "OptionTable",
    "SearchPlan",
    "SearchSlot",
    "composition_of",
    "greedy",
    "improve",
    "pack",
    "state_score",
    "to_raw",
]


class SearchSlot(NamedTuple):
    """One slot while searching: who plays it (None: open slot), their class, the option."""

    player: str | None
    class_index: int
    option: int


SearchPlan = list[list[SearchSlot]]


class OptionTable:
    """Per option, what the heuristics score: built once per problem and shared by all of them."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.needs = sorted(problem.weights)
        self.profiles = problem.profiles
        self.masks = [
            sum(1 << bit for bit, need in enumerate(self.needs) if need in profile)
            for profile in problem.profiles
        ]
        self.bits = [
            [bit for bit in range(len(self.needs)) if mask >> bit & 1] for mask in self.masks
        ]
        self.squad: list[dict[str, int]] = [
            {
                need: amount
                for need, amount in option.squad.items()
                if need in problem.targets and amount > 0
            }
            for option in problem.options
        ]
        self.preference = [option.preference for option in problem.options]
        self.mask_weight = MaskWeight([problem.weights[need] for need in self.needs])

    def squad_gain(self, totals: Mapping[str, int], option: int) -> int:
        """Score gained on squad-wide needs by adding ``option`` to ``totals``."""
        gain = 0
        for need, amount in self.squad[option].items():
            target, weight = self.problem.targets[need]
            have = totals.get(need, 0)
            gain += weight * (min(have + amount, target) - min(have, target))
        return gain


class MaskWeight:
    """Total weight of a bit mask of needs, by table look-up per byte."""

    def __init__(self, weights: Sequence[int]) -> None:
        self.tables = [
            [
                sum(
                    weight for bit, weight in enumerate(weights[base : base + 8]) if byte >> bit & 1
                )
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


def to_raw(state: Sequence[Sequence[SearchSlot]]) -> RawPlan:
    """The scorer's form of a search plan."""
    return tuple(tuple((slot.player, slot.option) for slot in group) for group in state)


def composition_of(state: Sequence[Sequence[SearchSlot]]) -> Counter[int]:
    """How many slots play each option."""
    return Counter(slot.option for group in state for slot in group)


def state_score(problem: Problem, state: Sequence[Sequence[SearchSlot]]) -> int:
    """The plan score of a search plan."""
    return sum(raw_score(problem, to_raw(state)))


def greedy(table: OptionTable) -> SearchPlan:
    """Fill slots one by one with the (option, subgroup) of largest marginal score."""
    problem = table.problem
    sizes = problem.sizes
    groups: SearchPlan = [[] for _ in sizes]
    counts: list[Counter[str]] = [Counter() for _ in sizes]
    totals: Counter[str] = Counter()
    remaining = [cls.count for cls in problem.classes]
    players = [list(cls.players) for cls in problem.classes]
    phases = [
        [index for index, cls in enumerate(problem.classes) if cls.required and not cls.is_open],
        [
            index
            for index, cls in enumerate(problem.classes)
            if not (cls.required and not cls.is_open)
        ],
    ]
    slots_left = problem.size
    for phase in phases:
        while slots_left and any(remaining[index] for index in phase):
            live = [index for index in phase if remaining[index]]
            candidates = sorted(
                {option for index in live for option in problem.classes[index].options}
            )
            best: tuple[int, int, int] | None = None  # (gain, -subgroup, -option), maximised
            best_group, best_option = 0, 0
            # One subgroup per distinct (size, covered needs): the others score the same.
            seen_shapes: set[tuple[int, tuple[str, ...]]] = set()
            group_order = []
            for group, size in enumerate(sizes):
                if len(groups[group]) >= size:
                    continue
                shape = (
                    size,
                    tuple(sorted(need for need, count in counts[group].items() if count)),
                )
                if shape in seen_shapes:
                    continue
                seen_shapes.add(shape)
                group_order.append(group)
            for option in candidates:
                base = table.squad_gain(totals, option) + table.preference[option]
                for group in group_order:
                    covered = counts[group]
                    gain = base + sizes[group] * sum(
                        problem.weights[need]
                        for need in table.profiles[option]
                        if not covered[need]
                    )
                    candidate = (gain, -group, -option)
                    if best is None or candidate > best:
                        best = candidate
                        best_group, best_option = group, option
            chosen_class = min(
                (index for index in live if best_option in problem.classes[index].options),
                key=lambda index: (len(problem.classes[index].options), problem.classes[index].key),
            )
            player = players[chosen_class].pop(0) if players[chosen_class] else None
            remaining[chosen_class] -= 1
            groups[best_group].append(SearchSlot(player, chosen_class, best_option))
            counts[best_group].update(table.profiles[best_option])
            totals.update(table.squad[best_option])
            slots_left -= 1
    return groups


def pack(table: OptionTable, units: Sequence[tuple[int, int]]) -> SearchPlan:
    """Place (class, option) units into subgroups: richest profiles first, largest gain."""
    problem = table.problem
    weights, profiles, sizes = problem.weights, table.profiles, problem.sizes
    groups: SearchPlan = [[] for _ in sizes]
    counts: list[Counter[str]] = [Counter() for _ in sizes]
    names = {index: list(cls.players) for index, cls in enumerate(problem.classes)}
    order = sorted(
        units,
        key=lambda unit: (
            -sum(weights[need] for need in profiles[unit[1]]),
            problem.options[unit[1]].key,
            problem.classes[unit[0]].key,
        ),
    )
    for class_index, option in order:
        best: tuple[int, int, int] | None = None  # (gain, -filled, -subgroup), maximised
        for group, size in enumerate(sizes):
            if len(groups[group]) < size:
                gain = size * sum(
                    weights[need] for need in profiles[option] if not counts[group][need]
                )
                candidate = (gain, -len(groups[group]), -group)
                if best is None or candidate > best:
                    best = candidate
        assert best is not None  # the model never places more units than there are slots
        group = -best[2]
        player = names[class_index].pop(0) if names[class_index] else None
        groups[group].append(SearchSlot(player, class_index, option))
        counts[group].update(profiles[option])
    return groups


class MoveKind(enum.Enum):
    """The local-search moves."""

    RESPEC = "respec"  # the slot's player plays another option
    BENCH_SWAP = "bench_swap"  # a benched player of another class takes the slot
    SUBGROUP_SWAP = "subgroup_swap"  # two slots of different subgroups trade places


@dataclass(frozen=True, slots=True)
class Move:
    """One local-search move. ``other`` is the other slot (swap) or the incoming class (bench)."""

    kind: MoveKind
    slot: int
    other: int
    option: int


def improve(
    table: OptionTable,
    start: Sequence[Sequence[SearchSlot]],
    excluded: Sequence[Counter[int]],
    allowed: Sequence[Sequence[int]] | None,
    *,
    max_rounds: int = 500,
) -> SearchPlan:
    """Fast best-improvement local search with incremental scores; deterministic.

    Moves (:class:`MoveKind`): re-spec a slot (``allowed[class]`` options, default: all the
    class can play), bring a benched player in for a slot of an optional class, swap two slots
    across subgroups. A move that makes the composition an excluded one is never taken. Needs are
    bit masks, so a swap is scored with a few integer operations.
    """
    problem = table.problem
    sizes, targets, classes = problem.sizes, problem.targets, problem.classes
    weigh, masks, bits = table.mask_weight, table.masks, table.bits
    squad, preference = table.squad, table.preference
    playable = allowed if allowed is not None else [cls.options for cls in classes]
    flat = [(slot, group) for group, slots in enumerate(start) for slot in slots]
    player_at = [slot.player for slot, _ in flat]
    class_at = [slot.class_index for slot, _ in flat]
    option_at = [slot.option for slot, _ in flat]
    group_at = [group for _, group in flat]
    need_counts = [[0] * len(table.needs) for _ in sizes]
    totals: Counter[str] = Counter()
    comp: Counter[int] = Counter(option_at)
    for option, group in zip(option_at, group_at, strict=True):
        for bit in bits[option]:
            need_counts[group][bit] += 1
        totals.update(squad[option])
    covered = [0] * len(sizes)  # needs with at least one provider in the subgroup
    single = [0] * len(sizes)  # needs with exactly one provider

    def refresh(group: int) -> None:
        row = need_counts[group]
        covered[group] = sum(1 << bit for bit, count in enumerate(row) if count)
        single[group] = sum(1 << bit for bit, count in enumerate(row) if count == 1)

    def place(group: int, option: int, sign: int) -> None:
        for bit in bits[option]:
            need_counts[group][bit] += sign

    for group in range(len(sizes)):
        refresh(group)
    placed = set(player_at)
    bench = {
        index: [name for name in cls.players if name not in placed]
        for index, cls in enumerate(classes)
        if not cls.required
    }

    def cover_gain(group: int, lose: int, get: int) -> int:
        return weigh(get & ~lose & ~covered[group]) - weigh(lose & ~get & single[group])

    def respec_gain(group: int, option: int, new: int) -> int:
        gain = preference[new] - preference[option]
        gain += sizes[group] * cover_gain(group, masks[option], masks[new])
        for need in squad[option].keys() | squad[new].keys():
            target, weight = targets[need]
            have = totals[need]
            now = have - squad[option].get(need, 0) + squad[new].get(need, 0)
            gain += weight * (min(now, target) - min(have, target))
        return gain

    def allowed_comp(option: int, new: int) -> bool:
        if not excluded:
            return True
        comp[option] -= 1
        comp[new] += 1
        ok = comp not in excluded
        comp[option] += 1
        comp[new] -= 1
        return ok

    slot_count = len(option_at)
    for _ in range(max_rounds):
        best = 0
        move: Move | None = None
        for slot in range(slot_count):
            class_index, option, group = class_at[slot], option_at[slot], group_at[slot]
            for new in playable[class_index]:
                if new != option:
                    gain = respec_gain(group, option, new)
                    if gain > best and allowed_comp(option, new):
                        best, move = gain, Move(MoveKind.RESPEC, slot, class_index, new)
            if class_index in bench:
                for incoming, waiting in bench.items():
                    if incoming == class_index or not waiting:
                        continue
                    for new in playable[incoming]:
                        gain = respec_gain(group, option, new)
                        if gain > best and allowed_comp(option, new):
                            best, move = gain, Move(MoveKind.BENCH_SWAP, slot, incoming, new)
        for slot in range(slot_count):
            group, mask = group_at[slot], masks[option_at[slot]]
            uncovered, only, size = ~covered[group], single[group], sizes[group]
            for other in range(slot + 1, slot_count):
                other_group, other_mask = group_at[other], masks[option_at[other]]
                if group == other_group or mask == other_mask:
                    continue
                gain = size * (
                    weigh(other_mask & ~mask & uncovered) - weigh(mask & ~other_mask & only)
                ) + sizes[other_group] * (
                    weigh(mask & ~other_mask & ~covered[other_group])
                    - weigh(other_mask & ~mask & single[other_group])
                )
                if gain > best:
                    best, move = gain, Move(MoveKind.SUBGROUP_SWAP, slot, other, -1)
        if move is None:
            break
        slot = move.slot
        if move.kind is MoveKind.SUBGROUP_SWAP:
            group, other_group = group_at[slot], group_at[move.other]
            place(group, option_at[slot], -1)
            place(group, option_at[move.other], 1)
            place(other_group, option_at[move.other], -1)
            place(other_group, option_at[slot], 1)
            group_at[slot], group_at[move.other] = other_group, group
            refresh(group)
            refresh(other_group)
            continue
        player, class_index, option, group = (
            player_at[slot],
            class_at[slot],
            option_at[slot],
            group_at[slot],
        )
        place(group, option, -1)
        place(group, move.option, 1)
        refresh(group)
        totals.subtract(squad[option])
        totals.update(squad[move.option])
        comp[option] -= 1
        comp[move.option] += 1
        if move.kind is MoveKind.BENCH_SWAP and player is not None:
            bench[class_index] = sorted([*bench[class_index], player])
            player_at[slot], class_at[slot] = bench[move.other].pop(0), move.other
        option_at[slot] = move.option
    out: SearchPlan = [[] for _ in sizes]
    for player, class_index, option, group in zip(
        player_at, class_at, option_at, group_at, strict=True
    ):
        out[group].append(SearchSlot(player, class_index, option))
    return out
