"""Dominance between options: a role that is at least as good as another in every part of the
score makes the other unnecessary, which keeps the integer model small."""

from __future__ import annotations

from services.composer.problem import Problem

__all__ = ["dominated_options", "dominates", "undominated_specs"]


def dominates(problem: Problem, better: int, worse: int) -> bool:
    """True when option ``better`` is at least as good as ``worse`` in every part of the score."""
    if not problem.profiles[better] >= problem.profiles[worse]:
        return False
    if problem.options[better].preference < problem.options[worse].preference:
        return False
    gives, wanted = problem.options[better].squad, problem.options[worse].squad
    return all(gives.get(need, 0) >= wanted.get(need, 0) for need in problem.targets)


def dominated_options(problem: Problem) -> frozenset[int]:
    """Options beaten (ties: by key order) by another role of the same spec."""
    out: set[int] = set()
    for index, option in enumerate(problem.options):
        for other, candidate in enumerate(problem.options):
            if other == index or other in out or candidate.spec.key != option.spec.key:
                continue
            if dominates(problem, other, index) and (
                not dominates(problem, index, other) or other < index
            ):
                out.add(index)
                break
    return frozenset(out)


def undominated_specs(problem: Problem, specs: tuple[str, ...]) -> tuple[str, ...]:
    """Drop a spec when each of its roles is matched by a role of another spec still kept."""
    roles = {
        spec: [index for index, option in enumerate(problem.options) if option.spec.key == spec]
        for spec in specs
    }
    kept = list(specs)
    for spec in specs:
        others = [option for other in kept if other != spec for option in roles[other]]
        if others and all(
            any(
                dominates(problem, better, option)
                and (not dominates(problem, option, better) or better < option)
                for better in others
            )
            for option in roles[spec]
        ):
            kept.remove(spec)
    return tuple(kept)
