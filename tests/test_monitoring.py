"""The dashboard and alert rules only query metrics the bot really exports."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import cast

import aiohttp
import pytest
import yaml
from prometheus_client import CollectorRegistry

from bot.metrics import ERROR_PLACES, BotMetrics
from bot.shards import ShardMonitor
from services.alerts import AlertMetrics
from services.clock import ManualClock
from services.composer import ComposerMetrics
from services.gw2 import GW2Client, GW2Metrics
from services.keys import KeyMetrics
from services.updates import UpdateMetrics

ALL_METRICS = (
    BotMetrics,
    GW2Metrics,
    KeyMetrics,
    ComposerMetrics,
    UpdateMetrics,
    AlertMetrics,
    ShardMonitor,
)
REPO = Path(__file__).resolve().parents[1]
MONITORING = REPO / "monitoring"
METRIC_RE = re.compile(r"\bgw2opt_[a-z0-9_]+")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "info": ("_info",),
    "gauge": ("",),
    "summary": ("_sum", "_count"),
}


def exported_sample_names() -> set[str]:
    registry = CollectorRegistry()
    for metrics_class in ALL_METRICS:
        metrics_class(registry)
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana" / "gw2optimizer.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_queried_metric_is_exported(source: str) -> None:
    expressions = dashboard_expressions() if source == "dashboard" else alert_expressions()
    assert expressions
    exported = exported_sample_names()
    unknown = {
        name for expr in expressions for name in METRIC_RE.findall(expr) if name not in exported
    }
    assert unknown == set()


def test_alerts_have_summaries_and_severities() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}
            assert rule["annotations"]["summary"]


def test_no_metric_is_labelled_with_discord_ids() -> None:
    registry = CollectorRegistry()
    for metrics_class in ALL_METRICS:
        metrics_class(registry)
    forbidden = {"user", "user_id", "guild", "guild_id", "channel", "channel_id", "key", "token"}
    for family in registry.collect():
        collector = registry._names_to_collectors.get(family.name)  # process_*: unlabelled
        labelnames = set(getattr(collector, "_labelnames", ()))
        labelnames.update(label for sample in family.samples for label in sample.labels)
        assert not labelnames & forbidden, family.name


# --- Series that exist from start-up (alerts on increase() see the first event) ---------------


def test_error_and_gw2_request_series_exist_at_zero_from_start_up() -> None:
    from services.gw2 import FAMILY_POLICIES
    from services.gw2.metrics import REQUEST_OUTCOMES

    registry = CollectorRegistry()
    BotMetrics(registry)
    GW2Client(
        cast(aiohttp.ClientSession, None),
        base_url="http://127.0.0.1:9",
        clock=ManualClock(),
        metrics=GW2Metrics(registry),
    )
    for where in ERROR_PLACES:
        assert registry.get_sample_value("gw2opt_unhandled_errors_total", {"where": where}) == 0
    for family in FAMILY_POLICIES:
        for outcome in REQUEST_OUTCOMES:
            labels = {"family": family, "outcome": outcome}
            assert registry.get_sample_value("gw2opt_gw2_api_requests_total", labels) == 0


def test_every_gw2_error_outcome_is_precreated() -> None:
    import services.gw2.errors as gw2_errors
    from services.gw2.metrics import REQUEST_OUTCOMES

    outcomes = {
        cls.outcome
        for cls in vars(gw2_errors).values()
        if isinstance(cls, type) and issubclass(cls, gw2_errors.GW2APIError)
    }
    assert outcomes <= set(REQUEST_OUTCOMES)


def test_every_place_that_counts_an_error_is_precreated() -> None:
    # errors.labels(where="...") directly, or handle_error(..., where="...", name=...)
    counted = re.compile(r'errors\.labels\(where="([a-z_]+)"\)|,\s*where="([a-z_]+)",\s*name=')
    places = {
        place
        for folder in ("bot", "cogs")
        for source in (REPO / folder).rglob("*.py")
        for match in counted.findall(source.read_text())
        for place in match
        if place
    }
    assert places
    assert places <= set(ERROR_PLACES)


def test_process_platform_and_gc_metrics_are_exported() -> None:
    registry = CollectorRegistry()
    BotMetrics(registry)
    names = {family.name for family in registry.collect()}
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "process_open_fds"} <= names
    assert {"python_info", "python_gc_collections"} <= names


# --- The real tools: promtool checks the configuration, the rules and their unit tests -------

IN_CI = os.environ.get("CI", "").lower() == "true"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if IN_CI:
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool is not installed (apt-get install prometheus); CI runs this")
    return path


@pytest.mark.parametrize(
    "arguments",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        ("test", "rules", *sorted(p.name for p in (MONITORING / "tests").glob("*.yml"))),
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_promtool_accepts_the_monitoring_files(arguments: tuple[str, ...]) -> None:
    folder = MONITORING / "tests" if arguments[0] == "test" else MONITORING
    done = subprocess.run(
        [_promtool(), *arguments], cwd=folder, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_promtool_unit_test() -> None:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    firing: set[str] = set()
    quiet: set[str] = set()
    for test_file in (MONITORING / "tests").glob("*.yml"):
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check["exp_alerts"] else quiet).add(check["alertname"])
    assert alerts - firing == set(), "alerts never shown to fire"
    assert alerts - quiet == set(), "alerts never shown to stay quiet"
