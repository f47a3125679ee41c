"""Cluster mode's shared state (``REDIS_URL``): the pacer, the GW2 limiter and answers in Redis."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from services.clock import Clock
from services.shared_state import (
    RedisLink,
    SharedGW2RateLimiter,
    SharedPacer,
    SharedResponses,
    SharedStateMetrics,
)
from services.updates import DISCORD_BURST, DISCORD_REQUESTS_PER_SECOND

from .config import Settings


@dataclass(frozen=True, slots=True)
class SharedState:
    link: RedisLink
    discord_pacer: SharedPacer
    gw2_limiter: SharedGW2RateLimiter
    responses: SharedResponses


def open_shared_state(
    settings: Settings, clock: Clock, registry: CollectorRegistry
) -> SharedState | None:
    """``None`` without ``REDIS_URL``. Connecting is lazy: a Redis down at start is a fallback."""
    if settings.redis.url is None:
        return None
    link = RedisLink.from_url(
        settings.redis.url.get_secret_value(),
        clock,
        prefix=settings.redis.prefix,
        metrics=SharedStateMetrics(registry),
    )
    return SharedState(
        link=link,
        discord_pacer=SharedPacer(link, rate=DISCORD_REQUESTS_PER_SECOND, burst=DISCORD_BURST),
        gw2_limiter=SharedGW2RateLimiter(link, clock),
        responses=SharedResponses(link),
    )
