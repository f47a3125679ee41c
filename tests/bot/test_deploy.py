"""Deployment files checked statically (Docker is not available to the test suite) and with the
real tools where they are installed: docker-compose.yml, the Dockerfile, .env.example, the
Alertmanager and Grafana provisioning, the lock files and the container health check.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from prometheus_client import CollectorRegistry

from bot.metrics import MetricsServer
from tests.harness import free_port

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _compose() -> dict[str, Any]:
    compose: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return compose


def _bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts.append((REPO / source, target))
    return mounts


def _dockerfile_env() -> dict[str, str]:
    """ENV of the Dockerfile's final stage."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    final = text.rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for line in final.splitlines():
        if line.startswith("ENV "):
            env.update(re.findall(r"([A-Z_]+)=(\S+)", line))
    return env


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_runs_the_bot_prometheus_alertmanager_and_grafana() -> None:
    services = _compose()["services"]
    assert set(services) == {"gw2optimizer", "prometheus", "alertmanager", "grafana"}
    assert services["gw2optimizer"]["build"] == "."
    assert services["gw2optimizer"]["env_file"] == ".env"


def test_every_file_compose_mounts_exists() -> None:
    mounts = [m for service in _compose()["services"].values() for m in _bind_mounts(service)]
    assert mounts
    missing = [str(source) for source, _ in mounts if not source.exists()]
    assert missing == []


def test_prometheus_targets_resolve_to_compose_services_and_ports() -> None:
    compose = _compose()
    services = compose["services"]
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    bot_port = services["gw2optimizer"]["environment"]["METRICS_PORT"]
    targets = [
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    ]
    assert targets == [f"gw2optimizer:{bot_port}"]
    alertmanagers = [
        target
        for manager in config["alerting"]["alertmanagers"]
        for static in manager["static_configs"]
        for target in static["targets"]
    ]
    assert alertmanagers == ["alertmanager:9093"]
    # Prometheus reads the rule files next to its configuration, as compose mounts them.
    prometheus_mounts = {target: source for source, target in _bind_mounts(services["prometheus"])}
    for rule_file in config["rule_files"]:
        assert prometheus_mounts[f"/etc/prometheus/{rule_file}"] == MONITORING / rule_file
    assert prometheus_mounts["/etc/prometheus/prometheus.yml"] == MONITORING / "prometheus.yml"


def test_grafana_is_provisioned_with_the_compose_prometheus_and_the_dashboard() -> None:
    grafana = _compose()["services"]["grafana"]
    mounts = {target: source for source, target in _bind_mounts(grafana)}
    provisioning = mounts["/etc/grafana/provisioning"]
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True
    providers = yaml.safe_load((provisioning / "dashboards" / "gw2optimizer.yml").read_text())
    folder = providers["providers"][0]["options"]["path"]
    dashboards = [source for target, source in mounts.items() if target.startswith(folder + "/")]
    assert dashboards == [MONITORING / "grafana" / "gw2optimizer.json"]


def test_compose_overrides_the_container_paths_whatever_env_says() -> None:
    environment = _compose()["services"]["gw2optimizer"]["environment"]
    image_env = _dockerfile_env()
    for name in ("DATABASE_PATH", "METRICS_HOST", "METRICS_PORT"):
        assert environment[name] == image_env[name]


# --- Dockerfile and .env.example ----------------------------------------------------------------


def _env_example() -> dict[str, str]:
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_a_copied_env_example_does_not_override_the_image() -> None:
    """``docker run --env-file .env`` with .env from .env.example keeps the container's paths."""
    example = _env_example()
    image_env = _dockerfile_env()
    assert {"DATABASE_PATH", "METRICS_HOST", "METRICS_PORT"} <= set(image_env)
    clashes = {
        name: (example[name], value)
        for name, value in image_env.items()
        if name in example and example[name] != value
    }
    assert clashes == {}


def test_the_image_installs_from_the_lock_file_and_starts_the_console_script() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in text
    assert "pip install --no-deps ." in text
    assert "-e ." not in text  # a real install: migrations come from the package
    assert 'CMD ["gw2optimizer"]' in text
    assert '"bot.healthcheck"' in text
    dockerignore = (REPO / ".dockerignore").read_text().split()
    assert "requirements.lock" not in dockerignore


# --- Health check -------------------------------------------------------------------------------


async def _healthcheck(**env: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.healthcheck",
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


async def test_healthcheck_passes_with_the_sidecar_off() -> None:
    assert await _healthcheck(METRICS_PORT="0") == 0


async def test_healthcheck_asks_the_sidecar() -> None:
    async def ready() -> dict[str, str]:
        return {}

    port = free_port()
    server = MetricsServer(CollectorRegistry(), ready, host="127.0.0.1", port=port)
    await server.start()
    try:
        assert await _healthcheck(METRICS_PORT=str(port)) == 0
    finally:
        await server.close()
    assert await _healthcheck(METRICS_PORT=str(port)) == 1  # nothing listens any more


# --- Alertmanager -------------------------------------------------------------------------------


def _render_alertmanager(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "alertmanager.yml"
    done = subprocess.run(
        ["sh", str(MONITORING / "alertmanager" / "start.sh")],
        env={
            "PATH": os.environ["PATH"],
            "ALERTMANAGER_DISCORD_WEBHOOK_URL": url,
            "ALERTMANAGER_TEMPLATE": str(MONITORING / "alertmanager" / "alertmanager.yml"),
            "ALERTMANAGER_CONFIG": str(config),
            "ALERTMANAGER_BIN": "true",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return config


@pytest.mark.parametrize(
    "url", ["https://discord.com/api/webhooks/123456/abc-DEF_ghi&x|y", ""], ids=["set", "unset"]
)
def test_alertmanager_gets_the_discord_webhook_from_the_environment(
    tmp_path: Path, url: str
) -> None:
    config = yaml.safe_load(_render_alertmanager(tmp_path, url).read_text())
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    if url:
        assert config["route"]["receiver"] == "discord"
        assert receivers["discord"]["discord_configs"][0]["webhook_url"] == url
    else:
        assert config["route"]["receiver"] == "none"
    amtool = shutil.which("amtool")
    if amtool is None:
        if IN_CI:
            pytest.fail("amtool is missing in CI: .ci/run installs prometheus-alertmanager")
        pytest.skip("amtool is not installed (apt-get install prometheus-alertmanager)")
    rendered = _render_alertmanager(tmp_path, url)
    done = subprocess.run(
        [amtool, "check-config", str(rendered)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- Grafana dashboard --------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(
        (MONITORING / "grafana" / "gw2optimizer.json").read_text()
    )
    return dashboard


def test_importing_the_dashboard_asks_for_the_prometheus_data_source() -> None:
    dashboard = _dashboard()
    (source,) = dashboard["__inputs"]
    assert source["type"] == "datasource"
    assert source["pluginId"] == "prometheus"
    (variable,) = dashboard["templating"]["list"]
    assert variable["current"]["value"] == "${" + source["name"] + "}"
    uids = {
        target["datasource"]["uid"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }
    assert uids == {"${datasource}"}


def test_the_version_stat_shows_the_version_label_not_the_value() -> None:
    (panel,) = [p for p in _dashboard()["panels"] if p["title"] == "Version"]
    assert panel["targets"][0]["legendFormat"] == "{{version}}"
    assert panel["options"]["textMode"] == "name"


def test_every_metric_an_alert_uses_has_a_panel() -> None:
    metric = re.compile(r"\b((?:gw2opt|process)_[a-z0-9_]+)")
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    alerted = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in metric.findall(rule["expr"])
    }
    shown = {
        name
        for panel in _dashboard()["panels"]
        for target in panel.get("targets", [])
        for name in metric.findall(target["expr"])
    }
    assert alerted - shown == set()


def test_panels_do_not_overlap() -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in _dashboard()["panels"]:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, (panel["title"], cells.get((x, y)))
                cells[(x, y)] = panel["title"]


# --- Lock files ---------------------------------------------------------------------------------


def _pins(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-").replace(".", "-")] = match.group(2)
    return pins


@pytest.mark.parametrize(
    ("lock", "extras"),
    [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))],
)
def test_the_lock_files_pin_every_dependency_within_its_bounds(
    lock: str, extras: tuple[str, ...]
) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(text) for text in project["optional-dependencies"][extra]]
    pins = _pins(REPO / lock)
    problems = []
    for requirement in wanted:
        name = requirement.name.lower().replace("_", "-").replace(".", "-")
        version = pins.get(name)
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement}: locked {version}")
    assert problems == []
    text = (REPO / lock).read_text()
    assert "--hash=sha256:" in text
    unhashed = [
        line
        for line in text.split("\n")
        if re.match(r"^[A-Za-z0-9_.-]+==", line) and not line.rstrip().endswith("\\")
    ]
    assert unhashed == []


def test_dependencies_whose_majors_break_us_have_upper_bounds() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    unbounded = [
        text
        for text in project["dependencies"]
        if not any(spec.operator in {"<", "<=", "~=", "=="} for spec in Requirement(text).specifier)
    ]
    assert unbounded == []


# --- CI runs exactly what the README tells a new user ------------------------------------------


def test_ci_runs_the_readmes_test_command_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    (test_command,) = [block.strip() for block in blocks if "pytest" in block]
    assert "\n" not in test_command  # one copy-pasteable line
    ci_lines = (REPO / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines
    assert "requirements-dev.lock" in test_command
