"""A real Prometheus on loopback scrapes the bot (against the fakes) with the shipped rules.

Skips with a reason when the ``prometheus`` binary is absent (``apt-get install prometheus``);
fails instead when ``CI=true``, since .ci/run installs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from services.gw2.errors import EndpointDisabledError
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API, Fault
from tests.harness import free_port, running_bot

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"


def _prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the prometheus binary is missing in CI: .ci/run installs it")
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus)")
    return path


@asynccontextmanager
async def _prometheus(tmp_path: Path, target: str) -> AsyncIterator[str]:
    """Prometheus scraping ``target`` every second with the project's rules; yields its URL."""
    binary = _prometheus_binary()
    config_dir = tmp_path / "prometheus"
    config_dir.mkdir()
    shutil.copy(MONITORING / "alerts.yml", config_dir / "alerts.yml")
    # The shipped configuration, with the target pointed at the test's bot and faster timing.
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config.pop("alerting", None)  # no Alertmanager here
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [target]}]
    (config_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={config_dir / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _poll(
    http: aiohttp.ClientSession, url: str, done: Any, *, timeout: float = 60.0
) -> dict[str, Any]:
    """GET ``url`` until ``done(json)`` is true (Prometheus works on its own real-time clock)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: dict[str, Any] = {}
    while asyncio.get_running_loop().time() < deadline:
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    last = await response.json()
                    if done(last):
                        return last
        except aiohttp.ClientError:
            pass  # still starting
        await asyncio.sleep(0.25)
    raise AssertionError(f"{url} never got there; last answer: {last}")


def _all_rules_evaluated(body: dict[str, Any]) -> bool:
    rules = [rule for group in body["data"]["groups"] for rule in group["rules"]]
    return bool(rules) and all(rule.get("lastEvaluation", "").startswith("2") for rule in rules)


async def test_a_real_prometheus_scrapes_the_bot_and_evaluates_every_rule(tmp_path: Path) -> None:
    _prometheus_binary()
    metrics_port = free_port()
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        discord_fake.add_guild(name="Scraped")
        async with (
            running_bot(
                discord_fake, tmp_path / "bot", gw2=gw2_fake, metrics_port=metrics_port
            ) as app,
            _prometheus(tmp_path, f"127.0.0.1:{metrics_port}") as prometheus,
            aiohttp.ClientSession() as http,
        ):
            targets = await _poll(
                http,
                f"{prometheus}/api/v1/targets",
                lambda body: any(t["health"] == "up" for t in body["data"]["activeTargets"]),
            )
            (target,) = targets["data"]["activeTargets"]
            assert target["labels"]["job"] == "gw2optimizer"
            assert target["lastError"] == ""
            rules = await _poll(http, f"{prometheus}/api/v1/rules", _all_rules_evaluated)
            unhealthy = {
                rule["name"]: rule.get("lastError")
                for group in rules["data"]["groups"]
                for rule in group["rules"]
                if rule["health"] != "ok"
            }
            assert unhealthy == {}
            names = {rule["name"] for g in rules["data"]["groups"] for rule in g["rules"]}
            shipped = yaml.safe_load((MONITORING / "alerts.yml").read_text())
            assert names == {r["alert"] for g in shipped["groups"] for r in g["rules"]}
            # Pre-created series and process metrics reach Prometheus.
            query = await _poll(
                http,
                f"{prometheus}/api/v1/query?query=gw2opt_unhandled_errors_total",
                lambda body: len(body["data"]["result"]) >= 1,
            )
            assert {r["value"][1] for r in query["data"]["result"]} == {"0"}
            memory = await _poll(
                http,
                f"{prometheus}/api/v1/query?query=process_resident_memory_bytes",
                lambda body: len(body["data"]["result"]) == 1,
            )
            assert float(memory["data"]["result"][0]["value"][1]) > 0
            # Nothing fires while the bot is healthy.
            alerts = await _poll(http, f"{prometheus}/api/v1/alerts", lambda body: True)
            assert alerts["data"]["alerts"] == []

            # The first two "API not active" answers fire GW2APIEndpointDisabled (the series
            # was scraped at 0 before them, so increase() sees them).
            disabled = 'gw2opt_gw2_api_requests_total{family="matches",outcome="endpoint_disabled"}'
            await _poll(
                http,
                f"{prometheus}/api/v1/query?query={disabled}",
                lambda body: [r["value"][1] for r in body["data"]["result"]] == ["0"],
            )
            gw2_fake.script("/v2/wvw/matches", Fault.disabled(times=2))
            assert app.bot is not None
            for _ in range(2):
                with pytest.raises(EndpointDisabledError):
                    await app.bot.services.gw2.match_for_team(12008, refresh=True)
            firing = await _poll(
                http,
                f"{prometheus}/api/v1/alerts",
                lambda body: any(a["state"] == "firing" for a in body["data"]["alerts"]),
            )
            (alert,) = [a for a in firing["data"]["alerts"] if a["state"] == "firing"]
            assert alert["labels"]["alertname"] == "GW2APIEndpointDisabled"
            assert alert["labels"]["family"] == "matches"


def test_the_skip_reason_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install prometheus"):
        _prometheus_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing in CI"):
        _prometheus_binary()
