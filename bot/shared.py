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
from services.updates import DISCORD_REQUESTS_PER_SECOND

from .config import Settings

# Requests of several processes reach Discord with different latencies: the shared bucket keeps
# a small margin under the global limit and no burst, so a one-second window never sees more.
SHARED_DISCORD_RATE = DISCORD_REQUESTS_PER_SECOND - 1


@dataclass(frozen=True, slots=True)
class SharedState:
    link: RedisLink
    discord_pacer: SharedPacer
    gw2_limiter: SharedGW2RateLimiter
    responses: SharedResponses


def process_share(settings: Settings) -> float:
    """This process's part of the cluster: its shards over all shards (1 when it runs them all)."""
    discord = settings.discord
    if not discord.shard_ids or not discord.shard_count:
        return 1.0
    return min(1.0, len(discord.shard_ids) / discord.shard_count)


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
        discord_pacer=SharedPacer(
            link, rate=SHARED_DISCORD_RATE, burst=1.0, fallback_share=process_share(settings)
        ),
        gw2_limiter=SharedGW2RateLimiter(link, clock),
        responses=SharedResponses(link),
    )
