"""The dashboard and alert rules only query metrics the bot really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from bot.metrics import BotMetrics
from services.alerts import AlertMetrics
from services.composer import ComposerMetrics
from services.gw2 import GW2Metrics
from services.keys import KeyMetrics
from services.updates import UpdateMetrics

ALL_METRICS = (BotMetrics, GW2Metrics, KeyMetrics, ComposerMetrics, UpdateMetrics, AlertMetrics)
MONITORING = Path(__file__).resolve().parents[1] / "monitoring"
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
        labelnames = set(getattr(registry._names_to_collectors[family.name], "_labelnames", ()))
        assert not labelnames & forbidden, family.name
