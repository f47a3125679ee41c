"""A fake Mistral ``/v1/chat/completions`` on 127.0.0.1 (aiohttp), scriptable per request.

Usage::

    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json({...}), MistralReply.status(429))
        client = Mistral(api_key="k", server_url=fake.url)

Unscripted requests get ``fake.default``. Every request body is recorded in ``fake.requests`` so
tests can assert what was (not) sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["FakeMistral", "MistralReply"]

_ERROR_BODIES: dict[int, dict[str, Any]] = {
    401: {"message": "Unauthorized", "request_id": "fake-401"},
    429: {
        "object": "error",
        "message": "Requests rate limit exceeded",
        "type": "rate_limited",
        "param": None,
        "code": "1300",
    },
    500: {
        "object": "error",
        "message": "Internal server error",
        "type": "internal_error",
        "code": "3000",
    },
    503: {"object": "error", "message": "Service unavailable", "type": "service_unavailable"},
}


@dataclass
class MistralReply:
    """One scripted answer."""

    status: int = 200
    content: str | None = ""
    finish_reason: str = "stop"
    delay_s: float = 0.0
    body: dict[str, Any] | None = None
    raw_body: str | None = None

    @classmethod
    def ok_json(cls, payload: dict[str, Any], **kw: Any) -> MistralReply:
        """A 200 whose message content is ``payload`` as JSON."""
        return cls(content=json.dumps(payload), **kw)

    @classmethod
    def error(cls, status: int) -> MistralReply:
        """An HTTP error with Mistral's error body shape."""
        return cls(status=status, body=_ERROR_BODIES.get(status, {"message": f"error {status}"}))

    @classmethod
    def slow(cls, delay_s: float) -> MistralReply:
        """A valid-looking answer that arrives after ``delay_s`` (to trigger timeouts)."""
        return cls(content="{}", delay_s=delay_s)

    @classmethod
    def truncated(cls, payload: dict[str, Any]) -> MistralReply:
        """JSON cut in the middle, finish_reason ``length``."""
        text = json.dumps(payload)
        return cls(content=text[: len(text) // 2], finish_reason="length")

    @classmethod
    def malformed(cls) -> MistralReply:
        """Content that starts like JSON but is not."""
        return cls(content='{"briefing": "Push the keep", "proposals": [}')

    @classmethod
    def refusal(cls) -> MistralReply:
        """A polite refusal in prose."""
        return cls(content="I'm sorry, but I can't help with that request.")

    @classmethod
    def garbage_200(cls) -> MistralReply:
        """A 200 whose body is not a chat completion at all."""
        return cls(raw_body='{"unexpected": true}')


@dataclass
class FakeMistral:
    """The server. ``requests`` holds each request's JSON body and headers."""

    default: MistralReply = field(default_factory=lambda: MistralReply.ok_json({"briefing": "ok"}))
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _queue: list[MistralReply] = field(default_factory=list)
    # The model list (/about's probe): status and delay of ``models_reply`` apply.
    models_reply: MistralReply = field(default_factory=lambda: MistralReply.ok_json({}))
    model_list_requests: int = 0
    _runner: web.AppRunner | None = None
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def url(self) -> str:
        """The ``server_url`` for the SDK (it appends ``/v1/...``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        """How many chat requests arrived."""
        return len(self.requests)

    def script(self, *replies: MistralReply) -> None:
        """Queue answers for the next requests, in order."""
        self._queue.extend(replies)

    def prompts(self) -> list[str]:
        """Every message content sent, all requests."""
        return [m.get("content", "") for r in self.requests for m in r.get("messages", [])]

    async def __aenter__(self) -> FakeMistral:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.StreamResponse:
        """``GET /v1/models`` (the /about probe): answers with ``models_reply``."""
        self.model_list_requests += 1
        reply = self.models_reply
        if reply.delay_s:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay_s)
        if reply.status != 200:
            return web.Response(
                status=reply.status,
                text=json.dumps({"message": "no"}),
                content_type="application/json",
            )
        model = {
            "id": "mistral-small-latest",
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "mistralai",
            "capabilities": {"completion_chat": True},
            "type": "base",
        }
        payload = {"object": "list", "data": [model]}
        return web.Response(status=200, text=json.dumps(payload), content_type="application/json")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        reply = self._queue.pop(0) if self._queue else self.default
        if reply.delay_s:
            # Wake early when the fake shuts down so tests do not wait for a hung reply.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay_s)
        if reply.raw_body is not None:
            return web.Response(
                status=reply.status, text=reply.raw_body, content_type="application/json"
            )
        if reply.status != 200:
            return web.Response(
                status=reply.status,
                text=json.dumps(reply.body or {}),
                content_type="application/json",
            )
        payload = {
            "id": f"cmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "model": body.get("model", "fake"),
            "created": int(time.time()),
            "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375},
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "tool_calls": None},
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
        return web.Response(status=200, text=json.dumps(payload), content_type="application/json")
