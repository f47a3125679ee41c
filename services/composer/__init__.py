"""Squad composition: spec catalogue, deterministic optimizer, and the Mistral advisor.

Entry points: :func:`compose` (async, for the cog), :func:`optimize` / :func:`alternatives`
(blocking, exact), :func:`score_plan` (score any plan the same way).
"""

from services.composer.answer import AIAdvice, AIOutcome, AIProposal, ProposalVerdict
from services.composer.catalogue import Catalogue, default_catalogue, load_catalogue
from services.composer.metrics import ComposerMetrics
from services.composer.mistral import MistralComposer, make_mistral_composer
from services.composer.models import (
    ComposeRequest,
    Lock,
    OptimizeResult,
    Plan,
    PlanScore,
    RosterPlayer,
    Slot,
    SolveInfo,
    SubgroupPlan,
    UnmetNeed,
)
from services.composer.optimizer import alternatives, optimize
from services.composer.problem import CompositionError
from services.composer.prompt import MapContext, MatchContext, TeamContext
from services.composer.scoring import score_plan
from services.composer.service import ComposeResult, compose, review_proposals

__all__ = [
    "AIAdvice",
    "AIOutcome",
    "AIProposal",
    "Catalogue",
    "ComposeRequest",
    "ComposeResult",
    "ComposerMetrics",
    "CompositionError",
    "Lock",
    "MapContext",
    "MatchContext",
    "MistralComposer",
    "OptimizeResult",
    "Plan",
    "PlanScore",
    "ProposalVerdict",
    "RosterPlayer",
    "Slot",
    "SolveInfo",
    "SubgroupPlan",
    "TeamContext",
    "UnmetNeed",
    "alternatives",
    "compose",
    "default_catalogue",
    "load_catalogue",
    "make_mistral_composer",
    "optimize",
    "review_proposals",
    "score_plan",
]
