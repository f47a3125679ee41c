"""One HTTP request to the GW2 API and what its answer means.

:class:`GW2Transport` is the bottom layer of :class:`~services.gw2.client.GW2Client`: it builds
the URL and headers (the key travels in a header or, if configured, the query), makes one GET
over the bot's shared ``aiohttp`` session, and turns the answer into either a :class:`CacheEntry`
(parsed value plus a TTL from the family's policy and the API's ``Cache-Control`` / ``Expires``)
or a :class:`Failure` (the error it maps to and whether it is worth retrying; a 429 also pauses
the rate limiter). Retries, caching and coalescing live one layer up, in :mod:`.core`.

Keys never appear in metric labels, log lines or exception texts.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

import aiohttp
import yarl
from pydantic import TypeAdapter, ValidationError

from services.clock import Clock

from . import models
from .cache import CacheEntry
from .errors import BadResponseError, Failure, UnavailableError, classify_failure
from .metrics import GW2Metrics
from .policies import DEFAULT_POLICY, CachePolicy
from .ratelimit import GW2RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = "2024-07-20T01:00:00.000Z"
DEFAULT_USER_AGENT = (
    "GW2Optimizer/0.1.0 (Discord bot; +https://github.com/gw2optimizer/gw2optimizer)"
)

AuthTransport = Literal["header", "query"]


class GW2Transport:
    """One attempt at one URL: request, parse, map errors, count. See the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        clock: Clock,
        metrics: GW2Metrics | None,
        auth_transport: AuthTransport,
        schema_version: str,
        user_agent: str,
        request_timeout: float,
        rate_limiter: GW2RateLimiter,
        policies: dict[str, CachePolicy],
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._metrics = metrics
        self.auth_transport: AuthTransport = auth_transport
        self._schema_version = schema_version
        self._user_agent = user_agent
        self._request_timeout = request_timeout
        self.rate_limiter = rate_limiter
        self._policies = policies

    def _url(self, path: str, params: Mapping[str, str], key: str | None) -> yarl.URL:
        query = {**params, "v": self._schema_version}
        if key is not None and self.auth_transport == "query":
            query["access_token"] = key
        return yarl.URL(
            f"{self._base_url}{path}?{urllib.parse.urlencode(query, safe=',')}", encoded=True
        )

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        if key is not None and self.auth_transport == "header":
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def _attempt(
        self,
        family: str,
        url: yarl.URL,
        headers: Mapping[str, str],
        adapter: TypeAdapter[T],
        time_limit: float,
        kid: str | None = None,
        *,
        keep_raw: bool = False,
    ) -> CacheEntry | Failure:
        """One GET. ``keep_raw`` keeps the body on the entry (to publish it to other processes)."""
        started = time.perf_counter()
        try:
            async with self._session.get(
                url, headers=headers, timeout=aiohttp.ClientTimeout(total=time_limit)
            ) as response:
                body = await response.read()
                status = response.status
                response_headers = response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            self._count(family, "unavailable")
            reason = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
            return Failure(UnavailableError(family=family, upstream_text=reason), retryable=True)
        finally:
            if self._metrics is not None:
                self._metrics.latency.labels(family).observe(time.perf_counter() - started)

        if status in (200, 206):
            try:
                value = adapter.validate_json(body)
            except ValidationError as exc:
                broken_json = any(e["type"] == "json_invalid" for e in exc.errors())
                self._count(family, "bad_response")
                log.warning(
                    "GW2 API %s: unreadable answer (%s)",
                    family,
                    "broken JSON" if broken_json else f"{exc.error_count()} validation errors",
                )
                return Failure(
                    BadResponseError(family=family, status=status), retryable=broken_json
                )
            self._count(family, "ok")
            entry = self._entry(family, value, response_headers)
            entry.raw = body if keep_raw else None
            return entry

        text = _error_text(body)
        retry_after = _retry_after(response_headers.get("Retry-After"), self._clock.now())
        if retry_after is not None:
            retry_after = min(retry_after, self.rate_limiter.max_pause)
        failure = classify_failure(status, text, family=family, retry_after=retry_after)
        if status == 429:
            self._pause(family, kid, retry_after)
        self._count(family, failure.error.outcome)
        return failure

    def _pause(self, family: str, kid: str | None, retry_after: float | None) -> None:
        """A 429: hold back this key (or, for public data, this family), capped, and show it."""
        scope, applied = self.rate_limiter.pause(
            retry_after if retry_after is not None else 1.0, family=family, key_id=kid
        )
        if self._metrics is not None:
            self._metrics.upstream_pauses.labels(family, scope or "all").inc()
            self._metrics.upstream_pause_seconds.labels(family).observe(applied)
        log.warning(
            "GW2 API %s answered 429: pausing %s requests for %.0f s", family, scope, applied
        )

    def _entry(self, family: str, value: Any, headers: Mapping[str, str]) -> CacheEntry:
        policy = self._policies.get(family, DEFAULT_POLICY)
        ttl = _header_ttl(headers)
        ttl = policy.ttl if ttl is None else min(ttl, policy.max_ttl)
        mono = self._clock.monotonic()
        return CacheEntry(
            value=value,
            fetched_at=self._clock.now(),
            fetched_mono=mono,
            expires_mono=mono + ttl,
            discard_mono=mono + max(ttl, policy.stale_for),
        )

    def _count(self, family: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.requests.labels(family, outcome).inc()


_MAX_AGE_RE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


def _header_ttl(headers: Mapping[str, str]) -> float | None:
    """Seconds of freshness the API granted via ``Cache-Control`` or ``Expires``, if any."""
    control = headers.get("Cache-Control", "")
    if "no-store" in control or "no-cache" in control:
        return 0.0
    match = _MAX_AGE_RE.search(control)
    if match:
        return float(match.group(1))
    expires = headers.get("Expires")
    if expires:
        try:
            expires_at = parsedate_to_datetime(expires)
            date_header = headers.get("Date")
            reference = parsedate_to_datetime(date_header) if date_header else None
        except (TypeError, ValueError):
            return 0.0
        if reference is None or expires_at.tzinfo is None or reference.tzinfo is None:
            return None
        return max(0.0, (expires_at - reference).total_seconds())
    return None


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), uncapped."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _error_text(body: bytes) -> str:
    """The API's ``{"text": ...}`` message, or a short printable prefix of whatever came back."""
    try:
        decoded = models.ERROR_BODY.validate_json(body)
    except ValidationError:
        return body[:200].decode("utf-8", "replace").strip()
    return decoded.text
