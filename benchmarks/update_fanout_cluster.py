"""``update_fanout --processes P --backend postgresql``: P bot processes share one update cycle.

Each process is a real ``bot.app.Application`` (one shard of P) on one PostgreSQL schema and one
Redis key prefix, against the same fakes child as the one-process run. The parent inserts the
subscriptions, then starts each cycle in every process at once; the processes claim due
subscriptions as leases, take Discord's budget from the shared Redis bucket and share the GW2
answers. Printed per cycle: upstream GW2 match requests, deliveries and duplicates (Discord
message requests beyond N), time against N/50 s, 429s.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
import time
import uuid
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from redis import asyncio as redis_asyncio

from bot.app import Application
from bot.config import (
    DatabaseSettings,
    DiscordSettings,
    GW2Settings,
    MetricsSettings,
    RedisSettings,
    SecuritySettings,
    Settings,
)
from bot.storage.postgres import PostgresDatabase
from services.clock import SystemClock


def _worker(
    conn: Connection, index: int, processes: int, info: dict[str, Any], urls: dict[str, str]
) -> None:
    logging.basicConfig(level=logging.ERROR)
    for name in ("cogs.updates", "cogs.updates_delivery"):
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(_serve_worker(conn, index, processes, info, urls))


async def _serve_worker(
    conn: Connection, index: int, processes: int, info: dict[str, Any], urls: dict[str, str]
) -> None:
    settings = Settings(
        discord=DiscordSettings(
            token="benchmark-token",
            api_base_url=info["api_base"],
            gateway_url=info["gateway_url"],
            guild_ready_timeout=2.0,
            shard_count=processes,
            shard_ids=(index,),
        ),
        database=DatabaseSettings(url=SecretStr(urls["database"]), lease_seconds=120),
        redis=RedisSettings(url=SecretStr(urls["redis"]), prefix=urls["prefix"]),
        security=SecuritySettings(key_encryption_key=urls["key"], leak_guard_enabled=False),
        gw2=GW2Settings(base_url=info["gw2_base"]),
        metrics=MetricsSettings(port=0),
    )
    app = Application(
        settings, clock=SystemClock(), registry=CollectorRegistry(), extensions=("cogs.updates",)
    )
    await app.start()
    try:
        await app.wait_until_ready(timeout_s=600)
        assert app.bot is not None
        assert app._services is not None
        cog: Any = app.bot.get_cog("Updates")
        await cog.cog_unload()  # the parent starts the cycles
        conn.send("ready")
        while (command := await asyncio.to_thread(conn.recv)) != "stop":
            if command == "clear":
                app._services.gw2.cache.clear()
                conn.send("ok")
                continue
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_before = usage.ru_utime + usage.ru_stime
            report = await cog.run_cycle()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            conn.send(
                {
                    "outcomes": dict(report.outcomes),
                    "matches": report.matches,
                    "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
                    "rss_kib": usage.ru_maxrss,
                }
            )
    finally:
        await app.stop()


async def _prepare(url: str, schema: str, info: dict[str, Any]) -> None:
    db = await PostgresDatabase.connect(url, schema=schema)
    try:
        teams: list[int] = info["teams"]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        channels: list[tuple[int, int]] = info["channels"]
        await db.executemany(
            "INSERT INTO guild_settings (guild_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(g,) for g in {g for g, _ in channels}],
        )
        await db.executemany(
            "INSERT INTO update_subscriptions (guild_id, channel_id, team_id, interval_minutes, "
            "mode, next_due_at, enabled, created_by) VALUES (?, ?, ?, 15, 'edit', ?, 1, NULL)",
            [(g, c, teams[i % len(teams)], now) for i, (g, c) in enumerate(channels)],
        )
    finally:
        await db.close()


async def _make_due(url: str, schema: str) -> None:
    db = await PostgresDatabase.connect(url, schema=schema)
    try:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        await db.execute("UPDATE update_subscriptions SET next_due_at = ?", (now,))
    finally:
        await db.close()


async def _clear_redis(url: str, pattern: str) -> None:
    client = redis_asyncio.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=pattern)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def _drop(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def run_cluster(
    fakes: Connection,
    info: dict[str, Any],
    *,
    processes: int,
    database_url: str,
    redis_url: str,
    key: str,
) -> list[dict[str, Any]]:
    """Both cycles on ``processes`` bots; returns one result per cycle (as ``run_bot`` does)."""
    schema = "bench_" + uuid.uuid4().hex[:12]
    prefix = f"bench:{uuid.uuid4().hex[:12]}:"
    asyncio.run(_prepare(database_url, schema, info))
    separator = "&" if "?" in database_url else "?"
    urls = {
        "database": f"{database_url}{separator}search_path={schema}",
        "redis": redis_url,
        "prefix": prefix,
        "key": key,
    }
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    workers = []
    for index in range(processes):
        parent, child = context.Pipe()
        worker = context.Process(target=_worker, args=(child, index, processes, info, urls))
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    results: list[dict[str, Any]] = []
    try:
        for pipe in pipes:
            assert pipe.recv() == "ready"
        for label in ("first posts", "edits after a data change"):
            if results:
                fakes.send("change")
                fakes.recv()
                asyncio.run(_make_due(database_url, schema))
                # Cycles are minutes apart in real life: every cached match would have expired.
                asyncio.run(_clear_redis(redis_url, prefix + "gw2:*"))
                for pipe in pipes:
                    pipe.send("clear")
                    pipe.recv()
            fakes.send("stats")
            before = fakes.recv()
            started = time.perf_counter()
            for pipe in pipes:
                pipe.send("cycle")
            reports = [pipe.recv() for pipe in pipes]
            wall = time.perf_counter() - started
            fakes.send("stats")
            after = fakes.recv()
            outcomes: dict[str, int] = {}
            for report in reports:
                for outcome, count in report["outcomes"].items():
                    outcomes[outcome] = outcomes.get(outcome, 0) + count
            results.append(
                {
                    "label": label,
                    "outcomes": outcomes,
                    "matches": max(r["matches"] for r in reports),
                    "wall": wall,
                    "cpu": sum(r["cpu"] for r in reports),
                    "rss_mib": max(r["rss_kib"] for r in reports) / 1024,
                    "gw2": after["gw2_matches"] - before["gw2_matches"],
                    "429s": after["429s"] - before["429s"],
                    "served": {
                        k: v - before["served"].get(k, 0)
                        for k, v in after["served"].items()
                        if v - before["served"].get(k, 0)
                    },
                    "per_process": [sum(r["outcomes"].values()) for r in reports],
                }
            )
    finally:
        for pipe in pipes:
            pipe.send("stop")
        for worker in workers:
            worker.join(timeout=30)
        asyncio.run(_drop(database_url, schema))
        asyncio.run(_clear_redis(redis_url, prefix + "*"))
    return results


def print_cluster(results: list[dict[str, Any]], n: int, processes: int, limit: int) -> None:
    floor = n / limit
    for result in results:
        delivered = sum(v for k, v in result["outcomes"].items() if k in ("posted", "edited"))
        messages = sum(v for k, v in result["served"].items() if k.endswith("message"))
        print(f"\n== {processes} processes on PostgreSQL + Redis, cycle: {result['label']}")
        print(
            f"  outcomes: {result['outcomes']} (per process: {result['per_process']}); "
            f"Discord requests served: {result['served']}"
        )
        print(
            f"  deliveries: {delivered} (goal: exactly {n}); duplicates: "
            f"{max(0, messages - n)} (Discord message requests beyond N; goal 0)"
        )
        print(
            f"  upstream GW2 match requests: {result['gw2']} "
            f"(distinct matches: {result['matches']}, goal: equal)"
        )
        print(
            f"  time to deliver: {result['wall']:.1f} s; floor N/50: {floor:.1f} s; "
            f"ratio {result['wall'] / floor:.3f} (goal <= 1.10)"
        )
        print(f"  429s received: {result['429s']}")
        print(f"  CPU (all processes): {result['cpu']:.1f} s; peak RSS {result['rss_mib']:.0f} MiB")
