"""Prometheus metrics on a sidecar port: ``/metrics``, ``/healthz`` and ``/readyz``.

One ``CollectorRegistry`` per process, created by the bot and handed to every service that defines
metrics of its own (GW2 client, composer, key vault). Names start with ``gw2opt_``; no label ever
carries a user, guild or channel id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from services.i18n import MissingTranslationsCollector

DEGRADED = "degraded."  # readiness reasons with this prefix do not fail /readyz
log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Where unexpected errors are counted (``errors`` label ``where``). Each series exists from start-up
# at 0, so an alert on ``increase()`` sees the very first error (a series born at 1 has no
# increase). Add a value here when code counts a new place.
ERROR_PLACES = (
    "alert_loop",
    "app_command",
    "component",
    "event",
    "key_revalidation",
    "role_sync",
    "update_loop",
)

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
"""Returns the reasons the process is not ready; an empty dict means ready."""


class BotMetrics:
    """The process-level metrics: build, gateway, app commands, database, event loop."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.build_info = Info("gw2opt_build", "Version of the running bot.", registry=registry)
        self.gateway_latency = Gauge(
            "gw2opt_gateway_latency_seconds",
            "Discord gateway heartbeat latency.",
            registry=registry,
        )
        self.guilds = Gauge("gw2opt_guilds", "Guilds the bot is in.", registry=registry)
        self.app_commands = Counter(
            "gw2opt_app_commands_total",
            "Application commands handled, by command and outcome.",
            ["command", "outcome"],
            registry=registry,
        )
        self.app_command_seconds = Histogram(
            "gw2opt_app_command_duration_seconds",
            "Time from receiving an application command to finishing it.",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.db_query_seconds = Histogram(
            "gw2opt_db_query_duration_seconds",
            "SQLite statement latency by operation.",
            ["operation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
            registry=registry,
        )
        self.event_loop_lag = Gauge(
            "gw2opt_event_loop_lag_seconds",
            "How late the event loop ran a timer it was asked to run (last sample).",
            registry=registry,
        )
        self.errors = Counter(
            "gw2opt_unhandled_errors_total",
            "Unexpected errors, by where they happened.",
            ["where"],
            registry=registry,
        )
        for where in ERROR_PLACES:
            self.errors.labels(where=where)
        # gw2opt_translations_missing_total{locale}: strings shown in English for lack of one.
        registry.register(MissingTranslationsCollector())
        register_runtime_collectors(registry)


def register_runtime_collectors(registry: CollectorRegistry) -> None:
    """Process (memory, CPU, open files, start time), platform and GC metrics on ``registry``.

    The standard ``process_*``, ``python_info`` and ``python_gc_*`` families, as on the default
    registry; the bot's registry is its own, so they are added here.
    """
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


async def monitor_event_loop_lag(
    gauge: Gauge, *, interval: float = 1.0, stop: asyncio.Event | None = None
) -> None:
    """Sample how late ``asyncio.sleep(interval)`` wakes up; runs until cancelled or ``stop``."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(interval)
        gauge.set(max(0.0, time.perf_counter() - started - interval))


class MetricsServer:
    """The sidecar HTTP server, running on the bot's own event loop."""

    def __init__(
        self, registry: CollectorRegistry, readiness: ReadinessCheck, *, host: str, port: int
    ) -> None:
        self._readiness = readiness
        self.host = host
        self.port = port
        app = web.Application()
        app.router.add_get("/metrics", make_aiohttp_handler(registry))
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port (tests): remember which one we got
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = sockets[0].getsockname()[1]
        log.info("Metrics on http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        try:
            problems = await self._readiness()
        except Exception:  # a readiness probe must answer, whatever broke
            log.exception("Readiness check failed")
            problems = {"readiness": "check failed"}
        # "degraded.*" reasons are reported but do not fail readiness (a local fallback serves).
        failing = {k: v for k, v in problems.items() if not k.startswith(DEGRADED)}
        body = {"status": "ready" if not failing else "not ready", "reasons": problems}
        return web.Response(
            status=200 if not failing else 503,
            text=json.dumps(body),
            content_type="application/json",
        )
