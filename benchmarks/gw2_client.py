"""Benchmark of the GW2 client against the fake API running as a separate process.

Prints, for N concurrent callers asking for the same match, the upstream requests and wall time
(goal: 1 request for any N); the latency of a cache hit (goal: p99 under 50 µs); and the time to
parse a full match.

    .venv/bin/python -m benchmarks.gw2_client            # starts the fake on a free port
    .venv/bin/python -m benchmarks.gw2_client --base-url http://127.0.0.1:8099   # use a running one
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from contextlib import suppress

import aiohttp
from prometheus_client import CollectorRegistry

from services.clock import SystemClock
from services.gw2 import GW2Client, GW2Metrics
from services.gw2.models import MATCH

CALLERS = (10, 1_000, 10_000)
TEAM = 11001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(session: aiohttp.ClientSession, base_url: str) -> None:
    for _ in range(100):
        with suppress(aiohttp.ClientError):
            async with session.get(f"{base_url}/_fake/stats") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError("the fake GW2 API did not start")


async def upstream_matches(session: aiohttp.ClientSession, base_url: str) -> int:
    async with session.get(f"{base_url}/_fake/stats") as response:
        stats = await response.json()
    return int(stats["requests"].get("/v2/wvw/matches", 0))


async def coalescing(session: aiohttp.ClientSession, base_url: str) -> None:
    print("Concurrent callers asking for the same match (fresh cache each run):")
    for n in CALLERS:
        async with session.post(f"{base_url}/_fake/reset"):
            pass
        client = GW2Client(session, base_url=base_url, clock=SystemClock())
        started = time.perf_counter()
        results = await asyncio.gather(*(client.match_for_team(TEAM) for _ in range(n)))
        wall = time.perf_counter() - started
        assert len(results) == n
        upstream = await upstream_matches(session, base_url)
        print(f"  N={n:>6}: upstream requests={upstream}  wall={wall * 1000:8.1f} ms")


async def cache_hits(session: aiohttp.ClientSession, base_url: str, rounds: int = 50_000) -> None:
    metrics = GW2Metrics(CollectorRegistry())
    client = GW2Client(session, base_url=base_url, clock=SystemClock(), metrics=metrics)
    await client.match_for_team(TEAM)
    samples: list[int] = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        await client.match_for_team(TEAM)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    print(f"Cache hit latency (metrics on) over {rounds} calls: p50={p50:.1f} µs  p99={p99:.1f} µs")


async def parse_time(session: aiohttp.ClientSession, base_url: str, rounds: int = 200) -> None:
    async with session.get(f"{base_url}/v2/wvw/matches", params={"world": str(TEAM)}) as response:
        body = await response.read()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        MATCH.validate_json(body)
        timings.append(time.perf_counter() - started)
    print(
        f"Parse of a full match ({len(body) / 1024:.0f} KiB, {rounds} runs): "
        f"median={statistics.median(timings) * 1000:.2f} ms  max={max(timings) * 1000:.2f} ms"
    )


async def run(base_url: str) -> None:
    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_ready(session, base_url)
        await coalescing(session, base_url)
        await cache_hits(session, base_url)
        await parse_time(session, base_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="use an already running fake instead of starting one")
    args = parser.parse_args()
    if args.base_url:
        asyncio.run(run(args.base_url))
        return
    port = free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.gw2_api", "--port", str(port)],
        stdout=subprocess.DEVNULL,
    )
    try:
        asyncio.run(run(f"http://127.0.0.1:{port}"))
    finally:
        fake.terminate()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
