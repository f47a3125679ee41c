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

The prompt is built in :mod:`services.composer.prompt` and the answer checked in
:mod:`services.composer.answer`; this module makes the one SDK call and maps its failures.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from services.composer.answer import (
    AIAdvice,
    AIReply,
    check_answer,
    fail,
    message_text,
    unavailable_note,
)
from services.composer.language import language_instruction
from services.composer.metrics import ComposerMetrics
from services.composer.models import Plan
from services.composer.problem import Problem
from services.composer.prompt import SYSTEM_PROMPT, MatchContext, build_prompt
from services.secrets import SecretRedactor

if TYPE_CHECKING:
    from mistralai.client.models import SystemMessage, UserMessage

# The SDK (and its HTTP stack) is imported when a composer is made, not at start-up: it takes
# about a second to import, and a bot without MISTRAL_API_KEY never needs it.

__all__ = ["MistralComposer", "make_mistral_composer"]


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
            return fail("timeout")
        except mistral_errors.HTTPValidationError:
            return fail("bad_request")
        except mistral_errors.ResponseValidationError:
            return fail("malformed_json")
        except mistral_errors.NoResponseError:
            return fail("unreachable")
        except mistral_errors.MistralError as error:
            return fail(_status_outcome(error.status_code))
        except (httpx2.ConnectError, httpx2.RemoteProtocolError, OSError):
            return fail("unreachable")
        except httpx2.HTTPError:
            return fail("unreachable")
        if self.metrics is not None and response.usage is not None:
            self.metrics.mistral_tokens.labels("prompt").inc(response.usage.prompt_tokens or 0)
            self.metrics.mistral_tokens.labels("completion").inc(
                response.usage.completion_tokens or 0
            )
        if not response.choices:
            return fail("empty")
        choice = response.choices[0]
        content = choice.message.content if choice.message is not None else None
        return check_answer(message_text(content), choice.finish_reason, language)

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


def _status_outcome(status: int) -> str:
    if status in (401, 403):
        return "unauthorized"
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    return "bad_request"
