"""The async entry point used by the ``/compose`` cog, and the review of AI proposals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from services.composer.answer import (
    AIOutcome,
    AIProposal,
    ProposalVerdict,
    VerdictCode,
    unavailable_note,
)
from services.composer.catalogue import Catalogue
from services.composer.metrics import ComposerMetrics
from services.composer.mistral import MistralComposer
from services.composer.models import ComposeRequest, Plan, SolveInfo
from services.composer.optimizer import DEFAULT_NODE_LIMIT, solve_problem
from services.composer.problem import Problem, resolve
from services.composer.prompt import MatchContext, pseudonyms
from services.composer.scoring import build_plan, plan_to_raw

__all__ = ["ComposeResult", "compose", "review_proposals"]

_AI_MARGIN_S = 0.25


class ComposeResult(BaseModel):
    """What ``/compose`` shows: the final plan, the optimizer's plan, how it was solved, the AI."""

    model_config = ConfigDict(frozen=True)

    plan: Plan
    optimizer_plan: Plan
    solve: SolveInfo
    ai: AIOutcome


async def compose(
    request: ComposeRequest,
    *,
    match_context: MatchContext | None = None,
    ai: MistralComposer | None = None,
    metrics: ComposerMetrics | None = None,
    exclude: Iterable[str] = (),
    deadline_s: float = 10.0,
    solver_time_limit_s: float = 3.0,
    catalogue: Catalogue | None = None,
    language: str = "en",
) -> ComposeResult:
    """Plan the squad off the event loop, then ask Mistral once (if configured) within the deadline.

    Raises :class:`~services.composer.problem.CompositionError` (a ``UserFacingError``) for a
    request that cannot be planned. Every AI failure degrades to the optimizer's plan with a note.
    """
    started = time.monotonic()
    problem = resolve(request, catalogue)
    time_limit = max(0.05, min(solver_time_limit_s, deadline_s * 0.5))
    result = await asyncio.to_thread(
        solve_problem,
        problem,
        exclude=tuple(exclude),
        time_limit_s=time_limit,
        node_limit=DEFAULT_NODE_LIMIT,
    )
    if metrics is not None:
        metrics.solver_runs.labels(result.solve.method, result.solve.status).inc()
        metrics.solve_seconds.labels(result.solve.method).observe(result.solve.seconds)
    plan = result.plan
    if ai is None:
        _fallback(metrics, "no_key")
        outcome = AIOutcome(status="off", note=unavailable_note("no_key"))
        return ComposeResult(plan=plan, optimizer_plan=plan, solve=result.solve, ai=outcome)
    budget = deadline_s - (time.monotonic() - started) - _AI_MARGIN_S
    if budget <= 0.2:
        _fallback(metrics, "no_time")
        outcome = AIOutcome(status="unavailable", note=unavailable_note("no_time"))
        return ComposeResult(plan=plan, optimizer_plan=plan, solve=result.solve, ai=outcome)
    try:
        reply = await asyncio.wait_for(
            ai.advise(problem, plan, match_context, budget_s=budget, language=language),
            timeout=budget + 0.1,
        )
    except TimeoutError:
        _fallback(metrics, "timeout")
        outcome = AIOutcome(status="unavailable", note=unavailable_note("timeout"))
        return ComposeResult(plan=plan, optimizer_plan=plan, solve=result.solve, ai=outcome)
    if reply.advice is None:
        _fallback(metrics, reply.outcome)
        outcome = AIOutcome(
            status="unavailable", note=reply.note or unavailable_note(reply.outcome)
        )
        return ComposeResult(plan=plan, optimizer_plan=plan, solve=result.solve, ai=outcome)
    final, verdicts = review_proposals(problem, plan, reply.advice.proposals)
    if metrics is not None:
        for verdict in verdicts:
            metrics.ai_proposals.labels("accepted" if verdict.accepted else "rejected").inc()
    outcome = AIOutcome(
        status="ok",
        briefing=reply.advice.briefing,
        subgroup_notes=tuple(reply.advice.subgroup_notes),
        verdicts=tuple(verdicts),
    )
    return ComposeResult(plan=final, optimizer_plan=plan, solve=result.solve, ai=outcome)


def _fallback(metrics: ComposerMetrics | None, reason: str) -> None:
    if metrics is not None:
        metrics.ai_fallbacks.labels(reason).inc()


@dataclass
class _Seat:
    label: str  # the real slot label (player name or "Open slot N")
    player: str | None
    option: int
    subgroup: int


def review_proposals(
    problem: Problem, plan: Plan, proposals: Sequence[AIProposal]
) -> tuple[Plan, list[ProposalVerdict]]:
    """Apply each valid, non-worsening proposal in order; reject the rest with one line why.

    Proposals name slots by the prompt's pseudonyms (``Player N``, ``Open slot N``) of ``plan``.
    """
    names = pseudonyms(plan)
    seats: dict[str, _Seat] = {}
    for label, (gi, si) in names.items():
        slot = plan.subgroups[gi].slots[si]
        option = problem.catalogue.option(slot.spec, slot.role)
        if option is None:  # a plan from build_plan always uses catalogue options
            continue
        seats[label] = _Seat(slot.label, slot.player, problem.option_index[option.key], gi)
    current = plan
    verdicts: list[ProposalVerdict] = []
    for proposal in proposals:
        candidate = _apply(problem, seats, proposal)
        if isinstance(candidate, tuple):
            code, details = candidate
            verdicts.append(
                ProposalVerdict(proposal=proposal, accepted=False, code=code, details=details)
            )
            continue
        new_plan = build_plan(problem, _raw_of(candidate, len(plan.subgroups)))
        _, violations = plan_to_raw(problem, new_plan)
        delta = new_plan.score - current.score
        if violations:
            verdicts.append(
                ProposalVerdict(
                    proposal=proposal,
                    accepted=False,
                    code="breaks_rule",
                    rule=violations[0],
                    score_delta=delta,
                )
            )
            continue
        if delta < 0:
            code, details = _loss(current, new_plan)
            verdicts.append(
                ProposalVerdict(
                    proposal=proposal,
                    accepted=False,
                    code=code,
                    details=details,
                    score_delta=delta,
                )
            )
            continue
        seats = candidate
        current = new_plan
        verdicts.append(
            ProposalVerdict(
                proposal=proposal,
                accepted=True,
                code="keeps_coverage" if delta == 0 else "improves_score",
                details={} if delta == 0 else {"delta": delta},
                score_delta=delta,
            )
        )
    return current, verdicts


# Why a proposal cannot be applied: a verdict code and its details.
Refusal = tuple[VerdictCode, dict[str, str | int]]


def _apply(
    problem: Problem, seats: dict[str, _Seat], proposal: AIProposal
) -> dict[str, _Seat] | Refusal:
    """The seats after ``proposal``, or why it cannot be applied."""
    seat = seats.get(proposal.player)
    if seat is None:
        return ("unknown_slot", {"slot": proposal.player})
    out = {k: _Seat(s.label, s.player, s.option, s.subgroup) for k, s in seats.items()}
    if proposal.kind == "respec":
        spec = problem.catalogue.resolve_spec(proposal.spec or "")
        if spec is None:
            return ("unknown_spec", {"typed": proposal.spec or ""})
        role = (proposal.role or "").strip().casefold()
        options = problem.catalogue.options_for(spec.key)
        option = next((o for o in options if o.role == role), None)
        if option is None:
            if proposal.role is not None or len(options) != 1:
                return ("role_not_played", {"spec": spec.key, "role": proposal.role or ""})
            option = options[0]
        opt = problem.option_index[option.key]
        if seat.player is not None:
            allowed = problem.locked.get(seat.player, problem.allowed.get(seat.player, frozenset()))
            if opt not in allowed:
                if seat.player in problem.locked:
                    return ("locked", {"player": proposal.player})
                return ("cannot_play", {"player": proposal.player, "spec": spec.key})
        out[proposal.player].option = opt
        return out
    other = seats.get(proposal.other_player or "")
    if other is None:
        return ("unknown_slot", {"slot": proposal.other_player or ""})
    if other.subgroup == seat.subgroup:
        return (
            "same_subgroup",
            {"player": proposal.player, "other": proposal.other_player or ""},
        )
    out[proposal.player].subgroup, out[proposal.other_player or ""].subgroup = (
        other.subgroup,
        seat.subgroup,
    )
    return out


def _raw_of(seats: dict[str, _Seat], groups: int) -> list[list[tuple[str | None, int]]]:
    raw: list[list[tuple[str | None, int]]] = [[] for _ in range(groups)]
    for _, seat in sorted(seats.items()):
        raw[seat.subgroup].append((seat.player, seat.option))
    return raw


def _loss(before: Plan, after: Plan) -> Refusal:
    """The first need the change loses (a need key), or the score it drops to."""
    before_squad = {s.need: s for s in before.squad}
    for item in after.squad:
        old = before_squad.get(item.need)
        if old is not None and min(item.reached, item.target) < min(old.reached, old.target):
            return "loses_squad_need", {
                "need": item.need,
                "reached": item.reached,
                "target": item.target,
            }
    lost_before = {(u.subgroup, u.need) for u in before.unmet if u.scope == "subgroup"}
    for unmet in sorted(after.unmet, key=lambda u: -u.weight):
        if unmet.scope == "subgroup" and (unmet.subgroup, unmet.need) not in lost_before:
            return "loses_subgroup_need", {"need": unmet.need}
    return "lowers_score", {"before": before.score, "after": after.score}
