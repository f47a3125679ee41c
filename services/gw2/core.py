"""The GW2 client's resilient core: cache, single-flight, rate limit, retries, stale-if-error.

:class:`GW2Core` sits between the endpoint methods of :class:`~services.gw2.client.GW2Client`
and the one-request layer :class:`~services.gw2.transport.GW2Transport`. Everything goes through
its generic cached fetch, :meth:`GW2Core._get`, which returns a :class:`Fetched` wrapper: the
parsed value plus when it was fetched and whether it is a stale copy served because the API failed.

The resilience layer, in the order a call meets it:

1. **Cache** keyed by ``(path, params, key id)`` with a TTL per endpoint family
   (:data:`.policies.FAMILY_POLICIES`), shortened or lengthened by the API's
   ``Cache-Control: max-age`` / ``Expires`` within a cap.
2. **Single-flight**: identical concurrent calls share one upstream request; in cluster mode
   (``REDIS_URL``) public answers are also shared with the other processes.
3. **Rate limiter** (:mod:`.ratelimit`): the upstream bucket (300, 5/s) shared by every caller,
   with a per-key fairness bucket.
4. **Retries** for 408/429/500/502/504, timeouts, connection errors, broken JSON and the API's
   transient texts, with exponential backoff, jitter and ``Retry-After``; never for key errors,
   not-found or ``503 API not active``. Everything fits a total time budget per call.
5. **Stale-if-error**: when the API is unavailable, rate-limited, switched off or sends garbage and
   an older value exists, that value is returned with ``stale=True`` and the error that caused it.
   Key, permission and not-found errors are always raised.

Keys never appear in cache keys, metric labels, log lines or exception texts (see
:func:`.cache.key_id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

import aiohttp
from pydantic import TypeAdapter, ValidationError

from services.clock import Clock

from . import models
from .cache import CacheEntry, CacheKey, ResponseCache, SharedAnswer, SingleFlight, key_id
from .errors import GW2APIError, RateLimitedError, UnavailableError
from .metrics import GW2Metrics
from .policies import DEFAULT_POLICY, FAMILY_POLICIES, STALE_SERVABLE, CachePolicy, RetryPolicy
from .ratelimit import GW2RateLimiter
from .transport import DEFAULT_USER_AGENT, SCHEMA_VERSION, AuthTransport, GW2Transport

if TYPE_CHECKING:
    from services.shared_state import SharedResponses

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fetched(Generic[T]):
    """A value from the GW2 API and how fresh it is.

    - ``value``: the parsed model(s).
    - ``fetched_at``: when the API produced it (UTC, from the client's clock).
    - ``age``: how old it was when returned (``now - fetched_at``).
    - ``from_cache``: served from the cache rather than a request made for this call (a coalesced
      wait on someone else's in-flight request counts as fresh, not cached).
    - ``stale``: past its TTL, served only because the API failed; ``error`` says why (its
      ``str()`` is user-safe), so the UI can say "served from cache, as of HH:MM".
    """

    value: T
    fetched_at: datetime
    age: timedelta
    from_cache: bool = False
    stale: bool = False
    error: GW2APIError | None = None


class GW2Core(GW2Transport):
    """Cached, coalesced, rate-limited, retried fetches. See the module docstring."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        clock: Clock,
        metrics: GW2Metrics | None = None,
        auth_transport: AuthTransport = "header",
        schema_version: str = SCHEMA_VERSION,
        user_agent: str = DEFAULT_USER_AGENT,
        lang: str = "en",
        rate_limiter: GW2RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        call_budget: float = 8.0,
        request_timeout: float = 5.0,
        cache: ResponseCache | None = None,
        policies: Mapping[str, CachePolicy] | None = None,
        shared: SharedResponses | None = None,
    ) -> None:
        limiter = rate_limiter or GW2RateLimiter(clock)
        super().__init__(
            session,
            base_url=base_url,
            clock=clock,
            metrics=metrics,
            auth_transport=auth_transport,
            schema_version=schema_version,
            user_agent=user_agent,
            request_timeout=request_timeout,
            rate_limiter=limiter,
            policies={**FAMILY_POLICIES, **(policies or {})},
        )
        self._lang = lang
        if metrics is not None:
            metrics.paused_scopes.set_function(self.rate_limiter.paused_scopes)
        self._retry = retry or RetryPolicy()
        self._call_budget = call_budget
        self.cache = cache or ResponseCache()
        self._flights = SingleFlight()
        # Cluster mode (REDIS_URL): public answers shared with the other processes.
        self.shared = shared
        if metrics is not None:
            metrics.precreate(self._policies)

    async def aclose(self) -> None:
        """Cancel requests still in flight; call before closing the shared session."""
        await self._flights.cancel_all()

    async def get_public(
        self,
        family: str,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[T],
        *,
        refresh: bool = False,
        budget: float | None = None,
    ) -> Fetched[T]:
        """A key-less endpoint through the resilient core (for endpoint modules beside the client,
        e.g. :mod:`.game_names`)."""
        return await self._get(family, path, params, adapter, refresh=refresh, budget=budget)

    async def _get(
        self,
        family: str,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[T],
        *,
        key: str | None = None,
        refresh: bool = False,
        budget: float | None = None,
    ) -> Fetched[T]:
        """The generic cached fetch every endpoint method uses (see the module docstring)."""
        kid = key_id(key) if key is not None else None
        ckey: CacheKey = (path, tuple(sorted(params.items())), kid)
        now = self._clock.monotonic()
        entry = self.cache.get(ckey, now)
        if entry is not None and not refresh and now < entry.expires_mono:
            if self._metrics is not None:
                self._metrics.cache.labels(family, "hit").inc()
            value: T = entry.value
            return Fetched(value, entry.fetched_at, self._clock.now() - entry.fetched_at, True)

        task = self._flights.running(ckey)
        joined = task is not None
        if task is None:
            if self._metrics is not None:
                self._metrics.cache.labels(family, "miss").inc()
            task = self._flights.start(
                ckey,
                lambda: self._fetch(family, path, params, adapter, key, kid, ckey, budget),
            )
        elif self._metrics is not None:
            self._metrics.coalesced.labels(family).inc()

        try:
            fresh = await self._await_flight(task, family, budget if joined else None)
        except STALE_SERVABLE as error:
            old = self.cache.get(ckey, self._clock.monotonic())
            if old is None:
                raise
            if self._metrics is not None:
                self._metrics.cache.labels(family, "stale").inc()
            log.warning(
                "GW2 API %s failed (%s); serving a value fetched at %s",
                family,
                error.outcome,
                old.fetched_at.isoformat(),
            )
            stale_value: T = old.value
            return Fetched(
                stale_value,
                old.fetched_at,
                self._clock.now() - old.fetched_at,
                from_cache=True,
                stale=True,
                error=error,
            )
        fresh_value: T = fresh.value
        return Fetched(fresh_value, fresh.fetched_at, self._clock.now() - fresh.fetched_at)

    async def _await_flight(
        self, task: asyncio.Task[CacheEntry], family: str, budget: float | None
    ) -> CacheEntry:
        """The shared request's answer; a caller that joined someone else's request keeps its own
        budget (an autocomplete must not wait out a slower caller's retries)."""
        try:
            if budget is None:
                return await asyncio.shield(task)
            async with asyncio.timeout(max(0.0, budget)):
                return await asyncio.shield(task)
        except TimeoutError:
            raise UnavailableError(family=family, upstream_text="budget spent waiting") from None
        except asyncio.CancelledError:
            if not task.cancelled():
                raise  # this caller was cancelled, not the shared request
            # The shared request was cancelled (the client is closing): an outage to the caller.
            raise UnavailableError(family=family, upstream_text="client closing") from None

    async def _fetch(
        self,
        family: str,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[T],
        key: str | None,
        kid: str | None,
        ckey: CacheKey,
        budget: float | None,
    ) -> CacheEntry:
        """The upstream fetch, through the other processes' answers first when shared."""
        shared = self.shared if key is None else None  # a user's answers are never shared
        if shared is None:
            return await self._fetch_upstream(family, path, params, adapter, key, kid, ckey, budget)
        answer = await shared.lookup(ckey)
        locked = False
        if answer is None:
            locked = await shared.try_lock(ckey)
            if not locked:  # another process is fetching it right now
                answer = await shared.wait_for(
                    ckey, self._call_budget if budget is None else budget
                )
        if answer is not None:
            entry = self._from_shared(family, adapter, answer)
            if entry is not None:
                self.cache.put(ckey, entry)
                return entry
        try:
            entry = await self._fetch_upstream(
                family, path, params, adapter, key, kid, ckey, budget
            )
            await self._publish(shared, ckey, entry)
            return entry
        finally:
            if locked:
                await shared.unlock(ckey)

    def _from_shared(
        self, family: str, adapter: TypeAdapter[T], answer: SharedAnswer
    ) -> CacheEntry | None:
        try:
            value = adapter.validate_json(answer.body)
        except ValidationError:
            return None
        policy = self._policies.get(family, DEFAULT_POLICY)
        mono = self._clock.monotonic()
        remaining = max(0.0, answer.expires_at - self._clock.now().timestamp())
        if self._metrics is not None:
            self._metrics.cache.labels(family, "shared").inc()
        return CacheEntry(
            value=value,
            fetched_at=datetime.fromtimestamp(answer.fetched_at, UTC),
            fetched_mono=mono,
            expires_mono=mono + remaining,
            discard_mono=mono + max(remaining, policy.stale_for),
        )

    async def _publish(self, shared: SharedResponses, ckey: CacheKey, entry: CacheEntry) -> None:
        raw, entry.raw = entry.raw, None
        if raw is None:
            return
        fetched = entry.fetched_at.timestamp()
        answer = SharedAnswer(raw, fetched, fetched + entry.expires_mono - entry.fetched_mono)
        keys = [ckey]
        if isinstance(entry.value, models.Match):  # one match answers for each of its teams
            keys += _match_keys(entry.value)
        for shared_key in dict.fromkeys(keys):
            await shared.publish(shared_key, answer)

    async def _fetch_upstream(
        self,
        family: str,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[T],
        key: str | None,
        kid: str | None,
        ckey: CacheKey,
        budget: float | None,
    ) -> CacheEntry:
        """Rate-limited attempts with backoff until one answers or the budget is spent."""
        deadline = self._clock.monotonic() + (self._call_budget if budget is None else budget)
        url = self._url(path, params, key)
        headers = self._headers(key)
        attempt = 0
        while True:
            attempt += 1
            try:
                waited = await self.rate_limiter.acquire(
                    kid, max_wait=max(0.0, deadline - self._clock.monotonic()), family=family
                )
            except RateLimitedError as error:
                error.family = family
                self._count(family, "rate_limited_local")
                raise
            if self._metrics is not None:
                self._metrics.ratelimit_wait.observe(waited)
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                raise UnavailableError(family=family)
            outcome = await self._attempt(
                family,
                url,
                headers,
                adapter,
                min(self._request_timeout, remaining),
                kid,
                keep_raw=self.shared is not None,
            )
            if isinstance(outcome, CacheEntry):
                self.cache.put(ckey, outcome)
                return outcome
            failure = outcome
            if not failure.retryable or attempt >= self._retry.max_attempts:
                raise failure.error
            retry_after = getattr(failure.error, "retry_after", None)
            delay = self._retry.delay(attempt, retry_after)
            if self._clock.monotonic() + delay >= deadline:
                raise failure.error
            if self._metrics is not None:
                self._metrics.retries.labels(family, failure.error.outcome).inc()
            log.info(
                "GW2 API %s %s: %s (HTTP %s), retry %d in %.2fs",
                family,
                path,
                failure.error.outcome,
                failure.error.status,
                attempt,
                delay,
            )
            await self._clock.sleep(delay)

    def _share_matches(self, asked: CacheKey) -> None:
        """Store freshly fetched match(es) under each match id and every team they hold."""
        mono = self._clock.monotonic()
        template = self.cache.get(asked, mono)
        if template is None:
            return
        matches = template.value if isinstance(template.value, list) else [template.value]
        for match in matches:
            if not isinstance(match, models.Match):
                continue
            shared = CacheEntry(
                match,
                template.fetched_at,
                template.fetched_mono,
                template.expires_mono,
                template.discard_mono,
            )
            for ckey in _match_keys(match):
                if ckey == asked:
                    continue
                existing = self.cache.get(ckey, mono)
                if existing is None or existing.fetched_mono < template.fetched_mono:
                    self.cache.put(ckey, shared)


def _match_keys(match: models.Match) -> list[CacheKey]:
    """The cache keys one match answers for: its id and each of its teams."""
    keys: list[CacheKey] = [("/v2/wvw/matches", (("id", match.id),), None)]
    keys += [("/v2/wvw/matches", (("world", str(t)),), None) for t in match.team_ids()]
    return keys
