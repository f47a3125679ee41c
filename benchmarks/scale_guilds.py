"""Benchmark: one bot process serving 1,000 / 10,000 / 25,000 guilds over shards.

For each size the real ``Application`` (every cog) runs in a fresh process of its own, against the
fake Discord and fake GW2 API in another process (``benchmarks/scale_fakes.py``), which holds N
small guilds (a few channels and roles each, no member list) and recommends one shard per 1,000
guilds with ``session_start_limit.max_concurrency`` (default 1, as for most bots). Per size it
prints: shards, time from start to ready and the floor the identify rate limit sets, peak RSS and
RSS per 1,000 guilds above the empty bot (10 guilds), CPU at idle over 30 s (heartbeats only),
and ``/wvw match`` interactions/s and p99 at 10 outstanding with all guilds loaded (commands come
from a guild on each shard in turn; the match is cached). The empty bot stays up for the whole
run and its command rounds alternate with each size's, so the rate ratio compares runs under the
same machine load (on a shared machine, back-to-back runs of one size differ by up to 2x).

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
    guilds: int, idle_s: float, commands: int, max_concurrency: int
) -> dict[str, Any]:
    """One size, in this process: start, ready, idle; then command rounds when the parent asks.

    Protocol on stdout/stdin (one JSON line each): this process prints the start-up figures,
    then answers each ``run`` line with one round's figures, and ``stop`` with the final ones.
    The parent interleaves rounds with the empty bot's, so both see the same machine load.
    """
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
                    gc.collect()
                    steady = rss_mib()
                    cpu_before, idle_started = cpu_seconds(), time.perf_counter()
                    await asyncio.sleep(idle_s)
                    idle_cpu = (cpu_seconds() - cpu_before) / (time.perf_counter() - idle_started)
                    body = {"command": MATCH[0], "options": MATCH[1], "outstanding": OUTSTANDING}
                    await control.post("/run", json=body | {"total": 300})  # warm-up
                    shard_count = app.bot.shard_count or 1
                    waves = math.ceil(shard_count / max_concurrency)
                    _say(
                        {
                            "guilds": guilds,
                            "shards": shard_count,
                            "max_concurrency": max_concurrency,
                            "ready_s": ready_s,
                            "identify_floor_s": (waves - 1) * IDENTIFY_WINDOW_S,
                            "steady_rss_mib": steady,
                            "idle_cpu": idle_cpu,
                            "idle_s": idle_s,
                        }
                    )
                    while (await asyncio.to_thread(sys.stdin.readline)).strip() == "run":
                        bot_cpu, fake_cpu = cpu_seconds(), cpu_seconds(fakes.pid)
                        async with control.post("/run", json=body | {"total": commands}) as reply:
                            run = await reply.json()
                        count = len(run["latencies"])
                        _say(
                            {
                                "rate": count / run["wall"],
                                "p99_ms": percentile(run["latencies"], 0.99) * 1000,
                                "bot_cpu_us": (cpu_seconds() - bot_cpu) / count * 1e6,
                                "fake_cpu_us": (cpu_seconds(fakes.pid) - fake_cpu) / count * 1e6,
                            }
                        )
                final = {
                    "peak_rss_mib": peak_rss_mib(),
                    "bot_guilds": len(app.bot.guilds),
                    "shards_down": app.bot.shards_down(),
                }
            finally:
                await app.stop()
    finally:
        fakes.terminate()
        fakes.wait(timeout=30)
    return final


def _say(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


class SizeRun:
    """One size's bot process, driven round by round from the parent."""

    def __init__(self, guilds: int, args: argparse.Namespace, log_dir: Path) -> None:
        print(f"... starting the bot with {guilds:,} guilds", file=sys.stderr, flush=True)
        self.log = log_dir / f"bot-{guilds}.log"
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
        ]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
            )
        self.row: dict[str, Any] = self._read()
        self.rounds: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the bot run failed:\n{self.log.read_text()[-4000:]}")
        result: dict[str, Any] = json.loads(line)
        return result

    def run(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        result = self._read()
        self.rounds.append(result)
        return result

    def stop(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        self.row |= self._read()
        self.process.wait(timeout=120)
        for key in ("rate", "p99_ms", "bot_cpu_us", "fake_cpu_us"):
            self.row[key] = statistics.median(r[key] for r in self.rounds)
        return self.row


def measure_sizes(sizes: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """The empty bot stays up; each size's rounds alternate with rounds of the empty bot."""
    with tempfile.TemporaryDirectory() as log_dir:
        empty = SizeRun(EMPTY, args, Path(log_dir))
        rows = []
        for size in sizes:
            run = SizeRun(size, args, Path(log_dir))
            baseline = []
            for _ in range(args.rounds):
                baseline.append(empty.run()["rate"])
                run.run()
            row = run.stop()
            row["baseline_rate"] = statistics.median(baseline)
            rows.append(row)
        empty_row = empty.stop()
        empty_row["baseline_rate"] = empty_row["rate"]
    return [empty_row, *rows]


def print_table(rows: list[dict[str, Any]]) -> None:
    empty = rows[0]
    print(
        "Measured on a shared 2-core machine under load from other work; one bot process per "
        "size.\n"
        f"Identify limit: max_concurrency {empty['max_concurrency']} per "
        f"{IDENTIFY_WINDOW_S:.0f} s; idle CPU over {empty['idle_s']:.0f} s; /wvw match at "
        f"{OUTSTANDING} outstanding, median of the rounds; 'vs 10' compares with the empty bot's "
        "rounds interleaved with that size's (same machine load).\n"
    )
    print(
        f"{'guilds':>7} {'shards':>6} {'ready s':>8} {'floor s':>8} {'peak RSS':>9} "
        f"{'MiB/1k':>7} {'steady':>7} {'MiB/1k':>7} {'idle CPU':>9} {'inter./s':>9} "
        f"{'p99 ms':>7} {'vs 10':>6} {'bot µs':>7} {'fake µs':>7}"
        "   (µs: CPU per interaction)"
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
            f"{row['rate']:>9.0f} {row['p99_ms']:>7.1f} {row['rate'] / row['baseline_rate']:>6.1%} "
            f"{row['bot_cpu_us']:>7.0f} {row['fake_cpu_us']:>7.0f}"
        )
        if row["bot_guilds"] != row["guilds"] or row["shards_down"]:
            print(f"        WARNING: bot saw {row['bot_guilds']} guilds, down {row['shards_down']}")
    print()
    for row in rows[1:]:
        extra = row["guilds"] - empty["guilds"]
        per_k = (row["peak_rss_mib"] - empty["peak_rss_mib"]) / extra * 1000
        ratio = row["rate"] / row["baseline_rate"]
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
        result = asyncio.run(measure_one(args.one, args.idle, args.commands, args.max_concurrency))
        print(json.dumps(result))
        return
    started = time.perf_counter()
    sizes = args.guilds or list(DEFAULT_SIZES)
    rows = measure_sizes(sizes, args)
    print_table(rows)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
