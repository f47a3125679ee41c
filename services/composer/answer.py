"""Mistral's answer: the schema asked for, how the reply text is checked, and the outcomes.

:class:`AIAdvice` is the JSON the model must return. :func:`check_answer` turns the reply text into
an :class:`AIReply`: advice when the text is JSON matching the schema and written in the requested
language (made plain text, so no link, mention or Markdown reaches Discord), otherwise an outcome
code (``refusal``, ``malformed_json``, ``schema_mismatch``...) whose note reads
``AI unavailable: <reason>``. :class:`ProposalVerdict` and :class:`AIOutcome` carry what the
optimizer then made of the advice (see :mod:`services.composer.service`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.composer.language import written_in
from services.composer.plain_text import plain_model
from services.i18n import N_

__all__ = [
    "AI_UNAVAILABLE_REASONS",
    "VERDICT_REASONS",
    "AIAdvice",
    "AIOutcome",
    "AIProposal",
    "AIReply",
    "ProposalVerdict",
    "SubgroupNote",
    "VerdictCode",
    "check_answer",
    "fail",
    "message_text",
    "unavailable_note",
]


class SubgroupNote(BaseModel):
    """A note for one subgroup."""

    subgroup: int
    note: str = Field(max_length=400)


class AIProposal(BaseModel):
    """A change the model suggests: give ``player`` another spec/role, or swap two slots."""

    kind: Literal["respec", "swap"]
    player: str = Field(description="Slot label exactly as in the plan, e.g. 'Player 3'.")
    spec: str | None = Field(default=None, description="respec: catalogue spec key")
    role: str | None = Field(default=None, description="respec: role key")
    other_player: str | None = Field(default=None, description="swap: the other slot label")
    reason: str = Field(default="", max_length=300)


class AIAdvice(BaseModel):
    """The structured answer requested from Mistral."""

    briefing: str = Field(max_length=1200, description="Short commander briefing, 3-5 sentences.")
    subgroup_notes: list[SubgroupNote] = Field(default_factory=list, max_length=10)
    proposals: list[AIProposal] = Field(default_factory=list, max_length=5)


VerdictCode = Literal[
    "unknown_slot",
    "unknown_spec",
    "role_not_played",
    "locked",
    "cannot_play",
    "same_subgroup",
    "breaks_rule",
    "loses_squad_need",
    "loses_subgroup_need",
    "lowers_score",
    "keeps_coverage",
    "improves_score",
]

# Why a proposal was applied or rejected (message ids: the command shows them translated). The
# details fill the placeholders: ``player``/``other``/``slot`` are the prompt's slot labels
# (``Player 3``), ``spec`` a catalogue spec key, ``need`` a need key; ``typed``/``role`` are the
# model's own words.
VERDICT_REASONS: dict[VerdictCode, str] = {
    "unknown_slot": N_("unknown slot “{slot}”"),
    "unknown_spec": N_("“{typed}” is not a spec in the catalogue"),
    "role_not_played": N_("{spec} cannot play “{role}”"),
    "locked": N_("{player} is locked to their current spec"),
    "cannot_play": N_("{player} cannot play {spec}"),
    "same_subgroup": N_("{player} and {other} are already in the same subgroup"),
    "breaks_rule": N_("the changed plan breaks the roster's rules"),
    "loses_squad_need": N_("lowers coverage: squad {need} drops to {reached}/{target}"),
    "loses_subgroup_need": N_("lowers coverage: a subgroup loses {need}"),
    "lowers_score": N_("lowers coverage: score {before} → {after}"),
    "keeps_coverage": N_("keeps coverage"),
    "improves_score": N_("improves the score by {delta}"),
}


class ProposalVerdict(BaseModel):
    """What the optimizer made of one proposal: applied or not, and why (a code and its details,
    rendered in the reader's language by the cog)."""

    model_config = ConfigDict(frozen=True)

    proposal: AIProposal
    accepted: bool
    code: VerdictCode
    details: dict[str, str | int] = Field(default_factory=dict)
    score_delta: int = 0
    # "breaks_rule": the rule broken, in English (logs and tests; players see the code's text).
    rule: str | None = None

    @property
    def reason(self) -> str:
        """The reason in English with the raw details (logs, tests)."""
        text = VERDICT_REASONS[self.code].format(**self.details)
        return f"{text} ({self.rule})" if self.rule else text


class AIReply(BaseModel):
    """The outcome of one Mistral request (no proposal checked yet)."""

    outcome: str
    advice: AIAdvice | None = None
    note: str | None = None


class AIOutcome(BaseModel):
    """What the command shows from the AI: advice with verdicts, or why there is none."""

    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "off", "unavailable"]
    note: str | None = None
    briefing: str | None = None
    subgroup_notes: tuple[SubgroupNote, ...] = ()
    verdicts: tuple[ProposalVerdict, ...] = ()


# Outcome -> why the AI is unavailable (message ids: the command shows them translated).
AI_UNAVAILABLE_REASONS = {
    "no_key": N_("no Mistral API key configured"),
    "unauthorized": N_("Mistral rejected the API key"),
    "rate_limited": N_("Mistral rate limit reached, try again in a minute"),
    "server_error": N_("Mistral had a server error"),
    "bad_request": N_("Mistral refused the request"),
    "timeout": N_("Mistral did not answer in time"),
    "unreachable": N_("Mistral could not be reached"),
    "refusal": N_("the model declined to answer"),
    "truncated": N_("the answer was cut off"),
    "malformed_json": N_("the answer was not valid JSON"),
    "schema_mismatch": N_("the answer did not match the expected format"),
    "empty": N_("the answer was empty"),
    "no_time": N_("no time left before the deadline"),
    "wrong_language": N_("the answer was not in the requested language"),
}


def unavailable_note(outcome: str) -> str:
    """``AI unavailable: <reason>`` for an outcome code."""
    return f"AI unavailable: {AI_UNAVAILABLE_REASONS.get(outcome, outcome)}"


def fail(outcome: str) -> AIReply:
    """A reply with no advice: the outcome code and its ``AI unavailable`` note."""
    return AIReply(outcome=outcome, note=unavailable_note(outcome))


def check_answer(text: str, finish_reason: str | None, language: str) -> AIReply:
    """The advice in a reply's text, or the outcome saying why there is none."""
    if finish_reason == "length":
        return fail("truncated")
    if not text.strip():
        return fail("empty")
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.strip("`").removeprefix("json").strip()
    if not stripped.startswith("{"):
        return fail("refusal")
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError:
        return fail("malformed_json")
    try:
        advice = AIAdvice.model_validate(data)
    except ValidationError:
        return fail("schema_mismatch")
    written = " ".join([advice.briefing, *(n.note for n in advice.subgroup_notes)])
    if not written_in(written, language):
        return fail("wrong_language")
    # Plain sentences only: no links, mentions or Markdown reach an embed or the channel.
    return AIReply(outcome="ok", advice=plain_model(advice))


def message_text(content: object) -> str:
    """The text of a message content (a string or a list of chunks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = []
        for chunk in content:
            text = getattr(chunk, "text", None)
            if isinstance(text, str):
                parts.append(text)
        return "".join(parts)
    return ""
