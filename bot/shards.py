"""Shards: which guilds this process owns, the identify rate limit, shard health and metrics.

Discord puts guild ``g`` on shard ``(g >> 22) % shard_count``; a process runs all shards or, in a
cluster, the ones ``DISCORD_SHARD_IDS`` names. Everything per process (the update loop, the guild
reconcile) asks :func:`shard_of` / ``GW2Bot.owns_guild`` so two processes never serve one guild.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.clock import Clock

# Discord allows ``max_concurrency`` IDENTIFYs per this many seconds, one per rate-limit bucket
# (bucket = shard_id % max_concurrency).
IDENTIFY_WINDOW_S = 5.0

# Gateway close codes that no reconnect can fix: the process stops with one line saying why.
FATAL_CLOSE_CODES: dict[int, str] = {
    4004: "Discord rejected DISCORD_TOKEN on the gateway (4004 authentication failed): copy the "
    "bot token again from the developer portal.",
    4010: "Discord refused the shard (4010 invalid shard): check DISCORD_SHARD_IDS against "
    "DISCORD_SHARD_COUNT.",
    4011: "Discord requires sharding for this many servers (4011 sharding required): leave "
    "DISCORD_SHARD_COUNT empty (Discord then says how many) or raise it.",
    4012: "Discord refused the gateway version (4012 invalid API version): upgrade the bot.",
    4013: "Discord refused the gateway intents (4013 invalid intents): this build asks for "
    "intents Discord does not know; upgrade discord.py or the bot.",
    4014: "Discord refused a privileged intent (4014 disallowed intents): enable Message Content "
    "under Bot → Privileged Gateway Intents in the developer portal, or set "
    "LEAK_GUARD_ENABLED=false (see README.md#discord-application).",
}


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord delivers ``guild_id``'s events on."""
    return (guild_id >> 22) % shard_count


def fatal_close_message(code: int | None) -> str | None:
    """The one-line explanation for a gateway close code that must stop the process, else None."""
    return FATAL_CLOSE_CODES.get(code or 0)


# Identifies remembered by IdentifyGate.history.
IDENTIFY_HISTORY = 4096


class IdentifyGate:
    """Never IDENTIFY faster than Discord allows: one per bucket per window.

    ``max_concurrency`` comes from ``GET /gateway/bot``'s ``session_start_limit``. With 1 (most
    bots) this is what discord.py does by default (5 s between identifies); large bots get more
    buckets and start that many shards at once. Waits use the injected clock.
    """

    def __init__(
        self, max_concurrency: int, clock: Clock, *, window_s: float = IDENTIFY_WINDOW_S
    ) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self.clock = clock
        self.window_s = window_s
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        #: (shard id, seconds waited) of the latest identifies, for tests and logs (bounded: a
        #: long-running bot identifies again on every lost session).
        self.history: deque[tuple[int, float]] = deque(maxlen=IDENTIFY_HISTORY)

    def bucket(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    async def wait(self, shard_id: int) -> float:
        """Wait until ``shard_id`` may IDENTIFY; returns the seconds waited."""
        bucket = self.bucket(shard_id)
        lock = self._locks.setdefault(bucket, asyncio.Lock())
        async with lock:
            waited = 0.0
            last = self._last.get(bucket)
            if last is not None:
                waited = max(0.0, last + self.window_s - self.clock.monotonic())
                if waited > 0:
                    await self.clock.sleep(waited)
            self._last[bucket] = self.clock.monotonic()
            self.history.append((shard_id, waited))
            return waited


@dataclass(slots=True)
class ShardStatus:
    """What this process knows of one shard's session."""

    connected: bool = False
    #: New sessions after the first (IDENTIFY again) and sessions resumed (RESUME).
    identifies: int = 0
    resumes: int = 0
    disconnects: int = 0


class ShardMonitor:
    """Per-shard state from discord.py's shard events, as readiness and metrics read it.

    ``owned`` is the shard ids this process runs; metrics carry a ``shard`` label only for those,
    so the label's values are bounded by the shard count.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.owned: tuple[int, ...] = ()
        self.shard_count: int | None = None
        self.status: dict[int, ShardStatus] = {}
        self._latency: Callable[[int], float | None] = lambda shard_id: None
        self._guild_counts: Callable[[], Mapping[int, int]] = dict
        self.events = Counter(
            "gw2opt_gateway_shard_events_total",
            "Gateway session events per shard: connect (first IDENTIFY), reconnect (IDENTIFY "
            "again), resume (RESUME), disconnect.",
            ["shard", "event"],
            registry=registry,
        )
        registry.register(_ShardCollector(self))

    def bind(
        self,
        *,
        latency: Callable[[int], float | None],
        guild_counts: Callable[[], Mapping[int, int]],
    ) -> None:
        """Where the collector reads live values (the running client)."""
        self._latency = latency
        self._guild_counts = guild_counts

    def configure(self, shard_count: int, owned: Sequence[int]) -> None:
        """Called once the shard count is known (from settings or ``GET /gateway/bot``)."""
        self.shard_count = shard_count
        self.owned = tuple(owned)
        self.status = {shard_id: ShardStatus() for shard_id in self.owned}

    def owns(self, guild_id: int) -> bool:
        """Whether this process runs the shard of ``guild_id`` (True before the count is known)."""
        if self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.owned

    def connected(self, shard_id: int) -> None:
        """A new session (READY) on ``shard_id``."""
        status = self.status.setdefault(shard_id, ShardStatus())
        first = status.identifies == 0 and status.resumes == 0 and status.disconnects == 0
        status.connected = True
        status.identifies += 1
        self.events.labels(shard=str(shard_id), event="connect" if first else "reconnect").inc()

    def resumed(self, shard_id: int) -> None:
        status = self.status.setdefault(shard_id, ShardStatus())
        status.connected = True
        status.resumes += 1
        self.events.labels(shard=str(shard_id), event="resume").inc()

    def disconnected(self, shard_id: int) -> None:
        status = self.status.setdefault(shard_id, ShardStatus())
        if status.connected:
            status.disconnects += 1
            self.events.labels(shard=str(shard_id), event="disconnect").inc()
        status.connected = False

    def down(self, is_open: Callable[[int], bool]) -> list[int]:
        """Owned shards not connected now (no session, or the socket is not open)."""
        return [
            shard_id
            for shard_id in self.owned
            if not (self.status.get(shard_id, ShardStatus()).connected and is_open(shard_id))
        ]

    def latency(self, shard_id: int) -> float | None:
        return self._latency(shard_id)

    def guild_counts(self) -> Mapping[int, int]:
        return self._guild_counts()


class _ShardCollector(Collector):
    """Latency, connected state and guild count per owned shard, read at scrape time."""

    def __init__(self, monitor: ShardMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[GaugeMetricFamily]:
        monitor = self.monitor
        latency = GaugeMetricFamily(
            "gw2opt_gateway_shard_latency_seconds",
            "Gateway heartbeat latency per shard (NaN until the first heartbeat ACK).",
            labels=["shard"],
        )
        connected = GaugeMetricFamily(
            "gw2opt_gateway_shard_connected",
            "1 when the shard's gateway session is up, else 0.",
            labels=["shard"],
        )
        guilds = GaugeMetricFamily(
            "gw2opt_shard_guilds", "Guilds on each shard this process runs.", labels=["shard"]
        )
        counts = monitor.guild_counts()
        for shard_id in monitor.owned:
            label = [str(shard_id)]
            value = monitor.latency(shard_id)
            finite = value is not None and math.isfinite(value)
            latency.add_metric(label, value if finite and value is not None else math.nan)
            status = monitor.status.get(shard_id)
            connected.add_metric(label, 1.0 if status is not None and status.connected else 0.0)
            guilds.add_metric(label, float(counts.get(shard_id, 0)))
        yield latency
        yield connected
        yield guilds

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []
