"""A client-side copy of the GW2 API rate limit, shared by every caller of the client.

ArenaNet allows a burst of 300 requests per IP refilled at 5 per second, and answers 429 beyond.
:class:`GW2RateLimiter` keeps us under it with a *reservation* token bucket: each request takes a
token now (the count may go negative) and sleeps until its token would have been refilled, so
waiters are served first-come first-served without a background task.

Fairness between users: key-authenticated requests first pass a smaller bucket of their own key
(default burst 60, 2/s). One user's burst can then use at most that share; the rest of the global
bucket stays available for everyone else and for public (match) data.

Waits run on the injected clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio

from services.clock import Clock

from .errors import RateLimitedError


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
    ) -> None:
        self._clock = clock
        self._global = TokenBucket(capacity, refill_per_second, clock.monotonic())
        self._key_capacity = key_capacity
        self._key_rate = key_refill_per_second
        self._keys: dict[str, TokenBucket] = {}
        self._max_tracked_keys = max_tracked_keys

    async def acquire(self, key_id: str | None = None, *, max_wait: float | None = None) -> float:
        """Wait for permission to send one request; returns the seconds waited.

        Raises :class:`RateLimitedError` without waiting (and without using a token) when the wait
        would exceed ``max_wait``.
        """
        waited = 0.0
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
        return await self._take(self._global, max_wait)

    def pause(self, seconds: float) -> None:
        """Upstream said 429: hold every caller back for ``seconds``."""
        self._global.pause(self._clock.monotonic(), seconds)

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
