"""Constants, records, errors and response helpers shared by the fake Discord's parts."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import orjson
from aiohttp import web

from tests.fakes.discord_payloads import (
    JSON,
)

T = TypeVar("T")

_API_PREFIX = re.compile(r"^/api/v(?:9|10)(?=/)")
_GATEWAY_PATH = "/gateway"
_RESUME_PATH = "/gateway-resume"

# Interaction types and callback types (Discord API values).
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
CB_MESSAGE = 4
CB_DEFER = 5
CB_DEFER_UPDATE = 6
CB_UPDATE = 7
CB_AUTOCOMPLETE = 8
CB_MODAL = 9

_COMPONENT_TYPES_WITH_VALUES = {3, 5, 6, 7, 8}


class FakeDiscordError(RuntimeError):
    """The fake was used wrongly (e.g. injecting an interaction before any client connected)."""


class FakeDiscordTimeout(AssertionError):
    """Something the test waited for did not happen in time."""


@dataclass
class RecordedRequest:
    method: str
    #: Path relative to the API base, e.g. ``/channels/123/messages``.
    path: str
    query: dict[str, str]
    json: Any
    #: Request headers without ``Authorization``.
    headers: dict[str, str]
    had_authorization: bool
    #: Multipart files: filename -> bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 0
    response: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class FailRule:
    method: str
    path: re.Pattern[str]
    status: int
    code: int
    message: str
    times: int | None
    retry_after: float
    is_global: bool
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return self.method in ("*", method) and self.path.search(path) is not None


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors


def dumps_json(payload: Any) -> bytes:
    """JSON as Discord sends it, with orjson (the fake's hot path: benchmarks drive thousands of
    interactions a second through it, and the bot must stay the busier process)."""
    return orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    content_type = request.content_type
    if content_type == "multipart/form-data":
        payload: Any = None
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            raw = await part.read(decode=False)
            if part.name == "payload_json":
                payload = orjson.loads(bytes(raw))
            else:
                files[part.filename or part.name or f"file{len(files)}"] = bytes(raw)
        return payload, files
    if not request.can_read_body:
        return None, files
    raw_body = await request.read()
    if not raw_body:
        return None, files
    try:
        return orjson.loads(raw_body), files
    except orjson.JSONDecodeError:
        return raw_body.decode("utf-8", "replace"), files


def _json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json" (no charset).
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(status=status, body=dumps_json(payload), headers=all_headers)


def _form_error(key: str, code: str, message: str) -> _ApiError:
    errors = {"data": {key: {"_errors": [{"code": code, "message": message}]}}}
    return _ApiError(400, 50035, "Invalid Form Body", errors)


def _error_response(error: _ApiError) -> web.Response:
    payload: JSON = {"message": error.message, "code": error.code}
    if error.errors is not None:
        payload["errors"] = error.errors
    return _json_response(error.status, payload)


def _fault_response(rule: FailRule) -> web.Response:
    if rule.status != 429:
        return _json_response(rule.status, {"message": rule.message, "code": rule.code})
    headers = {
        "Retry-After": f"{rule.retry_after:.3f}",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
        "X-RateLimit-Bucket": "fakebucket" + format(abs(hash(rule.path.pattern)) % 10**8, "08d"),
        "X-RateLimit-Scope": "global" if rule.is_global else "user",
        # discord.py treats a 429 without Via as a Cloudflare ban and raises instead of retrying.
        "Via": "1.1 google",
    }
    if rule.is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": rule.message,
        "retry_after": rule.retry_after,
        "global": rule.is_global,
        "code": rule.code,
    }
    return _json_response(429, body, headers)


# Public names for routes added with ``FakeDiscord.add_route``.
ApiError = _ApiError
json_response = _json_response
