"""State shared by the processes of a cluster through Redis (``REDIS_URL``), with local fallback.

- :class:`SharedPacer`: Discord's global limit (50 requests/s) is per bot token, so every process
  takes its update/alert/role requests from one token bucket in Redis.
- :class:`SharedGW2RateLimiter`: the GW2 API's 300-burst / 5 per second limit is per client IP;
  the processes share its global bucket (per-key fairness buckets stay local).
- :class:`SharedResponses`: the GW2 client's public answers (matches, worlds, objectives…) are
  published for the other processes, and a short Redis lock per cache key makes single-flight
  work across processes. Key-authenticated answers are never shared.

Each bucket is a reservation token bucket kept in one Redis hash and changed by one Lua script
(atomic). Times are the injected clock's wall time, so tests move time instead of sleeping.

When Redis does not answer, :class:`RedisLink` marks it down (the reason goes to ``/readyz`` and
the ``gw2opt_redis_up`` gauge), each user falls back to its local bucket or cache, and Redis is
tried again after ``retry_after`` seconds: it recovers by itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis import asyncio as redis_asyncio
from redis.exceptions import RedisError

from services.clock import Clock
from services.gw2.cache import SharedAnswer
from services.gw2.errors import RateLimitedError
from services.gw2.ratelimit import GW2RateLimiter, PauseScope, TokenBucket
from services.updates import RequestPacer

log = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

# KEYS[1] = bucket; ARGV = rate, burst, now (seconds). Reserves one token; returns the wait.
_TAKE = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens = tonumber(state[1]) or burst
local updated = tonumber(state[2]) or now
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate)
  updated = now
end
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(updated))
redis.call('PEXPIRE', KEYS[1], math.floor((burst / rate + wait) * 1000) + 60000)
return tostring(wait)
"""

# KEYS[1] = bucket; ARGV = rate, seconds. Upstream said 429: hold everyone back.
_PAUSE = """
local rate = tonumber(ARGV[1])
local floor = 1 - tonumber(ARGV[2]) * rate
local tokens = tonumber(redis.call('HGET', KEYS[1], 't') or floor)
redis.call('HSET', KEYS[1], 't', tostring(math.min(tokens, floor)))
return 1
"""


class SharedStateMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.up = Gauge(
            "gw2opt_redis_up",
            "1 while the shared Redis answers (0: this process runs on local fallbacks)",
            registry=registry,
        )
        self.fallbacks = Counter(
            "gw2opt_redis_fallbacks_total",
            "Operations served locally because Redis did not answer, by component",
            ["component"],
            registry=registry,
        )
        for component in ("discord_pacer", "gw2_limiter", "gw2_cache"):
            self.fallbacks.labels(component)


class RedisLink:
    """One Redis client, a key prefix, and whether Redis is usable right now."""

    def __init__(
        self,
        client: Any,
        clock: Clock,
        *,
        prefix: str = "gw2opt:",
        retry_after: float = 5.0,
        metrics: SharedStateMetrics | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self.retry_after = retry_after
        self.metrics = metrics
        self.reason: str | None = None  # why Redis is not used now (None: it is)
        self._down_until = 0.0
        if metrics is not None:
            metrics.up.set(1)

    @classmethod
    def from_url(cls, url: str, clock: Clock, **options: Any) -> RedisLink:
        client = redis_asyncio.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, health_check_interval=10
        )
        return cls(client, clock, **options)

    def key(self, name: str) -> str:
        return self.prefix + name

    async def run(self, component: str, operation: Callable[[], Awaitable[T]]) -> T | None:
        """``operation()``'s result, or ``None`` (counted) while or when Redis fails."""
        now = self.clock.monotonic()
        if self.reason is not None and now < self._down_until:
            self._fell_back(component)
            return None
        try:
            async with asyncio.timeout(1.0):
                result = await operation()
        except REDIS_ERRORS as error:
            if self.reason is None:
                log.warning("Redis unavailable (%s): using local state", type(error).__name__)
            self.reason = f"redis unavailable ({type(error).__name__}), using local fallback"
            self._down_until = now + self.retry_after
            if self.metrics is not None:
                self.metrics.up.set(0)
            self._fell_back(component)
            return None
        if self.reason is not None:
            log.info("Redis answers again: shared state restored")
            self.reason = None
            if self.metrics is not None:
                self.metrics.up.set(1)
        return result

    async def ping(self) -> bool:
        return bool(await self.run("ping", self.client.ping))

    async def aclose(self) -> None:
        await self.client.aclose()

    def _fell_back(self, component: str) -> None:
        if self.metrics is not None and component != "ping":
            self.metrics.fallbacks.labels(component).inc()


async def _take(
    link: RedisLink, bucket: str, rate: float, burst: float, component: str
) -> float | None:
    now = link.clock.now().timestamp()

    async def take() -> float:
        return float(await link.client.eval(_TAKE, 1, link.key(bucket), rate, burst, now))

    return await link.run(component, take)


class SharedPacer(RequestPacer):
    """Discord's per-token budget from Redis; the local bucket while Redis is down.

    The budget is per bot, so while Redis is down each process paces at its share of it
    (``fallback_share``: its part of the cluster, e.g. 2 shards of 4 is 0.5), not at all of it.
    """

    def __init__(
        self,
        link: RedisLink,
        *,
        rate: float,
        burst: float = 1.0,
        fallback_share: float = 1.0,
        **options: Any,
    ) -> None:
        if not 0 < fallback_share <= 1:
            raise ValueError("fallback_share must be in (0, 1]")
        super().__init__(rate=rate * fallback_share, burst=burst, **options)
        self.shared_rate = rate
        self.link = link

    async def acquire(self) -> None:
        wait = await _take(
            self.link, "discord:bucket", self.shared_rate, self.burst, "discord_pacer"
        )
        if wait is None:
            await super().acquire()
            return
        if wait > 0:
            self.waited += wait
            await self._sleep(wait)


class SharedGW2RateLimiter(GW2RateLimiter):
    """ArenaNet's per-IP bucket in Redis (all processes); per-key fairness stays local."""

    def __init__(self, link: RedisLink, clock: Clock, **options: Any) -> None:
        super().__init__(clock, **options)
        self.link = link

    async def _take(self, bucket: TokenBucket, max_wait: float | None) -> float:
        if bucket is not self._global:
            return await super()._take(bucket, max_wait)
        wait = await _take(self.link, "gw2:bucket", bucket.rate, bucket.capacity, "gw2_limiter")
        if wait is None:
            return await super()._take(bucket, max_wait)
        if max_wait is not None and wait > max_wait:
            raise RateLimitedError(retry_after=wait)  # the reservation lapses in the bucket
        if wait > 0:
            await self._clock.sleep(wait)
        return wait

    def pause(
        self, seconds: float, *, family: str | None = None, key_id: str | None = None
    ) -> tuple[PauseScope | None, float]:
        """A 429 for a key or an endpoint family pauses only that, in this process; a global
        pause (no key, no family) is shared with every process through the Redis bucket."""
        scope, applied = super().pause(seconds, family=family, key_id=key_id)
        if scope is not None:
            return scope, applied
        seconds = applied
        rate = self._global.rate

        async def pause() -> int:
            return int(
                await self.link.client.eval(_PAUSE, 1, self.link.key("gw2:bucket"), rate, seconds)
            )

        task = asyncio.get_running_loop().create_task(self.link.run("gw2_limiter", pause))
        _background.add(task)
        task.add_done_callback(_background.discard)
        return scope, applied


_background: set[asyncio.Task[Any]] = set()


class SharedResponses:
    """Public GW2 answers published in Redis, and a short lock per key (cross-process flight)."""

    def __init__(self, link: RedisLink, *, lock_seconds: float = 2.0, poll_seconds: float = 0.05):
        self.link = link
        self.lock_seconds = lock_seconds
        self.poll_seconds = poll_seconds

    @staticmethod
    def _name(cache_key: Any) -> str:
        return hashlib.sha256(repr(cache_key).encode()).hexdigest()[:32]

    async def lookup(self, cache_key: Any) -> SharedAnswer | None:
        name = self.link.key("gw2:answer:" + self._name(cache_key))
        raw = await self.link.run("gw2_cache", lambda: self.link.client.get(name))
        if not raw:
            return None
        data = json.loads(raw)
        answer = SharedAnswer(data["b"].encode(), float(data["f"]), float(data["e"]))
        return answer if answer.expires_at > self.link.clock.now().timestamp() else None

    async def publish(self, cache_key: Any, answer: SharedAnswer) -> None:
        ttl_ms = int((answer.expires_at - self.link.clock.now().timestamp()) * 1000)
        if ttl_ms <= 0:
            return
        name = self.link.key("gw2:answer:" + self._name(cache_key))
        value = json.dumps(
            {"b": answer.body.decode(), "f": answer.fetched_at, "e": answer.expires_at}
        )
        await self.link.run("gw2_cache", lambda: self.link.client.set(name, value, px=ttl_ms))

    async def try_lock(self, cache_key: Any) -> bool:
        """True when this process should fetch (it holds the lock, or Redis is down)."""
        name = self.link.key("gw2:lock:" + self._name(cache_key))

        async def lock() -> bool:
            px = int(self.lock_seconds * 1000)
            return bool(await self.link.client.set(name, "1", nx=True, px=px))

        got = await self.link.run("gw2_cache", lock)
        return got is None or got  # None: Redis is down, fetch locally

    async def unlock(self, cache_key: Any) -> None:
        name = self.link.key("gw2:lock:" + self._name(cache_key))
        await self.link.run("gw2_cache", lambda: self.link.client.delete(name))

    async def wait_for(self, cache_key: Any, budget: float) -> SharedAnswer | None:
        """Another process holds the lock: its answer, or None after ``budget`` seconds."""
        waited = 0.0
        limit = min(budget, self.lock_seconds)
        while waited < limit:
            await asyncio.sleep(self.poll_seconds)  # real time: the other process is real
            waited += self.poll_seconds
            answer = await self.lookup(cache_key)
            if answer is not None:
                return answer
        return None
