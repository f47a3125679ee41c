"""Inputs and outputs of the squad optimizer (pydantic, immutable, JSON-serialisable).

Players are identified by the name the commander knows them by (display or account name): the
optimizer never sees a Discord id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ComposeRequest",
    "Lock",
    "NeedCoverage",
    "OptimizeResult",
    "Plan",
    "PlanScore",
    "RosterPlayer",
    "Slot",
    "SolveInfo",
    "SquadNeedCoverage",
    "SubgroupPlan",
    "UnmetNeed",
    "UnmetReason",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class RosterPlayer(BaseModel):
    """A player who signed up, with the specs they can play (keys, names or specialization ids)."""

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=64)
    specs: tuple[str, ...] = Field(min_length=1)

    @field_validator("specs", mode="before")
    @classmethod
    def _specs_as_text(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)
        return value


class Lock(BaseModel):
    """A fixed choice: ``player`` plays ``spec`` (and ``role`` when given) and is always placed."""

    model_config = _FROZEN

    player: str = Field(min_length=1, max_length=64)
    spec: str
    role: str | None = None


class ComposeRequest(BaseModel):
    """What the commander asks for.

    Without a roster every slot is open (any spec). With a roster shorter than ``size`` every
    roster player is placed and the rest are open slots to recruit; with a longer roster exactly
    ``size`` players are chosen (locked players first) and the others are listed as the bench.
    ``layout="balanced"`` spreads players over ``ceil(size/5)`` subgroups whose sizes differ by at
    most one; ``"fill"`` fills subgroups of 5 and puts the remainder last.
    """

    model_config = _FROZEN

    # Checked by the optimizer (``CompositionError``, a message for the player), not here.
    size: int
    mode: str = "zerg"
    roster: tuple[RosterPlayer, ...] = ()
    locks: tuple[Lock, ...] = ()
    layout: Literal["balanced", "fill"] = "balanced"


class Slot(BaseModel):
    """One player (or open slot) in a subgroup with the spec and role they play."""

    model_config = _FROZEN

    label: str
    player: str | None
    spec: str
    spec_name: str
    profession: str
    role: str
    role_label: str


class NeedCoverage(BaseModel):
    """A subgroup need and who covers it (slot labels; empty when uncovered)."""

    model_config = _FROZEN

    need: str
    label: str
    weight: int
    providers: tuple[str, ...]

    @property
    def covered(self) -> bool:
        """True when at least one slot of the subgroup provides the need."""
        return bool(self.providers)


class SubgroupPlan(BaseModel):
    """A subgroup of at most five slots and its coverage."""

    model_config = _FROZEN

    number: int
    slots: tuple[Slot, ...]
    coverage: tuple[NeedCoverage, ...]
    score: int

    @property
    def covered_needs(self) -> frozenset[str]:
        """Needs with at least one provider."""
        return frozenset(c.need for c in self.coverage if c.providers)


class SquadNeedCoverage(BaseModel):
    """A squad-wide need: units wanted, units reached, and who contributes."""

    model_config = _FROZEN

    need: str
    label: str
    target: int
    reached: int
    weight: int
    providers: tuple[str, ...]


class UnmetReason(BaseModel):
    """Why a need is unmet, as data: the renderer words it in the reader's language.

    - ``no_spec``: no spec in the catalogue provides it;
    - ``nobody``: nobody in the roster can (``examples``: option keys that could, ``spec:role``);
    - ``too_few``: only ``able`` players (or open slots) can, for ``subgroups`` subgroups;
    - ``traded``: the subgroup's ``slots`` went to heavier needs;
    - ``partial``: a squad-wide need reached ``reached`` of ``target``.
    """

    model_config = _FROZEN

    kind: Literal["no_spec", "nobody", "too_few", "traded", "partial"]
    able: int = 0
    subgroups: int = 0
    slots: int = 0
    reached: int = 0
    target: int = 0
    examples: tuple[str, ...] = ()


class UnmetNeed(BaseModel):
    """A need the plan leaves open, and why (``reason``: one English line; ``why``: as data)."""

    model_config = _FROZEN

    scope: Literal["subgroup", "squad"]
    subgroup: int | None
    need: str
    label: str
    weight: int
    reason: str
    why: UnmetReason | None = None


class Plan(BaseModel):
    """A complete squad plan. Equal inputs give byte-identical ``model_dump_json()``."""

    model_config = _FROZEN

    mode: str
    size: int
    subgroups: tuple[SubgroupPlan, ...]
    squad: tuple[SquadNeedCoverage, ...]
    unmet: tuple[UnmetNeed, ...]
    bench: tuple[str, ...]
    score: int
    signature: str

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every slot, subgroup by subgroup."""
        return tuple(s for g in self.subgroups for s in g.slots)


class PlanScore(BaseModel):
    """The score of any plan (optimizer, AI proposal, user edit), and the rules it breaks."""

    model_config = _FROZEN

    total: int
    subgroup: int
    squad: int
    preference: int
    violations: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        """True when the plan respects size, subgroup, catalogue and roster constraints."""
        return not self.violations


class SolveInfo(BaseModel):
    """How the plan was found. ``seconds`` is wall time and is the only non-deterministic field."""

    model_config = _FROZEN

    method: Literal["milp", "heuristic"]
    # optimal: proven best; within_gap: proven within ``gap`` of the best (the 1 % target);
    # node_limit: the search budget ran out, ``gap`` is what was proven; time_limit /
    # infeasible_exclusions: the deterministic heuristic plan, no bound.
    status: Literal["optimal", "within_gap", "node_limit", "time_limit", "infeasible_exclusions"]
    score: int
    bound: float | None
    gap: float | None
    nodes: int
    seconds: float


class OptimizeResult(BaseModel):
    """A plan and how it was solved."""

    model_config = _FROZEN

    plan: Plan
    solve: SolveInfo
