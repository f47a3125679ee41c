"""Prometheus metrics of the GW2 API client, registered on the registry the bot hands in.

Labels are the endpoint family ("matches", "account", ...), an outcome or a cache result: never a
key, key id, user id or guild id.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_PAUSE_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Every ``outcome`` a request is counted with: "ok", the local rate limiter's refusal and each
# error class's ``outcome`` (services/gw2/errors.py).
REQUEST_OUTCOMES = (
    "ok",
    "rate_limited_local",
    "error",
    "invalid_key",
    "missing_permission",
    "not_found",
    "rate_limited",
    "endpoint_disabled",
    "unavailable",
    "bad_response",
)
_WAIT_BUCKETS = (0.0, 0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GW2Metrics:
    """The client's counters and histograms (prefix ``gw2opt_gw2_api_``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "gw2opt_gw2_api_requests_total",
            "Upstream GW2 API requests by endpoint family and outcome (one per attempt).",
            ["family", "outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "gw2opt_gw2_api_upstream_latency_seconds",
            "Time from sending a GW2 API request to having its body.",
            ["family"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.cache = Counter(
            "gw2opt_gw2_api_cache_lookups_total",
            "Cache lookups by endpoint family and result (hit, miss, stale).",
            ["family", "result"],
            registry=registry,
        )
        self.coalesced = Counter(
            "gw2opt_gw2_api_coalesced_waits_total",
            "Calls that waited for an identical in-flight request instead of sending their own.",
            ["family"],
            registry=registry,
        )
        self.ratelimit_wait = Histogram(
            "gw2opt_gw2_api_ratelimit_wait_seconds",
            "Time a request waited for a token of the shared GW2 API rate limiter.",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "gw2opt_gw2_api_retries_total",
            "Retried GW2 API requests by endpoint family and the outcome that caused the retry.",
            ["family", "outcome"],
            registry=registry,
        )
        self.upstream_pauses = Counter(
            "gw2opt_gw2_api_upstream_pauses_total",
            "Upstream 429s that paused requests, by endpoint family and what was paused "
            "(key: the key that got it; family: public requests of that family).",
            ["family", "scope"],
            registry=registry,
        )
        self.upstream_pause_seconds = Histogram(
            "gw2opt_gw2_api_upstream_pause_seconds",
            "Pause applied after an upstream 429 (its Retry-After, capped at 60 s).",
            ["family"],
            buckets=_PAUSE_BUCKETS,
            registry=registry,
        )
        self.paused_scopes = Gauge(
            "gw2opt_gw2_api_paused_scopes",
            "Keys and endpoint families currently held back by an upstream 429.",
            registry=registry,
        )

    def precreate(self, families: Iterable[str]) -> None:
        """Create every (family, outcome) request series at 0.

        An alert on ``increase()`` misses the first occurrence when a series is born above 0;
        families and outcomes are small fixed sets, so every series exists from start-up.
        """
        for family in families:
            for outcome in REQUEST_OUTCOMES:
                self.requests.labels(family, outcome)
