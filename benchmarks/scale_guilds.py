"""Benchmark: one bot process serving 1,000 / 10,000 / 25,000 guilds over shards.

For each size the real ``Application`` (every cog) runs in a fresh process of its own, against the
fake Discord and fake GW2 API in another process (``benchmarks/scale_fakes.py``), which holds N
small guilds (a few channels and roles each, no member list) and recommends one shard per 1,000
guilds with ``session_start_limit.max_concurrency`` (default 1, as for most bots). Per size it
prints: shards, time from start to ready and the floor the identify rate limit sets, peak RSS and
RSS per 1,000 guilds above the empty bot (10 guilds), CPU at idle over 30 s (heartbeats only),
and ``/wvw match`` interactions/s and p99 at 10 outstanding with all guilds loaded (commands come
from a guild on each shard in turn; the match is cached).

    .venv/bin/python -m benchmarks.scale_guilds                # 1,000, 10,000 and 25,000
    .venv/bin/python -m benchmarks.scale_guilds --guilds 10000 # one size (plus the empty bot)

Goals: RSS <= 15 MiB per 1,000 guilds above the empty bot; idle CPU <= 2 % of one core at 10,000
guilds; /wvw match rate at 10,000 guilds >= 90 % of the rate with 10 guilds in the same run;
start-to-ready bounded by the identify rate limit, not by the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry

from benchmarks.wvw_commands import cpu_seconds, free_port, percentile
from bot.app import Application
from bot.config import (
    DatabaseSettings,
    DiscordSettings,
    GW2Settings,
    MetricsSettings,
    MistralSettings,
    SecuritySettings,
    Settings,
)
from bot.shards import IDENTIFY_WINDOW_S
from services.gw2 import CachePolicy
from services.keys import generate_key

EMPTY = 10
DEFAULT_SIZES = (1_000, 10_000, 25_000)
MATCH = ("wvw match", {"team": "11005"})
OUTSTANDING = 10


def rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def settings_for(endpoints: dict[str, str], data_dir: Path) -> Settings:
    return Settings(
        discord=DiscordSettings(
            token="benchmark-token",
            api_base_url=endpoints["discord_api"],
            gateway_url=endpoints["discord_gateway"],
        ),
        database=DatabaseSettings(path=data_dir / "bench.sqlite3"),
        security=SecuritySettings(key_encryption_key=generate_key()),
        gw2=GW2Settings(base_url=endpoints["gw2"]),
        mistral=MistralSettings(api_key=None, server_url="http://127.0.0.1:9/"),
        metrics=MetricsSettings(port=0),
    )


async def measure_one(
    guilds: int, idle_s: float, commands: int, max_concurrency: int, rounds: int
) -> dict[str, Any]:
    """One size, in this process: start, ready, idle, commands. Returns the figures."""
    control_port = free_port()
    fakes = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything runs
        [
            sys.executable,
            "-m",
            "benchmarks.scale_fakes",
            "--control-port",
            str(control_port),
            "--guilds",
            str(guilds),
            "--max-concurrency",
            str(max_concurrency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fakes.stdout is not None
        endpoints = json.loads(await asyncio.to_thread(fakes.stdout.readline))
        gc.collect()
        rss_before = rss_mib()
        with tempfile.TemporaryDirectory() as data_dir:
            app = Application(settings_for(endpoints, Path(data_dir)), registry=CollectorRegistry())
            started = time.perf_counter()
            await app.start()
            try:
                await app.wait_until_ready(timeout_s=3600)
                ready_s = time.perf_counter() - started
                assert app.bot is not None
                assert app._services is not None
                app._services.gw2._policies["matches"] = CachePolicy(ttl=3600, max_ttl=3600)
                async with aiohttp.ClientSession(f"http://127.0.0.1:{control_port}") as control:
                    await (await control.get("/ready")).json()
                    info = await (await control.get("/info")).json()
                    gc.collect()
                    steady = rss_mib()
                    cpu_before, idle_started = cpu_seconds(), time.perf_counter()
                    await asyncio.sleep(idle_s)
                    idle_cpu = (cpu_seconds() - cpu_before) / (time.perf_counter() - idle_started)
                    body = {"command": MATCH[0], "options": MATCH[1], "outstanding": OUTSTANDING}
                    await control.post("/run", json=body | {"total": 300})  # warm-up
                    runs = []
                    for _ in range(rounds):
                        bot_cpu, fake_cpu = cpu_seconds(), cpu_seconds(fakes.pid)
                        async with control.post("/run", json=body | {"total": commands}) as reply:
                            run = await reply.json()
                        count = len(run["latencies"])
                        run["bot_cpu"] = (cpu_seconds() - bot_cpu) / count
                        run["fake_cpu"] = (cpu_seconds(fakes.pid) - fake_cpu) / count
                        runs.append(run)
                peak = peak_rss_mib()
                bot_guilds = len(app.bot.guilds)
                shard_count = app.bot.shard_count or 1
                down = app.bot.shards_down()
            finally:
                await app.stop()
    finally:
        fakes.terminate()
        fakes.wait(timeout=30)
    waves = math.ceil(shard_count / max_concurrency)
    return {
        "guilds": guilds,
        "bot_guilds": bot_guilds,
        "shards": shard_count,
        "shards_down": down,
        "max_concurrency": max_concurrency,
        "ready_s": ready_s,
        "identify_floor_s": (waves - 1) * IDENTIFY_WINDOW_S,
        "rss_before_mib": rss_before,
        "steady_rss_mib": steady,
        "peak_rss_mib": peak,
        "idle_cpu": idle_cpu,
        "idle_s": idle_s,
        "rate": statistics.median(len(r["latencies"]) / r["wall"] for r in runs),
        "p99_ms": statistics.median(percentile(r["latencies"], 0.99) for r in runs) * 1000,
        "bot_cpu_us": statistics.median(r["bot_cpu"] for r in runs) * 1e6,
        "fake_cpu_us": statistics.median(r["fake_cpu"] for r in runs) * 1e6,
        "fake_guild_build_s": info["guild_build_seconds"],
    }


def run_size(guilds: int, args: argparse.Namespace) -> dict[str, Any]:
    """Measure one size in a fresh process (so RSS is that size's alone)."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale_guilds",
        "--one",
        str(guilds),
        "--idle",
        str(args.idle),
        "--commands",
        str(args.commands),
        "--max-concurrency",
        str(args.max_concurrency),
        "--rounds",
        str(args.rounds),
    ]
    print(f"... {guilds:,} guilds", file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"the {guilds} guilds run failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def print_table(rows: list[dict[str, Any]]) -> None:
    empty = rows[0]
    print(
        "Measured on a shared 2-core machine under load from other work; one run per size.\n"
        f"Identify limit: max_concurrency {empty['max_concurrency']} per "
        f"{IDENTIFY_WINDOW_S:.0f} s; idle CPU over {empty['idle_s']:.0f} s; /wvw match at "
        f"{OUTSTANDING} outstanding.\n"
    )
    print(
        f"{'guilds':>7} {'shards':>6} {'ready s':>8} {'floor s':>8} {'peak RSS':>9} "
        f"{'MiB/1k':>7} {'steady':>7} {'MiB/1k':>7} {'idle CPU':>9} {'inter./s':>9} "
        f"{'p99 ms':>7} {'vs 10':>6} {'bot µs':>7} {'fake µs':>7}"
    )
    for row in rows:
        extra = row["guilds"] - empty["guilds"]
        per_k_peak = (row["peak_rss_mib"] - empty["peak_rss_mib"]) / extra * 1000 if extra else 0
        per_k_steady = (
            (row["steady_rss_mib"] - empty["steady_rss_mib"]) / extra * 1000 if extra else 0
        )
        print(
            f"{row['guilds']:>7,} {row['shards']:>6} {row['ready_s']:>8.1f} "
            f"{row['identify_floor_s']:>8.1f} {row['peak_rss_mib']:>8.1f}M {per_k_peak:>7.2f} "
            f"{row['steady_rss_mib']:>6.1f}M {per_k_steady:>7.2f} {row['idle_cpu']:>8.2%} "
            f"{row['rate']:>9.0f} {row['p99_ms']:>7.1f} {row['rate'] / empty['rate']:>6.1%} "
            f"{row['bot_cpu_us']:>7.0f} {row['fake_cpu_us']:>7.0f}"
        )
        if row["bot_guilds"] != row["guilds"] or row["shards_down"]:
            print(f"        WARNING: bot saw {row['bot_guilds']} guilds, down {row['shards_down']}")
    print()
    for row in rows[1:]:
        extra = row["guilds"] - empty["guilds"]
        per_k = (row["peak_rss_mib"] - empty["peak_rss_mib"]) / extra * 1000
        ratio = row["rate"] / empty["rate"]
        bot_part = row["ready_s"] - row["identify_floor_s"]
        print(
            f"{row['guilds']:>6,} guilds: RSS {per_k:.2f} MiB per 1,000 above the empty bot "
            f"(goal <= 15: {'met' if per_k <= 15 else 'NOT met'}); rate {ratio:.1%} of 10 guilds "
            f"(goal >= 90 %: {'met' if ratio >= 0.9 else 'NOT met'}); ready "
            f"{row['ready_s']:.1f} s = identify floor {row['identify_floor_s']:.0f} s + "
            f"{bot_part:.1f} s; idle CPU {row['idle_cpu']:.2%}"
            + (
                f" (goal <= 2 %: {'met' if row['idle_cpu'] <= 0.02 else 'NOT met'})"
                if row["guilds"] == 10_000
                else ""
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--guilds", type=int, action="append", help="a size (repeatable)")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measured")
    parser.add_argument("--commands", type=int, default=2000, help="interactions measured")
    parser.add_argument("--max-concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="command runs (median)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        result = asyncio.run(
            measure_one(args.one, args.idle, args.commands, args.max_concurrency, args.rounds)
        )
        print(json.dumps(result))
        return
    started = time.perf_counter()
    sizes = args.guilds or list(DEFAULT_SIZES)
    rows = [run_size(size, args) for size in [EMPTY, *sizes]]
    print_table(rows)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
