"""deploy/cluster/docker-compose.yml checked statically: two bots with half the shards each,
PostgreSQL, Redis, Prometheus scraping both bots, Grafana with the dashboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bot.config import parse_shard_ids

REPO = Path(__file__).resolve().parents[2]
CLUSTER = REPO / "deploy" / "cluster"


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((CLUSTER / "docker-compose.yml").read_text())
    return compose


def _bots(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if name.startswith("bot-")}


def _bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            mounts.append(((CLUSTER / source).resolve(), target))
    return mounts


def test_the_cluster_runs_two_bots_postgresql_redis_prometheus_and_grafana() -> None:
    services = _compose()["services"]
    assert set(services) == {"bot-a", "bot-b", "postgres", "redis", "prometheus", "grafana"}
    for bot in _bots(services).values():
        assert (CLUSTER / bot["build"]).resolve() == REPO
        assert (CLUSTER / bot["env_file"]).resolve() == REPO / ".env"
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_the_bots_split_the_shards_between_them_exactly_once() -> None:
    bots = _bots(_compose()["services"])
    counts = {int(b["environment"]["DISCORD_SHARD_COUNT"]) for b in bots.values()}
    assert len(counts) == 1
    (count,) = counts
    owned = [
        i for b in bots.values() for i in parse_shard_ids(b["environment"]["DISCORD_SHARD_IDS"])
    ]
    assert sorted(owned) == list(range(count))
    assert len(bots) == 2


def test_the_bots_use_the_compose_postgresql_and_redis() -> None:
    services = _compose()["services"]
    for bot in _bots(services).values():
        env = bot["environment"]
        # Compose fills in ${POSTGRES_PASSWORD} from .env.
        database = urlsplit(re.sub(r"\$\{[^}]*\}", "password", env["DATABASE_URL"]))
        assert database.password == "password"
        assert database.scheme == "postgresql"
        assert database.hostname == "postgres"
        assert database.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
        assert database.username == services["postgres"]["environment"]["POSTGRES_USER"]
        redis = urlsplit(env["REDIS_URL"])
        assert (redis.scheme, redis.hostname) == ("redis", "redis")


def test_prometheus_scrapes_every_bot_and_grafana_gets_the_dashboard() -> None:
    services = _compose()["services"]
    prometheus_mounts = {t: s for s, t in _bind_mounts(services["prometheus"])}
    config = yaml.safe_load(prometheus_mounts["/etc/prometheus/prometheus.yml"].read_text())
    targets = sorted(
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    )
    expected = sorted(
        f"{name}:{b['environment']['METRICS_PORT']}" for name, b in _bots(services).items()
    )
    assert targets == expected
    for rule_file in config["rule_files"]:
        assert prometheus_mounts[f"/etc/prometheus/{rule_file}"] == REPO / "monitoring" / rule_file
    grafana_mounts = {t: s for s, t in _bind_mounts(services["grafana"])}
    assert grafana_mounts["/etc/grafana/dashboards/gw2optimizer.json"] == (
        REPO / "monitoring" / "grafana" / "gw2optimizer.json"
    )
    missing = [
        str(s) for service in services.values() for s, _ in _bind_mounts(service) if not s.exists()
    ]
    assert missing == []
