"""Prometheus metrics of verified roles (prefix ``gw2opt_``; no user, server or role ids)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.keys import CheckResult

from .sync import SyncReport


class RoleMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.role_changes = Counter(
            "gw2opt_role_changes",
            "Managed role changes sent to Discord, by action (add, remove) and refused changes.",
            ["action"],
            registry=registry,
        )
        self.member_reads = Counter(
            "gw2opt_role_member_reads",
            "Members read from Discord by the role sync (unchanged members cost none).",
            registry=registry,
        )
        self.account_answers = Counter(
            "gw2opt_role_account_answers",
            "GW2 account lookups of the role sync, by answer (valid, invalid_key, transient).",
            ["answer"],
            registry=registry,
        )
        self.outage_batches = Counter(
            "gw2opt_role_sync_outage_batches",
            "Role sync batches treated as a GW2 API outage (no role removed).",
            registry=registry,
        )
        self.pass_seconds = Histogram(
            "gw2opt_role_sync_pass_seconds",
            "Duration of a scheduled role sync pass (spread over its period).",
            buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800),
            registry=registry,
        )
        for action in ("add", "remove", "refused"):
            self.role_changes.labels(action=action)
        for result in CheckResult:
            self.account_answers.labels(answer=result.value)

    def record(self, report: SyncReport) -> None:
        self.role_changes.labels(action="add").inc(report.added)
        self.role_changes.labels(action="remove").inc(report.removed)
        self.role_changes.labels(action="refused").inc(report.refused)
        self.member_reads.inc(report.member_reads)
        self.outage_batches.inc(report.outage_batches)
        for result, count in report.checked_answers.items():
            self.account_answers.labels(answer=result.value).inc(count)
