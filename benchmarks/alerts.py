"""Live alerts at scale: N subscriptions over every NA and EU match, a flip on every match per poll.

    .venv/bin/python -m benchmarks.alerts --subscriptions 5000

The fakes (Discord with its 50 requests/s global limit, and the GW2 API) run in a child process,
so the CPU time printed is the bot's own. The real bot (``bot.app.Application`` with
``cogs.alerts``) runs against them; every subscription has its own channel and wants the whole
match, so each flip is one message per channel.

Rounds: a baseline poll (nothing posted), one measured poll, one poll stopped half-way by a
restart (the loop is cancelled the way ``cog_unload`` does it, then a new process-equivalent
Application on the same database polls again), and one more measured poll. Printed per measured
poll: upstream GW2 match requests (goal: the number of distinct matches), time from the start of
the poll that saw the flip to the last channel's delivery against the N / 50 s floor (goal: at
most 1.10), 429s, CPU per 1,000 deliveries. At the end, every channel's messages are checked
against the flips made: duplicates and lost events (goal: 0 and 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import re
import resource
import time
from collections import Counter, defaultdict
from multiprocessing.connection import Connection
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from prometheus_client import CollectorRegistry

from benchmarks.update_fanout import GLOBAL_LIMIT, GloballyLimitedDiscord
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
from tests.fakes.gw2_api import COLOURS, OWNER, POINTS, FakeGW2API

MATCHES_ROUTE = "/v2/wvw/matches"
EVENT_LINE = re.compile(r"\*\*(?P<name>.+?)\*\* \((?P<where>[^)]+)\)")


# ------------------------------------------------------------------------------ the fakes
def run_fakes(conn: Connection, subscriptions: int, per_guild: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(_serve_fakes(conn, subscriptions, per_guild))


async def _serve_fakes(conn: Connection, subscriptions: int, per_guild: int) -> None:
    discord_fake = GloballyLimitedDiscord(GLOBAL_LIMIT, default_timeout=600)
    await discord_fake.start()
    gw2_fake = FakeGW2API()
    await gw2_fake.start()
    channels: list[tuple[int, int]] = []
    guild = None
    for index in range(subscriptions):
        if index % per_guild == 0:
            guild = discord_fake.add_guild(name=f"Guild {index // per_guild}", default_channel=None)
        assert guild is not None
        channels.append((guild.id, discord_fake.add_text_channel(guild, f"alerts-{index}").id))
    teams = sorted(t for m in gw2_fake.world.matches.values() for t in m.team_ids())
    conn.send(
        {
            "api_base": discord_fake.api_base,
            "gateway_url": discord_fake.gateway_url,
            "gw2_base": gw2_fake.base_url,
            "channels": channels,
            "teams": {t: gw2_fake.world.match_for(t).id for t in teams},  # type: ignore[union-attr]
            "matches": len(gw2_fake.world.matches),
        }
    )
    while True:
        command, argument = await asyncio.to_thread(conn.recv)
        if command == "stats":
            conn.send(
                {
                    "gw2_matches": gw2_fake.count(MATCHES_ROUTE),
                    "429s": discord_fake.global_429s,
                    "posts": sum(
                        1
                        for m in discord_fake.messages.values()
                        if m.source == "channel" and m.channel.guild is not None
                    ),
                }
            )
        elif command == "flip":
            conn.send(_flip_every_match(gw2_fake, argument))
        elif command == "messages":
            by_channel: dict[int, list[str]] = defaultdict(list)
            for message in discord_fake.messages.values():
                by_channel[message.channel.id].append(message.content)
            conn.send(dict(by_channel))
        elif command == "stop":
            await gw2_fake.close()
            await discord_fake.close()
            conn.send("ok")
            return


def _flip_every_match(gw2_fake: FakeGW2API, round_number: int) -> dict[str, str]:
    """Flip the ``round_number``-th scoring objective of every match; match id -> its label."""
    flipped: dict[str, str] = {}
    for match in gw2_fake.world.matches.values():
        scoring = [o for m in match.maps for o in m.objectives if o.type in POINTS]
        objective = scoring[round_number % len(scoring)]
        owner = next(c for c in COLOURS if OWNER[c] != objective.owner)
        match.flip(objective.id, owner)
        flipped[match.id] = objective.name
    return flipped


# ------------------------------------------------------------------------------ the bot
def settings_for(info: dict[str, Any], data_dir: Path) -> Settings:
    return Settings(
        discord=DiscordSettings(
            token="benchmark-token",
            api_base_url=info["api_base"],
            gateway_url=info["gateway_url"],
            guild_ready_timeout=2.0,
        ),
        database=DatabaseSettings(path=data_dir / "bench.sqlite3"),
        security=SecuritySettings(key_encryption_key=generate_key(), leak_guard_enabled=False),
        gw2=GW2Settings(base_url=info["gw2_base"]),
        metrics=MetricsSettings(port=0),
    )


async def start_bot(settings: Settings) -> tuple[Application, Any]:
    app = Application(
        settings, clock=SystemClock(), registry=CollectorRegistry(), extensions=("cogs.alerts",)
    )
    await app.start()
    await app.wait_until_ready(timeout_s=600)
    assert app.bot is not None
    cog: Any = app.bot.get_cog("Alerts")
    # The benchmark drives the polls itself: the background loop would poll on its own clock.
    cog._task.cancel()
    return app, cog


def ask(conn: Connection, command: str, argument: Any = None) -> Any:
    conn.send((command, argument))
    return conn.recv()


async def measured_poll(conn: Connection, app: Application, cog: Any, label: str) -> dict[str, Any]:
    assert app._services is not None
    app._services.gw2.cache.clear()  # polls are 30 s apart in real life: the matches expired
    before = ask(conn, "stats")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    report = await cog.poll()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    after = ask(conn, "stats")
    return {
        "label": label,
        "report": report,
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime - cpu_before,
        "gw2": after["gw2_matches"] - before["gw2_matches"],
        "429s": after["429s"] - before["429s"],
        "posts": after["posts"] - before["posts"],
    }


async def run(conn: Connection, data_dir: Path, info: dict[str, Any]) -> dict[str, Any]:
    settings = settings_for(info, data_dir)
    app, cog = await start_bot(settings)
    flips: list[dict[str, str]] = []
    results: list[dict[str, Any]] = []
    try:
        assert app._services is not None
        db = app._services.db
        teams = sorted(info["teams"])
        channels: list[tuple[int, int]] = info["channels"]
        await db.executemany(
            "INSERT INTO guild_settings (guild_id) VALUES (?) ON CONFLICT DO NOTHING",
            [(g,) for g in {g for g, _ in channels}],
        )
        await db.executemany(
            "INSERT INTO alert_subscriptions (guild_id, channel_id, team_id, scope, "
            "objective_types, map_types, reminders) VALUES (?, ?, ?, 'match', "
            "'Camp,Castle,Keep,Tower', 'BlueHome,Center,GreenHome,RedHome', 0)",
            [(g, c, teams[i % len(teams)]) for i, (g, c) in enumerate(channels)],
        )
        results.append(await measured_poll(conn, app, cog, "baseline (nothing posted)"))
        flips.append(ask(conn, "flip", 0))
        results.append(await measured_poll(conn, app, cog, "a flip on every match"))

        # A restart half-way through a poll's deliveries.
        flips.append(ask(conn, "flip", 1))
        app._services.gw2.cache.clear()
        before = ask(conn, "stats")["posts"]
        interrupted = asyncio.create_task(cog.poll())
        while ask(conn, "stats")["posts"] - before < len(channels) // 2:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        interrupted.cancel()  # what cog_unload does to the loop task, then it drains
        await asyncio.gather(interrupted, return_exceptions=True)
        await cog.cog_unload()
        delivered_before_restart = ask(conn, "stats")["posts"] - before
        await app.stop()
        app, cog = await start_bot(settings)
        results.append(await measured_poll(conn, app, cog, "after the restart (the rest)"))
        flips.append(ask(conn, "flip", 2))
        results.append(await measured_poll(conn, app, cog, "a flip on every match"))
    finally:
        await app.stop()
    return {
        "results": results,
        "flips": flips,
        "delivered_before_restart": delivered_before_restart,
        "messages": ask(conn, "messages"),
    }


def check_events(
    info: dict[str, Any], flips: list[dict[str, str]], messages: dict[int, list[str]]
) -> tuple[int, int]:
    """Duplicated and lost events over every channel."""
    team_of = {
        c: sorted(info["teams"])[i % len(info["teams"])]
        for i, (_, c) in enumerate(info["channels"])
    }
    duplicates = lost = 0
    for channel_id, team_id in team_of.items():
        match_id = info["teams"][team_id]
        seen = Counter(
            found.group("name")
            for content in messages.get(channel_id, [])
            for found in map(EVENT_LINE.search, content.splitlines()[1:])
            if found
        )
        expected = [round_flips[match_id] for round_flips in flips]
        duplicates += sum(count - 1 for count in seen.values() if count > 1)
        lost += sum(1 for name in expected if seen[name] == 0)
    return duplicates, lost


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--per-guild", type=int, default=10, help="channels per guild")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("cogs.alerts_poller").setLevel(logging.WARNING)

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    fakes = context.Process(
        target=run_fakes, args=(child, args.subscriptions, args.per_guild), daemon=True
    )
    fakes.start()
    info = parent.recv()
    info["teams"] = {int(k): v for k, v in info["teams"].items()}
    n = args.subscriptions
    print(
        f"{n} alert subscriptions (one channel each) in {n // args.per_guild} guilds, "
        f"{len(info['teams'])} teams in {info['matches']} matches; Discord global limit "
        f"{GLOBAL_LIMIT}/s"
    )
    with TemporaryDirectory() as tmp:
        started = time.perf_counter()
        outcome = asyncio.run(run(parent, Path(tmp), info))
        total = time.perf_counter() - started
    parent.send(("stop", None))
    parent.recv()
    fakes.join(timeout=10)

    floor = n / GLOBAL_LIMIT
    for result in outcome["results"]:
        report = result["report"]
        print(f"\n== poll: {result['label']}")
        print(f"  outcomes: {dict(report.outcomes)}; events derived: {report.events}")
        print(
            f"  upstream GW2 match requests: {result['gw2']} "
            f"(distinct matches: {info['matches']}, goal: equal)"
        )
        if result["posts"]:
            print(
                f"  poll start to last delivery: {result['wall']:.1f} s for {result['posts']} "
                f"messages; floor {result['posts']}/50: {result['posts'] / GLOBAL_LIMIT:.1f} s; "
                f"ratio {result['wall'] / (result['posts'] / GLOBAL_LIMIT):.3f} (goal <= 1.10)"
            )
            per_thousand = result["cpu"] / result["posts"] * 1000
            print(f"  CPU: {result['cpu']:.1f} s, {per_thousand:.2f} s per 1,000 deliveries")
        else:
            print(f"  wall {result['wall']:.1f} s, CPU {result['cpu']:.1f} s, nothing posted")
        print(f"  429s received: {result['429s']}")
    duplicates, lost = check_events(info, outcome["flips"], outcome["messages"])
    print(
        f"\nrestart: {outcome['delivered_before_restart']} of {n} channels had the interrupted "
        f"poll's message before the restart"
    )
    print(
        f"events across the run: {len(outcome['flips'])} flips x {n} channels; "
        f"duplicates {duplicates}, lost {lost} (goal: 0 and 0)"
    )
    print(f"full-poll floor N/50 = {floor:.1f} s; whole run {total:.0f} s")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS of the bot process: {peak_kib / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
