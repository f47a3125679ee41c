"""Fan-out of the match-update loop: N subscriptions across every NA and EU match.

    .venv/bin/python -m benchmarks.update_fanout --subscriptions 2000

The fakes (Discord and GW2 API) run in a child process so that the CPU time and peak RSS printed
are the bot's own. The fake Discord enforces a global limit of 50 requests per second the way
Discord does (a fixed one-second window; over it, 429 with ``X-RateLimit-Global``,
``X-RateLimit-Scope: global``, ``Retry-After`` and Discord's JSON body). The real bot
(``bot.app.Application`` with ``cogs.updates``) runs two cycles: every channel gets its first post,
then, after the match data changed, every message is edited.

Printed per cycle: upstream GW2 requests (goal: the number of distinct matches), time to deliver
versus the rate-limit floor N / 50 s (goal: within 10 %), 429s received, CPU seconds per 1,000
deliveries, and the bot process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import re
import resource
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from prometheus_client import CollectorRegistry

from bot.app import Application
from bot.config import (
    DatabaseSettings,
    DiscordSettings,
    GW2Settings,
    MetricsSettings,
    SecuritySettings,
    Settings,
)
from services.clock import SystemClock
from services.keys import generate_key
from tests.fakes import discord as fake_discord
from tests.fakes.discord import FailRule, FakeDiscord, RecordedRequest
from tests.fakes.gw2_api import FakeGW2API

GLOBAL_LIMIT = 50  # requests per second, Discord's global limit for a bot
MATCHES_ROUTE = "/v2/wvw/matches"


# ------------------------------------------------------------------------------ the fakes
class GloballyLimitedDiscord(FakeDiscord):
    """The fake Discord plus Discord's global rate limit on bot-authenticated routes.

    A subclass rather than a change to the fake: it hooks the fake's dispatch (``_respond``).
    Interaction callbacks and webhooks are exempt, as on Discord.
    """

    def __init__(self, limit: int, **options: Any) -> None:
        super().__init__(**options)
        self.limit = limit
        self.window_start = time.monotonic()
        self.window_count = 0
        self.global_429s = 0
        self.served: dict[str, int] = {}

    async def _respond(self, request: Any, record: RecordedRequest, *, api: bool) -> Any:
        if api and record.had_authorization:
            now = time.monotonic()
            if now - self.window_start >= 1.0:
                self.window_start, self.window_count = now, 0
            self.window_count += 1
            if self.window_count > self.limit:
                self.global_429s += 1
                retry_after = max(0.001, 1.0 - (now - self.window_start))
                rule = FailRule(
                    "*", _ANY, 429, 0, "You are being rate limited.", None, retry_after, True
                )
                return fake_discord._fault_response(rule)
            key = f"{record.method} {'message' if '/messages' in record.path else 'other'}"
            self.served[key] = self.served.get(key, 0) + 1
        return await super()._respond(request, record, api=api)


_ANY = re.compile("")


def run_fakes(conn: Connection, subscriptions: int, per_guild: int, shards: int = 1) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve_fakes(conn, subscriptions, per_guild, shards))


async def _serve_fakes(conn: Connection, subscriptions: int, per_guild: int, shards: int) -> None:
    discord_fake = GloballyLimitedDiscord(
        GLOBAL_LIMIT, default_timeout=600, shard_count=shards, max_concurrency=shards
    )
    await discord_fake.start()
    gw2_fake = FakeGW2API()
    await gw2_fake.start()
    channels: list[tuple[int, int]] = []
    guild = None
    for index in range(subscriptions):
        if index % per_guild == 0:
            guild = discord_fake.add_guild(name=f"Guild {index // per_guild}", default_channel=None)
        assert guild is not None
        channels.append((guild.id, discord_fake.add_text_channel(guild, f"wvw-{index}").id))
    teams = sorted(t for m in gw2_fake.world.matches.values() for t in m.team_ids())
    conn.send(
        {
            "api_base": discord_fake.api_base,
            "gateway_url": discord_fake.gateway_url,
            "gw2_base": gw2_fake.base_url,
            "channels": channels,
            "teams": teams,
            "matches": len(gw2_fake.world.matches),
        }
    )
    while True:
        command = await asyncio.to_thread(conn.recv)
        if command == "stats":
            conn.send(
                {
                    "gw2_matches": gw2_fake.count(MATCHES_ROUTE),
                    "gw2_total": sum(gw2_fake.requests.values()),
                    "429s": discord_fake.global_429s,
                    "served": dict(discord_fake.served),
                }
            )
        elif command == "change":
            for match in gw2_fake.world.matches.values():
                match.add_kills("red", 3)
            conn.send("ok")
        elif command == "stop":
            await gw2_fake.close()
            await discord_fake.close()
            conn.send("ok")
            return


# ------------------------------------------------------------------------------ the bot
async def run_bot(
    conn: Connection, data_dir: Path, info: dict[str, Any], *, shards: int = 1
) -> list[dict[str, Any]]:
    settings = Settings(
        discord=DiscordSettings(
            token="benchmark-token",
            api_base_url=info["api_base"],
            gateway_url=info["gateway_url"],
            guild_ready_timeout=2.0,
            shard_count=shards if shards > 1 else None,
        ),
        database=DatabaseSettings(path=data_dir / "bench.sqlite3"),
        security=SecuritySettings(key_encryption_key=generate_key(), leak_guard_enabled=False),
        gw2=GW2Settings(base_url=info["gw2_base"]),
        metrics=MetricsSettings(port=0),
    )
    app = Application(
        settings, clock=SystemClock(), registry=CollectorRegistry(), extensions=("cogs.updates",)
    )
    await app.start()
    results: list[dict[str, Any]] = []
    try:
        await app.wait_until_ready(timeout_s=600)
        assert app.bot is not None
        assert app._services is not None
        cog: Any = app.bot.get_cog("Updates")
        # The benchmark drives the cycles itself: stop the background loop, or it may pick up
        # the subscriptions as soon as they are inserted and run the first cycle on its own.
        await cog.cog_unload()
        db = app._services.db
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
        for label in ("first posts", "edits after a data change"):
            if results:
                conn.send("change")
                conn.recv()
                await db.execute("UPDATE update_subscriptions SET next_due_at = ?", (now,))
                # Cycles are minutes apart in real life: the cached matches would have expired.
                app._services.gw2.cache.clear()
            conn.send("stats")
            before = conn.recv()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_before = usage.ru_utime + usage.ru_stime
            started = time.perf_counter()
            report = await cog.run_cycle()
            wall = time.perf_counter() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu = usage.ru_utime + usage.ru_stime - cpu_before
            conn.send("stats")
            after = conn.recv()
            results.append(
                {
                    "label": label,
                    "report": report,
                    "wall": wall,
                    "cpu": cpu,
                    "gw2": after["gw2_matches"] - before["gw2_matches"],
                    "429s": after["429s"] - before["429s"],
                    "served": {
                        k: v - before["served"].get(k, 0)
                        for k, v in after["served"].items()
                        if v - before["served"].get(k, 0)
                    },
                }
            )
    finally:
        await app.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--per-guild", type=int, default=10, help="channels per guild")
    parser.add_argument("--processes", type=int, default=1, help="bot processes (cluster mode)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/test", help="PostgreSQL"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    # A delivery that fails says why (one line each; discord.py's own retries stay quiet).
    for name in ("cogs.updates", "cogs.updates_delivery"):
        logging.getLogger(name).setLevel(logging.WARNING)

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    fakes = context.Process(
        target=run_fakes,
        args=(child, args.subscriptions, args.per_guild, args.processes),
        daemon=True,
    )
    fakes.start()
    info = parent.recv()
    n = args.subscriptions
    print(
        f"{n} subscriptions in {len(info['channels']) // args.per_guild} guilds, "
        f"{len(info['teams'])} teams in {info['matches']} matches; Discord global limit "
        f"{GLOBAL_LIMIT}/s"
    )
    cluster: list[dict[str, Any]] = []
    with TemporaryDirectory() as tmp:
        started = time.perf_counter()
        # The one-process SQLite row first (the baseline, in the same run), then the cluster.
        results = asyncio.run(run_bot(parent, Path(tmp), info, shards=args.processes))
        total = time.perf_counter() - started
    if args.backend == "postgresql":
        from benchmarks.update_fanout_cluster import run_cluster

        cluster = run_cluster(
            parent,
            info,
            processes=args.processes,
            database_url=args.database_url,
            redis_url=args.redis_url,
            key=generate_key(),
        )
    parent.send("stop")
    parent.recv()
    fakes.join(timeout=10)

    floor = n / GLOBAL_LIMIT
    for result in results:
        report = result["report"]
        delivered = sum(v for k, v in report.outcomes.items() if k in ("posted", "edited"))
        print(f"\n== 1 process on SQLite, cycle: {result['label']}")
        print(f"  outcomes: {dict(report.outcomes)}; Discord requests served: {result['served']}")
        print(
            f"  upstream GW2 match requests: {result['gw2']} "
            f"(distinct matches: {report.matches}, goal: equal)"
        )
        print(
            f"  time to deliver: {result['wall']:.1f} s; floor N/50: {floor:.1f} s; "
            f"ratio {result['wall'] / floor:.3f} (goal <= 1.10)"
        )
        print(f"  429s received: {result['429s']}")
        per_thousand = result["cpu"] / max(1, delivered) * 1000
        print(f"  CPU: {result['cpu']:.1f} s, {per_thousand:.2f} s per 1,000 deliveries")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak RSS of the bot process: {peak_kib / 1024:.0f} MiB; whole run {total:.0f} s")
    if cluster:
        from benchmarks.update_fanout_cluster import print_cluster

        print_cluster(cluster, n, args.processes, GLOBAL_LIMIT)


if __name__ == "__main__":
    main()
