"""Per-user rate limiting of key-link attempts: a sliding window over a monotonic clock.

``check`` both asks and records: an allowed call counts as an attempt, a refused one does not (so
hammering the command does not push the wait further out). Users idle for a whole window are
forgotten, and the number of users tracked is capped, so memory stays bounded.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from collections.abc import Hashable

from services.clock import Clock
from services.errors import UserFacingError
from services.i18n import tr


class TooManyAttemptsError(UserFacingError):
    """A user tried to link keys too often; ``retry_after_s`` says how long to wait."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(retry_message(retry_after_s))

    def localised(self, locale: str) -> str:
        return retry_message(self.retry_after_s, locale)


class AttemptLimiter:
    """At most ``max_attempts`` allowed calls per user in any ``window_s`` seconds."""

    def __init__(
        self,
        max_attempts: int = 5,
        window_s: float = 600.0,
        *,
        clock: Clock,
        max_tracked_users: int = 10_000,
    ) -> None:
        if max_attempts < 1 or window_s <= 0 or max_tracked_users < 1:
            raise ValueError("max_attempts, window_s and max_tracked_users must be positive")
        self.max_attempts = max_attempts
        self.window_s = window_s
        self._clock = clock
        self._max_tracked_users = max_tracked_users
        # Least recently active user first, so eviction and sweeping start with the idlest.
        self._attempts: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._next_sweep = clock.monotonic() + window_s

    def check(self, user_key: Hashable) -> float | None:
        """Record an attempt and return ``None``, or return the seconds to wait when over the limit.

        A refused call is not recorded.
        """
        now = self._clock.monotonic()
        self._sweep(now)
        attempts = self._attempts.get(user_key)
        if attempts is None:
            attempts = deque()
            self._attempts[user_key] = attempts
            self._evict_overflow()
        self._drop_expired(attempts, now)
        if len(attempts) >= self.max_attempts:
            return attempts[0] + self.window_s - now
        attempts.append(now)
        self._attempts.move_to_end(user_key)
        return None

    def enforce(self, user_key: Hashable) -> None:
        """``check``, raising ``TooManyAttemptsError`` (user-safe text) when over the limit."""
        retry_after = self.check(user_key)
        if retry_after is not None:
            raise TooManyAttemptsError(retry_after)

    def remaining(self, user_key: Hashable) -> int:
        """Attempts ``user_key`` may still make now (does not record one)."""
        attempts = self._attempts.get(user_key)
        if attempts is None:
            return self.max_attempts
        self._drop_expired(attempts, self._clock.monotonic())
        return max(self.max_attempts - len(attempts), 0)

    def reset(self, user_key: Hashable) -> None:
        """Forget ``user_key``'s attempts (e.g. an admin clearing a lock-out)."""
        self._attempts.pop(user_key, None)

    def __len__(self) -> int:
        """How many users are tracked."""
        return len(self._attempts)

    def _drop_expired(self, attempts: deque[float], now: float) -> None:
        while attempts and attempts[0] <= now - self.window_s:
            attempts.popleft()

    def _sweep(self, now: float) -> None:
        """Forget users with no attempt inside the window (at most once per window)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.window_s
        cutoff = now - self.window_s
        idle = [
            user
            for user, attempts in self._attempts.items()
            if not attempts or attempts[-1] <= cutoff
        ]
        for user in idle:
            del self._attempts[user]

    def _evict_overflow(self) -> None:
        while len(self._attempts) > self._max_tracked_users:
            self._attempts.popitem(last=False)


def retry_message(retry_after_s: float, locale: str = "en") -> str:
    """What to tell a player who hit the limit: "Too many key attempts. Try again in 4 min."."""
    seconds = max(1, math.ceil(retry_after_s))
    if seconds < 60:
        return tr(locale, "Too many key attempts. Try again in {seconds} s.", seconds=seconds)
    return tr(
        locale,
        "Too many key attempts. Try again in {minutes} min.",
        minutes=math.ceil(seconds / 60),
    )
