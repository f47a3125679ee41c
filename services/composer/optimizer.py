"""The squad optimizer's public entry points: the best plan, and rerolls (next-best plans).

The work is split by job: ``model`` builds the integer model, ``search`` holds the heuristics
(greedy, packing, local search, the fallback) and ``solver`` drives HiGHS through the
deterministic stages. Formulation and measurements: ``docs/composer.md``.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.composer.catalogue import Catalogue
from services.composer.models import ComposeRequest, OptimizeResult
from services.composer.problem import resolve
from services.composer.solver import DEFAULT_NODE_LIMIT, DEFAULT_TIME_LIMIT_S, solve_problem

__all__ = [
    "DEFAULT_NODE_LIMIT",
    "DEFAULT_TIME_LIMIT_S",
    "alternatives",
    "optimize",
    "solve_problem",
]


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
    """Up to ``count`` plans with distinct compositions, best first ("reroll").

    The first is :func:`optimize`'s plan; each next one is the best distinct plan scoring at most
    the previous one (proven optimal under that cap unless a solver limit fired), so the scores
    never increase and no reroll beats the first plan.
    """
    problem = resolve(request, catalogue)
    seen = list(exclude)
    results: list[OptimizeResult] = []
    for _ in range(count):
        result = solve_problem(
            problem,
            exclude=seen,
            time_limit_s=time_limit_s,
            node_limit=node_limit,
            score_cap=results[-1].plan.score if results else None,
        )
        if result.solve.status == "infeasible_exclusions" or result.plan.signature in seen:
            break
        results.append(result)
        seen.append(result.plan.signature)
    return results
