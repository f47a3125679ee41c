"""The deterministic plan used when the solver's wall-clock safety net fires (or when asked
for with ``time_limit_s=0``): greedy fill plus local search, never an excluded composition."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from services.composer.problem import Problem
from services.composer.scoring import signature_of
from services.composer.search import (
    OptionTable,
    SearchPlan,
    SearchSlot,
    composition_of,
    greedy,
    improve,
    state_score,
    to_raw,
)

__all__ = ["fallback_plan"]


def fallback_plan(table: OptionTable, excluded: Sequence[Counter[int]]) -> SearchPlan:
    """The deterministic heuristic plan: greedy, then local search (never an excluded plan)."""
    problem = table.problem
    state = improve(table, greedy(table), excluded, None)
    if composition_of(state) in excluded:
        signatures = {
            signature_of(problem, [[(None, option) for option in excluded_comp.elements()]])
            for excluded_comp in excluded
        }
        state = _full_local_search(problem, state, signatures, max_rounds=50)
    return state


def _full_local_search(
    problem: Problem,
    start: Sequence[Sequence[SearchSlot]],
    excluded: set[str],
    *,
    max_rounds: int,
) -> SearchPlan:
    """Best-improvement local search that rescores every neighbour (slow; fallback only).

    Moves: re-spec, swap across subgroups, bench swap. Plans whose signature is excluded are
    never accepted as the result.
    """
    state = [list(group) for group in start]
    classes = problem.classes
    used = Counter(slot.class_index for group in state for slot in group)
    placed = {slot.player for group in state for slot in group}
    bench = {
        index: [name for name in cls.players if name not in placed]
        for index, cls in enumerate(classes)
    }

    def neighbours() -> Iterable[SearchPlan]:
        for group, slots in enumerate(state):
            for position, slot in enumerate(slots):
                for new in classes[slot.class_index].options:
                    if new != slot.option:
                        candidate = [list(slots) for slots in state]
                        candidate[group][position] = SearchSlot(slot.player, slot.class_index, new)
                        yield candidate
                if not classes[slot.class_index].required:
                    for other, other_class in enumerate(classes):
                        if (
                            other == slot.class_index
                            or other_class.required
                            or used[other] >= other_class.count
                            or not bench[other]
                        ):
                            continue
                        for new in other_class.options:
                            candidate = [list(slots) for slots in state]
                            candidate[group][position] = SearchSlot(bench[other][0], other, new)
                            yield candidate
        for group in range(len(state)):
            for other_group in range(group + 1, len(state)):
                for position, slot in enumerate(state[group]):
                    for other_position, other_slot in enumerate(state[other_group]):
                        if slot.option == other_slot.option:
                            continue
                        candidate = [list(slots) for slots in state]
                        candidate[group][position] = other_slot
                        candidate[other_group][other_position] = slot
                        yield candidate

    def signature(plan: Sequence[Sequence[SearchSlot]]) -> str:
        return signature_of(problem, to_raw(plan))

    current = state_score(problem, state) if signature(state) not in excluded else -(10**9)
    for _ in range(max_rounds):
        best_score = current
        best_state: SearchPlan | None = None
        for candidate in neighbours():
            score = state_score(problem, candidate)
            if score > best_score and signature(candidate) not in excluded:
                best_score, best_state = score, candidate
        if best_state is None:
            break
        state, current = best_state, best_score
        used = Counter(slot.class_index for group in state for slot in group)
        placed = {slot.player for group in state for slot in group}
        bench = {
            index: [name for name in cls.players if name not in placed]
            for index, cls in enumerate(classes)
        }
    return state
