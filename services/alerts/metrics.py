"""Prometheus metrics of the live alerts (``gw2opt_alert_*``); no ids as labels."""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

AlertDelivery = Literal[
    "sent", "note", "filtered", "channel_gone", "forbidden", "error", "admin_dm", "admin_dm_failed"
]
DisableReason = Literal["channel_gone", "forbidden"]


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.polls = Counter(
            "gw2opt_alert_polls",
            "Alert polls, by outcome (ok, error).",
            ["outcome"],
            registry=registry,
        )
        self.poll_seconds = Histogram(
            "gw2opt_alert_poll_duration_seconds",
            "Time to run one alert poll (fetch, diff, deliver to every channel).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=registry,
        )
        self.matches_fetched = Gauge(
            "gw2opt_alert_matches_polled",
            "Distinct matches read in the last alert poll.",
            registry=registry,
        )
        self.events = Counter(
            "gw2opt_alert_events",
            "Events derived from match diffs, by kind.",
            ["kind"],
            registry=registry,
        )
        self.deliveries = Counter(
            "gw2opt_alert_deliveries",
            "Alert messages per channel, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.disabled = Counter(
            "gw2opt_alert_subscriptions_disabled",
            "Alert subscriptions stopped because of the channel, by reason.",
            ["reason"],
            registry=registry,
        )
        for outcome in get_args(AlertDelivery):
            self.deliveries.labels(outcome=outcome)
        for reason in get_args(DisableReason):
            self.disabled.labels(reason=reason)
        for poll_outcome in ("ok", "error"):
            self.polls.labels(outcome=poll_outcome)

    def delivery(self, outcome: AlertDelivery, count: int = 1) -> None:
        self.deliveries.labels(outcome=outcome).inc(count)
