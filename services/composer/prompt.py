"""The prompt sent to Mistral: the match context, the system prompt and the plan as JSON.

What the prompt may hold (see :mod:`services.composer.mistral` for the whole contract): the plan
with players as ``Player N`` pseudonyms and open slots as ``Open slot N``, the mode, the catalogue
names and the live match. No player or account name, Discord id or secret; the composer also
passes the result through the secret redactor before sending it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.composer.models import Plan
from services.composer.problem import Problem

__all__ = [
    "SYSTEM_PROMPT",
    "Colour",
    "MapContext",
    "MatchContext",
    "TeamContext",
    "build_prompt",
    "pseudonyms",
]

Colour = Literal["red", "green", "blue"]


class TeamContext(BaseModel):
    """One side of the match."""

    model_config = ConfigDict(frozen=True)

    colour: Colour
    name: str
    score: int = 0
    victory_points: int = 0
    ppt: int = 0
    kills: int | None = None
    deaths: int | None = None


class MapContext(BaseModel):
    """One map of the match: owners' scores and how contested it is."""

    model_config = ConfigDict(frozen=True)

    name: str
    ppt: dict[Colour, int] = Field(default_factory=dict)
    contested_objectives: int = 0
    recently_flipped: tuple[str, ...] = ()


class MatchContext(BaseModel):
    """The live match as the cog knows it (filled from the GW2 API by the cog)."""

    model_config = ConfigDict(frozen=True)

    our_colour: Colour | None = None
    teams: tuple[TeamContext, ...] = ()
    maps: tuple[MapContext, ...] = ()
    skirmish_ends_in_minutes: int | None = None
    data_age_seconds: int | None = None

    def leader(self) -> TeamContext | None:
        """The team ahead on victory points (then score), if any."""
        if not self.teams:
            return None
        return max(self.teams, key=lambda t: (t.victory_points, t.score, t.colour))


def pseudonyms(plan: Plan) -> dict[str, tuple[int, int]]:
    """Prompt label → (subgroup index, slot index). Players become ``Player N`` in plan order."""
    out: dict[str, tuple[int, int]] = {}
    player_no = 0
    for gi, group in enumerate(plan.subgroups):
        for si, slot in enumerate(group.slots):
            if slot.player is None:
                out[slot.label] = (gi, si)
            else:
                player_no += 1
                out[f"Player {player_no}"] = (gi, si)
    return out


SYSTEM_PROMPT = (
    "You are a Guild Wars 2 World vs World squad advisor. You receive a squad plan computed by an "
    "optimizer (subgroups of at most 5, each slot with a spec and a role, boon coverage per "
    "subgroup and squad-wide), the mode and, when known, the live match. Answer ONLY with JSON "
    "matching the schema: a short commander briefing (what to focus on given the match), one note "
    "per subgroup, and at most 5 proposals. A proposal is either kind='respec' (player gets "
    "another spec key and role key from the catalogue list) or kind='swap' (two slots in different "
    "subgroups trade places). Use slot labels exactly as given. Only propose changes that keep or "
    "improve boon coverage; the optimizer rejects anything else."
)


def build_prompt(problem: Problem, plan: Plan, match: MatchContext | None) -> str:
    """The user message: plan with pseudonyms, allowed specs per slot, mode, match context."""
    labels = {pos: label for label, pos in pseudonyms(plan).items()}
    subgroups = []
    for gi, group in enumerate(plan.subgroups):
        slots = []
        for si, slot in enumerate(group.slots):
            label = labels[(gi, si)]
            can_play: str | list[str] = "any"
            if slot.player is not None:
                opts = problem.locked.get(
                    slot.player, problem.allowed.get(slot.player, frozenset())
                )
                can_play = sorted({problem.options[o].spec.key for o in opts})
            slots.append(
                {"slot": label, "spec": slot.spec, "role": slot.role, "can_play": can_play}
            )
        subgroups.append(
            {
                "subgroup": group.number,
                "slots": slots,
                "covered": sorted(c.need for c in group.coverage if c.providers),
                "missing": sorted(c.need for c in group.coverage if not c.providers),
            }
        )
    body: dict[str, Any] = {
        "mode": {"key": problem.mode.key, "description": problem.mode.description},
        "squad_size": plan.size,
        "subgroups": subgroups,
        "squad_wide": [
            {"need": s.need, "reached": s.reached, "target": s.target} for s in plan.squad
        ],
        "catalogue": {
            spec: sorted({o.role for o in problem.options if o.spec.key == spec})
            for spec in sorted({o.spec.key for o in problem.options})
        },
    }
    if match is not None:
        leader = match.leader()
        body["match"] = {
            "our_colour": match.our_colour,
            "ahead": leader.colour if leader else None,
            "teams": [t.model_dump() for t in match.teams],
            "maps": [m.model_dump() for m in match.maps],
            "skirmish_ends_in_minutes": match.skirmish_ends_in_minutes,
            "data_age_seconds": match.data_age_seconds,
        }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
