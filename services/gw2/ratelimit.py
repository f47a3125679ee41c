"""A client-side copy of the GW2 API rate limit, shared by every caller of the client.

ArenaNet allows a burst of 300 requests per IP refilled at 5 per second, and answers 429 beyond.
:class:`GW2RateLimiter` keeps us under it with a *reservation* token bucket: each request takes a
token now (the count may go negative) and sleeps until its token would have been refilled, so
waiters are served first-come first-served without a background task.

Fairness between users: key-authenticated requests first pass a smaller bucket of their own key
(default burst 60, 2/s). One user's burst can then use at most that share; the rest of the global
bucket stays available for everyone else and for public (match) data.

Upstream 429s: the ``Retry-After`` the API sends holds back only the key that got it (or, for
public data, the endpoint family), never every caller, and for at most :data:`MAX_UPSTREAM_PAUSE_S`
seconds whatever the header says (one ``Retry-After: 3600`` must not stall the bot for an hour).

Waits run on the injected clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from services.clock import Clock

from .errors import RateLimitedError

# The longest an upstream Retry-After may hold a key or an endpoint family back.
MAX_UPSTREAM_PAUSE_S = 60.0
PauseScope = Literal["key", "family"]


class TokenBucket:
    """A reservation token bucket on a monotonic time source."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def delay(self, now: float) -> float:
        """Seconds until a token reserved now may be used."""
        self.refill(now)
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> float:
        """Reserve one token; returns how long to wait before using it."""
        wait = self.delay(now)
        self.tokens -= 1.0
        return wait

    def give_back(self) -> None:
        self.tokens = min(self.capacity, self.tokens + 1.0)

    def pause(self, now: float, seconds: float) -> None:
        """Make the next reservation wait at least ``seconds`` (after an upstream 429)."""
        self.refill(now)
        self.tokens = min(self.tokens, 1.0 - seconds * self.rate)

    def is_full(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= self.capacity


class GW2RateLimiter:
    """The shared limiter: a global bucket plus a fairness bucket per key id."""

    def __init__(
        self,
        clock: Clock,
        *,
        capacity: float = 300,
        refill_per_second: float = 5.0,
        key_capacity: float = 60,
        key_refill_per_second: float = 2.0,
        max_tracked_keys: int = 10_000,
        max_pause: float = MAX_UPSTREAM_PAUSE_S,
    ) -> None:
        self._clock = clock
        self._global = TokenBucket(capacity, refill_per_second, clock.monotonic())
        self._key_capacity = key_capacity
        self._key_rate = key_refill_per_second
        self._keys: dict[str, TokenBucket] = {}
        self._max_tracked_keys = max_tracked_keys
        self.max_pause = max_pause
        # ("key", key id) or ("family", family) -> monotonic time the upstream pause ends.
        self._paused_until: dict[tuple[PauseScope, str], float] = {}

    async def acquire(
        self,
        key_id: str | None = None,
        *,
        max_wait: float | None = None,
        family: str | None = None,
    ) -> float:
        """Wait for permission to send one request; returns the seconds waited.

        A request first waits out an upstream pause of its key or its endpoint family. Raises
        :class:`RateLimitedError` without waiting (and without using a token) when the wait
        would exceed ``max_wait``.
        """
        waited = await self._wait_out_pause(key_id, family, max_wait)
        if max_wait is not None:
            max_wait -= waited
        if key_id is not None:
            bucket = self._key_bucket(key_id)
            waited += await self._take(bucket, max_wait)
            if max_wait is not None:
                max_wait -= waited
            try:
                waited += await self._take(self._global, max_wait)
            except BaseException:
                bucket.give_back()
                raise
            return waited
        return waited + await self._take(self._global, max_wait)

    def pause(
        self, seconds: float, *, family: str | None = None, key_id: str | None = None
    ) -> tuple[PauseScope | None, float]:
        """Upstream said 429: hold back the key that got it (else the endpoint family) for
        ``seconds``, capped at ``max_pause``. Returns the scope and the pause applied.

        Without a key or family (a caller outside the client) the global bucket is paused.
        """
        applied = min(max(0.0, seconds), self.max_pause)
        now = self._clock.monotonic()
        scope: tuple[PauseScope, str] | None = None
        if key_id is not None:
            scope = ("key", key_id)
        elif family is not None:
            scope = ("family", family)
        if scope is None:
            self._global.pause(now, applied)
            return None, applied
        self._forget_ended_pauses(now)
        self._paused_until[scope] = max(self._paused_until.get(scope, now), now + applied)
        return scope[0], applied

    def paused_for(self, *, family: str | None = None, key_id: str | None = None) -> float:
        """Seconds left of the upstream pause that applies to this key / family (0 when none)."""
        now = self._clock.monotonic()
        left = 0.0
        if key_id is not None:
            left = max(left, self._paused_until.get(("key", key_id), now) - now)
        if family is not None:
            left = max(left, self._paused_until.get(("family", family), now) - now)
        return left

    def paused_scopes(self) -> int:
        """How many keys and endpoint families are held back by an upstream 429 right now."""
        now = self._clock.monotonic()
        return sum(1 for end in self._paused_until.values() if end > now)

    async def _wait_out_pause(
        self, key_id: str | None, family: str | None, max_wait: float | None
    ) -> float:
        remaining = self.paused_for(family=family, key_id=key_id)
        if remaining <= 0:
            return 0.0
        if max_wait is not None and remaining > max_wait:
            raise RateLimitedError(retry_after=remaining)
        await self._clock.sleep(remaining)
        return remaining

    def _forget_ended_pauses(self, now: float) -> None:
        if len(self._paused_until) >= self._max_tracked_keys:
            self._paused_until = {s: end for s, end in self._paused_until.items() if end > now}

    def available(self) -> float:
        """Tokens left in the global bucket now (negative: reservations are queued)."""
        self._global.refill(self._clock.monotonic())
        return self._global.tokens

    async def _take(self, bucket: TokenBucket, max_wait: float | None) -> float:
        now = self._clock.monotonic()
        wait = bucket.delay(now)
        if max_wait is not None and wait > max_wait:
            raise RateLimitedError(retry_after=wait)
        bucket.take(now)
        if wait <= 0:
            return 0.0
        try:
            await self._clock.sleep(wait)
        except asyncio.CancelledError:
            bucket.give_back()
            raise
        return wait

    def _key_bucket(self, key_id: str) -> TokenBucket:
        bucket = self._keys.get(key_id)
        if bucket is None:
            now = self._clock.monotonic()
            if len(self._keys) >= self._max_tracked_keys:
                # A full bucket is the same as a new one: forget those.
                self._keys = {k: b for k, b in self._keys.items() if not b.is_full(now)}
            bucket = TokenBucket(self._key_capacity, self._key_rate, now)
            self._keys[key_id] = bucket
        return bucket
