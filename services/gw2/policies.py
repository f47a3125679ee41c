"""How long GW2 API answers stay fresh, and how failed requests are retried.

- :class:`CachePolicy` and :data:`FAMILY_POLICIES`: the TTL (default and cap) and how long a stale
  copy may still be served, per endpoint family.
- :class:`RetryPolicy`: attempts and backoff for retryable failures.
- :data:`STALE_SERVABLE`: the errors after which an older cached value is still worth showing.

The client's resilient core (:mod:`.core`) and transport (:mod:`.transport`) read these.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .errors import BadResponseError, EndpointDisabledError, RateLimitedError, UnavailableError


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

# The policy of a family missing from the table.
DEFAULT_POLICY = CachePolicy(ttl=60, max_ttl=300)

# Errors after which an older cached value is still worth showing.
STALE_SERVABLE = (UnavailableError, RateLimitedError, EndpointDisabledError, BadResponseError)


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
