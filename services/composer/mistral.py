"""The Mistral layer: explain the optimizer's plan and propose swaps, checked by the optimizer.

Contract:

* At most **one HTTP request per command**. ``retries`` (0 or 1) only re-sends after a connection
  failure (nothing reached Mistral), and only while the deadline allows; a timeout, 429 or 5xx is
  never retried.
* The prompt holds the plan (players as ``Player N`` pseudonyms, open slots as ``Open slot N``),
  the mode, the catalogue names and the match context. No player or account name, Discord id or
  secret is sent; the prompt is also passed through the secret redactor.
* The answer must be JSON matching :class:`AIAdvice`; anything else (no key, 401, 429, 5xx,
  timeout, refusal, malformed/truncated JSON, schema mismatch) becomes ``AI unavailable: <reason>``
  and the optimizer's plan is served alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.composer.language import language_instruction, written_in
from services.composer.metrics import ComposerMetrics
from services.composer.models import Plan
from services.composer.plain_text import plain_model
from services.composer.problem import Problem
from services.i18n import N_
from services.secrets import SecretRedactor

if TYPE_CHECKING:
    from mistralai.client.models import SystemMessage, UserMessage

# The SDK (and its HTTP stack) is imported when a composer is made, not at start-up: it takes
# about a second to import, and a bot without MISTRAL_API_KEY never needs it.

__all__ = [
    "AIAdvice",
    "AIOutcome",
    "AIProposal",
    "AIReply",
    "MapContext",
    "MatchContext",
    "MistralComposer",
    "ProposalVerdict",
    "SubgroupNote",
    "TeamContext",
    "make_mistral_composer",
    "pseudonyms",
]

log = logging.getLogger(__name__)

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


class ProposalVerdict(BaseModel):
    """What the optimizer made of one proposal."""

    model_config = ConfigDict(frozen=True)

    proposal: AIProposal
    accepted: bool
    reason: str
    score_delta: int = 0


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


class MistralComposer:
    """One Mistral chat request per command, with an explicit timeout and outcome mapping."""

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        server_url: str | None = None,
        timeout_s: float = 8.0,
        retries: int = 0,
        metrics: ComposerMetrics | None = None,
        redactor: SecretRedactor | None = None,
        max_tokens: int = 900,
    ) -> None:
        if retries not in (0, 1):
            raise ValueError("retries must be 0 or 1 (connection failures only)")
        self.model = model
        self.timeout_s = timeout_s
        self.retries = retries
        self.metrics = metrics
        self.max_tokens = max_tokens
        self._redactor = redactor or SecretRedactor([api_key])
        self._redactor.add_literal(api_key)
        from mistralai.client import Mistral

        self._client = Mistral(
            api_key=api_key, server_url=server_url, timeout_ms=int(timeout_s * 1000)
        )

    async def aclose(self) -> None:
        """Close the SDK's HTTP clients."""
        await self._client.__aexit__(None, None, None)  # type: ignore[no-untyped-call]

    async def advise(
        self,
        problem: Problem,
        plan: Plan,
        match: MatchContext | None,
        *,
        budget_s: float,
        language: str = "en",
    ) -> AIReply:
        """Ask for a briefing and proposals; never raises, never exceeds ``budget_s``.

        The briefing and notes are asked for in ``language`` and checked to be in it."""
        prompt = self._redactor.redact(build_prompt(problem, plan, match))
        deadline = time.monotonic() + budget_s
        attempts = 1 + self.retries
        outcome = "no_time"
        for attempt in range(attempts):
            remaining = min(self.timeout_s, deadline - time.monotonic())
            if remaining < 0.2:
                outcome = "no_time"
                break
            started = time.monotonic()
            reply = await self._request(prompt, remaining, language)
            self._observe(reply.outcome, time.monotonic() - started)
            outcome = reply.outcome
            if reply.outcome != "unreachable" or attempt + 1 == attempts:
                return reply
        return AIReply(outcome=outcome, note=unavailable_note(outcome))

    async def _request(self, prompt: str, timeout_s: float, language: str = "en") -> AIReply:
        import httpx2
        from mistralai.client import errors as mistral_errors
        from mistralai.client.models import SystemMessage, UserMessage

        schema = AIAdvice.model_json_schema()
        messages: list[SystemMessage | UserMessage] = [
            SystemMessage(content=SYSTEM_PROMPT + language_instruction(language)),
            UserMessage(content=prompt),
        ]
        try:
            response = await asyncio.wait_for(
                self._client.chat.complete_async(
                    model=self.model,
                    messages=messages,
                    temperature=0.2,
                    max_tokens=self.max_tokens,
                    response_format={
                        "type": "json_schema",
                        "json_schema": {
                            "name": "squad_advice",
                            "schema_definition": schema,
                            "strict": True,
                        },
                    },
                    timeout_ms=int(timeout_s * 1000),
                ),
                timeout=timeout_s + 0.5,
            )
        except (TimeoutError, httpx2.TimeoutException):
            return _fail("timeout")
        except mistral_errors.HTTPValidationError:
            return _fail("bad_request")
        except mistral_errors.ResponseValidationError:
            return _fail("malformed_json")
        except mistral_errors.NoResponseError:
            return _fail("unreachable")
        except mistral_errors.MistralError as error:
            return _fail(_status_outcome(error.status_code))
        except (httpx2.ConnectError, httpx2.RemoteProtocolError, OSError):
            return _fail("unreachable")
        except httpx2.HTTPError:
            return _fail("unreachable")
        if self.metrics is not None and response.usage is not None:
            self.metrics.mistral_tokens.labels("prompt").inc(response.usage.prompt_tokens or 0)
            self.metrics.mistral_tokens.labels("completion").inc(
                response.usage.completion_tokens or 0
            )
        if not response.choices:
            return _fail("empty")
        choice = response.choices[0]
        content = choice.message.content if choice.message is not None else None
        text = _text(content)
        if choice.finish_reason == "length":
            return _fail("truncated")
        if not text.strip():
            return _fail("empty")
        stripped = text.strip()
        if stripped.startswith("```"):
            stripped = stripped.strip("`").removeprefix("json").strip()
        if not stripped.startswith("{"):
            return _fail("refusal")
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            return _fail("malformed_json")
        try:
            advice = AIAdvice.model_validate(data)
        except ValidationError:
            return _fail("schema_mismatch")
        written = " ".join([advice.briefing, *(n.note for n in advice.subgroup_notes)])
        if not written_in(written, language):
            return _fail("wrong_language")
        # Plain sentences only: no links, mentions or Markdown reach an embed or the channel.
        return AIReply(outcome="ok", advice=plain_model(advice))

    def _observe(self, outcome: str, seconds: float) -> None:
        if self.metrics is None:
            return
        self.metrics.mistral_requests.labels(outcome).inc()
        self.metrics.mistral_seconds.labels(outcome).observe(seconds)


def make_mistral_composer(
    *,
    api_key: str | None,
    model: str,
    server_url: str | None = None,
    timeout_s: float = 8.0,
    retries: int = 0,
    metrics: ComposerMetrics | None = None,
    redactor: SecretRedactor | None = None,
) -> MistralComposer | None:
    """The AI layer, or None (off) without an API key.

    ``redactor`` (the process's, which knows every configured secret) masks the prompt.
    """
    if not api_key:
        return None
    return MistralComposer(
        api_key=api_key,
        model=model,
        server_url=server_url,
        timeout_s=timeout_s,
        retries=min(max(retries, 0), 1),
        metrics=metrics,
        redactor=redactor,
    )


def _fail(outcome: str) -> AIReply:
    return AIReply(outcome=outcome, note=unavailable_note(outcome))


def _status_outcome(status: int) -> str:
    if status in (401, 403):
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "bad_request"


def _text(content: object) -> str:
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
