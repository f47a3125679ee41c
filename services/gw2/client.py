"""The GW2 API client: typed, cached, coalesced, rate-limited and honest about failures.

(Over ~450 lines on purpose: one method per endpoint family plus the resilient core they share;
the cache, rate limiter and error mapping already live in their own modules.)

One :class:`GW2Client` serves the whole bot over the bot's ``aiohttp.ClientSession`` (the client
does not own or close it). Every public method returns a :class:`Fetched` wrapper: the parsed
value plus when it was fetched and whether it is a stale copy served because the API failed.

The resilience layer, in the order a call meets it:

1. **Cache** keyed by ``(path, params, key id)`` with a TTL per endpoint family
   (``FAMILY_POLICIES``), shortened or lengthened by the API's ``Cache-Control: max-age`` /
   ``Expires`` within a cap.
2. **Single-flight**: identical concurrent calls share one upstream request.
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
import random
import re
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import aiohttp
import yarl
from pydantic import TypeAdapter, ValidationError

from services.clock import Clock

from . import models
from .cache import CacheEntry, CacheKey, ResponseCache, SharedAnswer, SingleFlight, key_id
from .errors import (
    BadResponseError,
    EndpointDisabledError,
    Failure,
    GW2APIError,
    RateLimitedError,
    UnavailableError,
    classify_failure,
)
from .metrics import GW2Metrics
from .ratelimit import GW2RateLimiter

if TYPE_CHECKING:
    from services.shared_state import SharedResponses

log = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA_VERSION = "2024-07-20T01:00:00.000Z"
DEFAULT_USER_AGENT = (
    "GW2Optimizer/0.1.0 (Discord bot; +https://github.com/gw2optimizer/gw2optimizer)"
)
MAX_IDS_PER_REQUEST = 200

AuthTransport = Literal["header", "query"]


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


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """How long one endpoint family's answers stay fresh (default, cap) and stale copies live."""

    ttl: float
    max_ttl: float
    stale_for: float = 6 * 3600.0


FAMILY_POLICIES: dict[str, CachePolicy] = {
    "matches": CachePolicy(ttl=30, max_ttl=120),
    "objectives": CachePolicy(ttl=24 * 3600, max_ttl=7 * 24 * 3600, stale_for=30 * 24 * 3600),
    "worlds": CachePolicy(ttl=24 * 3600, max_ttl=7 * 24 * 3600, stale_for=30 * 24 * 3600),
    "specializations": CachePolicy(ttl=24 * 3600, max_ttl=7 * 24 * 3600, stale_for=30 * 24 * 3600),
    "professions": CachePolicy(ttl=24 * 3600, max_ttl=7 * 24 * 3600, stale_for=30 * 24 * 3600),
    "build": CachePolicy(ttl=300, max_ttl=3600),
    "tokeninfo": CachePolicy(ttl=60, max_ttl=600),
    "account": CachePolicy(ttl=300, max_ttl=900),
    "characters": CachePolicy(ttl=300, max_ttl=900),
    "guild": CachePolicy(ttl=3600, max_ttl=24 * 3600, stale_for=7 * 24 * 3600),
}

# Errors after which an older cached value is still worth showing.
_STALE_SERVABLE = (UnavailableError, RateLimitedError, EndpointDisabledError, BadResponseError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and backoff. Delay before retry *n* is ``base * 2**(n-1)`` capped at ``max_delay``,
    with "equal jitter" (half fixed, half random), and never shorter than ``Retry-After``."""

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        jittered = cap / 2 + self.rng.uniform(0, cap / 2)
        return float(max(jittered, retry_after or 0.0))


class GW2Client:
    """The bot's one GW2 API client. See the module docstring for the resilience rules."""

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
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._metrics = metrics
        self.auth_transport: AuthTransport = auth_transport
        self._schema_version = schema_version
        self._user_agent = user_agent
        self._lang = lang
        self.rate_limiter = rate_limiter or GW2RateLimiter(clock)
        if metrics is not None:
            metrics.paused_scopes.set_function(self.rate_limiter.paused_scopes)
        self._retry = retry or RetryPolicy()
        self._call_budget = call_budget
        self._request_timeout = request_timeout
        self.cache = cache or ResponseCache()
        self._flights = SingleFlight()
        # Cluster mode (REDIS_URL): public answers shared with the other processes.
        self.shared = shared
        self._policies = {**FAMILY_POLICIES, **(policies or {})}
        if metrics is not None:
            metrics.precreate(self._policies)

    # ----------------------------------------------------------------- WvW matches
    async def match_for_team(
        self, team_id: int, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Match]:
        """The match a team (11xxx/12xxx) or legacy world (1xxx/2xxx) plays in.

        A fresh answer is also stored under the match id and every other team of the match, so
        the cost of a refresh cycle grows with distinct matches, not with guilds.
        """
        params = {"world": str(team_id)}
        result = await self._get(
            "matches", "/v2/wvw/matches", params, models.MATCH, refresh=refresh, budget=budget
        )
        if not result.from_cache:
            self._share_matches(("/v2/wvw/matches", (("world", str(team_id)),), None))
        return result

    async def match(
        self, match_id: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Match]:
        """One match by id ("1-3", "2-5")."""
        return await self._get(
            "matches",
            "/v2/wvw/matches",
            {"id": match_id},
            models.MATCH,
            refresh=refresh,
            budget=budget,
        )

    async def matches_all(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.Match]]:
        """Every running match, in full (one request); also fills the per-match/per-team cache."""
        result = await self._get(
            "matches",
            "/v2/wvw/matches",
            {"ids": "all"},
            models.MATCH_LIST,
            refresh=refresh,
            budget=budget,
        )
        if not result.from_cache:
            self._share_matches(("/v2/wvw/matches", (("ids", "all"),), None))
        return result

    # ----------------------------------------------------------------- static WvW data
    async def objectives(
        self, *, refresh: bool = False, budget: float | None = None, lang: str | None = None
    ) -> Fetched[list[models.Objective]]:
        """Every WvW objective's static data (names, map, sector), in ``lang`` (``en``, ``fr``,
        ``de``, ``es``; default the client's language). Cached per language (it is a param)."""
        return await self._get(
            "objectives",
            "/v2/wvw/objectives",
            {"ids": "all", "lang": lang or self._lang},
            models.OBJECTIVE_LIST,
            refresh=refresh,
            budget=budget,
        )

    async def worlds(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.World]]:
        """Legacy worlds (1xxx NA, 2xxx EU) and their names."""
        return await self._get(
            "worlds",
            "/v2/worlds",
            {"ids": "all", "lang": self._lang},
            models.WORLD_LIST,
            refresh=refresh,
            budget=budget,
        )

    async def guild(
        self, guild_id: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Guild]:
        """A guild's public fields (id, name, tag)."""
        return await self._get(
            "guild",
            f"/v2/guild/{_quote(guild_id)}",
            {},
            models.GUILD,
            refresh=refresh,
            budget=budget,
        )

    async def specializations(
        self,
        ids: Iterable[int],
        *,
        refresh: bool = False,
        budget: float | None = None,
        lang: str | None = None,
    ) -> Fetched[list[models.Specialization]]:
        """Specializations by id (to know which are elite). Unknown ids are left out (206).

        With ``lang`` (``fr``, ``de``, ``es``...) names are in that language, cached per language.
        """
        wanted = sorted(set(ids))
        if not wanted:
            now = self._clock.now()
            return Fetched([], now, timedelta(0))
        chunks = [
            wanted[i : i + MAX_IDS_PER_REQUEST] for i in range(0, len(wanted), MAX_IDS_PER_REQUEST)
        ]
        parts = await asyncio.gather(
            *(
                self._get(
                    "specializations",
                    "/v2/specializations",
                    {"ids": ",".join(map(str, chunk)), **({"lang": lang} if lang else {})},
                    models.SPECIALIZATION_LIST,
                    refresh=refresh,
                    budget=budget,
                )
                for chunk in chunks
            )
        )
        if len(parts) == 1:
            return parts[0]
        oldest = min(parts, key=lambda p: p.fetched_at)
        return Fetched(
            [spec for part in parts for spec in part.value],
            oldest.fetched_at,
            oldest.age,
            from_cache=all(p.from_cache for p in parts),
            stale=any(p.stale for p in parts),
            error=next((p.error for p in parts if p.error is not None), None),
        )

    async def aclose(self) -> None:
        """Cancel requests still in flight; call before closing the shared session."""
        await self._flights.cancel_all()

    async def build(
        self, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.GameBuild]:
        """The current game build id (static data changes when it does)."""
        return await self._get(
            "build", "/v2/build", {}, models.GAME_BUILD, refresh=refresh, budget=budget
        )

    # ----------------------------------------------------------------- key-authenticated
    async def tokeninfo(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.TokenInfo]:
        """What a key is and which permissions it has."""
        return await self._get(
            "tokeninfo",
            "/v2/tokeninfo",
            {},
            models.TOKEN_INFO,
            key=key,
            refresh=refresh,
            budget=budget,
        )

    async def account(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.Account]:
        return await self._get(
            "account", "/v2/account", {}, models.ACCOUNT, key=key, refresh=refresh, budget=budget
        )

    async def account_wvw(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[models.AccountWvw]:
        """The account's WvW team and WvW guild (scopes ``account`` + ``wvw``)."""
        return await self._get(
            "account",
            "/v2/account/wvw",
            {},
            models.ACCOUNT_WVW,
            key=key,
            refresh=refresh,
            budget=budget,
        )

    async def characters_all(
        self, key: str, *, refresh: bool = False, budget: float | None = None
    ) -> Fetched[list[models.Character]]:
        """Every character with profession, level, age and (scope ``builds``) build tabs, in one
        request (``/v2/characters?ids=all``): cheaper than names + core + build tabs each."""
        return await self._get(
            "characters",
            "/v2/characters",
            {"ids": "all"},
            models.CHARACTER_LIST,
            key=key,
            refresh=refresh,
            budget=budget,
        )

    # ----------------------------------------------------------------- the resilient core
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
        """A key-less endpoint through the resilient core (for endpoint modules beside this one,
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
        except _STALE_SERVABLE as error:
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
        policy = self._policies.get(family, CachePolicy(ttl=60, max_ttl=300))
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
            match = entry.value
            keys += [("/v2/wvw/matches", (("id", match.id),), None)]
            keys += [("/v2/wvw/matches", (("world", str(t)),), None) for t in match.team_ids()]
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
        deadline = self._clock.monotonic() + (self._call_budget if budget is None else budget)
        url = self._url(path, params, key)
        headers = {"User-Agent": self._user_agent, "Accept": "application/json"}
        if key is not None and self.auth_transport == "header":
            headers["Authorization"] = f"Bearer {key}"
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
                family, url, headers, adapter, min(self._request_timeout, remaining), kid
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

    async def _attempt(
        self,
        family: str,
        url: yarl.URL,
        headers: Mapping[str, str],
        adapter: TypeAdapter[T],
        time_limit: float,
        kid: str | None = None,
    ) -> CacheEntry | Failure:
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
            entry.raw = body if self.shared is not None else None
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
        policy = self._policies.get(family, CachePolicy(ttl=60, max_ttl=300))
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
            keys: list[CacheKey] = [("/v2/wvw/matches", (("id", match.id),), None)]
            keys += [("/v2/wvw/matches", (("world", str(t)),), None) for t in match.team_ids()]
            shared = CacheEntry(
                match,
                template.fetched_at,
                template.fetched_mono,
                template.expires_mono,
                template.discard_mono,
            )
            for ckey in keys:
                if ckey == asked:
                    continue
                existing = self.cache.get(ckey, mono)
                if existing is None or existing.fetched_mono < template.fetched_mono:
                    self.cache.put(ckey, shared)

    def _url(self, path: str, params: Mapping[str, str], key: str | None) -> yarl.URL:
        query = {**params, "v": self._schema_version}
        if key is not None and self.auth_transport == "query":
            query["access_token"] = key
        return yarl.URL(
            f"{self._base_url}{path}?{urllib.parse.urlencode(query, safe=',')}", encoded=True
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


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
