"""Prometheus metrics for key linking, leak clean-up and revalidation (prefix ``gw2opt_``).

Labels are small fixed sets of outcomes; no user, guild or key identifiers ever become labels.
Every known label value is created up front so dashboards see zeros rather than gaps.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal, TypeVar, get_args

from prometheus_client import CollectorRegistry, Counter

from services.keys.revalidation import CheckResult, CycleDecision

LinkOutcome = Literal[
    "linked",
    "invalid_format",
    "rate_limited",
    "invalid_key",
    "missing_permissions",
    "ownership_failed",
    "api_error",
]
LeakAction = Literal["deleted", "could_not_delete"]

K = TypeVar("K", bound=Hashable)


class KeyMetrics:
    """The key feature's counters, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.link_attempts = Counter(
            "gw2opt_key_link_attempts",
            "API key link attempts, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.leaked_keys = Counter(
            "gw2opt_leaked_keys",
            "API keys found posted in a channel, by what the bot could do about the message.",
            ["action"],
            registry=registry,
        )
        self.revalidations = Counter(
            "gw2opt_key_revalidations",
            "Stored API key revalidations, by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.keys_marked_invalid = Counter(
            "gw2opt_keys_marked_invalid",
            "Stored API keys marked invalid after repeated invalid-key answers.",
            registry=registry,
        )
        self.outage_cycles = Counter(
            "gw2opt_key_revalidation_outage_cycles",
            "Revalidation cycles treated as a GW2 API outage (most keys failed at once).",
            registry=registry,
        )
        for outcome in get_args(LinkOutcome):
            self.link_attempts.labels(outcome=outcome)
        for action in get_args(LeakAction):
            self.leaked_keys.labels(action=action)
        for result in CheckResult:
            self.revalidations.labels(outcome=result.value)

    def link_attempt(self, outcome: LinkOutcome) -> None:
        self.link_attempts.labels(outcome=outcome).inc()

    def leaked_key(self, action: LeakAction) -> None:
        self.leaked_keys.labels(action=action).inc()

    def record_decision(self, decision: CycleDecision[K]) -> None:
        """Count one ``revalidation.decide`` outcome (a background cycle or a use-time check)."""
        for result, count in decision.counts.items():
            if count:
                self.revalidations.labels(outcome=result.value).inc(count)
        if decision.mark_invalid:
            self.keys_marked_invalid.inc(len(decision.mark_invalid))
        if decision.outage:
            self.outage_cycles.inc()
