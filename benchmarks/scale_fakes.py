"""The fake Discord with N guilds (sharded as Discord would recommend) and the fake GW2 API.

Started by ``benchmarks/scale_guilds.py`` (the bot under test runs in that other process)::

    python -m benchmarks.scale_fakes --guilds 10000 --control-port 9100

Discord recommends about one shard per 1,000 guilds; ``GET /gateway/bot`` answers that count
and ``session_start_limit.max_concurrency`` (``--max-concurrency``, 1 for most bots). Prints one
JSON line with its endpoints once listening. ``GET /ready`` waits until every shard has its
guilds; ``POST /run`` drives slash commands as in ``benchmarks/wvw_fakes.py``, spread over one
member in a guild of each shard.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import time
from typing import Any

from aiohttp import web

from benchmarks.wvw_fakes import Driver, TimedFakeDiscord
from tests.fakes.gw2_api import FakeGW2API

GUILDS_PER_SHARD = 1000


class ShardedDriver(Driver):
    """Commands come from members in guilds on every shard, in turn."""

    def __init__(self, discord_fake: TimedFakeDiscord, guilds: int) -> None:
        started = time.perf_counter()
        built = discord_fake.add_guilds(guilds)
        self.build_seconds = time.perf_counter() - started
        self.discord = discord_fake
        per_shard: dict[int, Any] = {}
        for guild in built:
            per_shard.setdefault(discord_fake.shard_of(guild), guild)
        self.members = [
            discord_fake.add_member(guild, discord_fake.add_user(f"Bencher{shard}"))
            for shard, guild in sorted(per_shard.items())
        ]
        self._turn = itertools.cycle(self.members)
        self.member = self.members[0]

    async def one(self, command: str, options: dict[str, Any]) -> float:
        self.member = next(self._turn)
        return await super().one(command, options)


async def serve(
    control_port: int, guilds: int, max_concurrency: int, seed: int, shards: int | None
) -> None:
    discord_fake = TimedFakeDiscord()
    discord_fake.default_timeout = 600.0
    discord_fake.shard_count = shards or max(1, math.ceil(guilds / GUILDS_PER_SHARD))
    discord_fake.max_guilds_per_shard = max(discord_fake.max_guilds_per_shard, guilds)
    discord_fake.max_concurrency = max_concurrency
    await discord_fake.start()
    gw2_fake = FakeGW2API(seed=seed)
    await gw2_fake.start()
    driver = ShardedDriver(discord_fake, guilds)

    async def ready(request: web.Request) -> web.Response:
        await discord_fake.wait_ready(shard_ids=range(discord_fake.shard_count))
        return web.json_response({"ready": True, "shards": discord_fake.connected_shards})

    async def run(request: web.Request) -> web.Response:
        body = await request.json()
        result = await driver.run(
            body["command"], body.get("options") or {}, int(body["outstanding"]), int(body["total"])
        )
        return web.json_response(result)

    async def info(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "shards": discord_fake.shard_count,
                "max_concurrency": max_concurrency,
                "guild_build_seconds": driver.build_seconds,
                "gateway_frames_received": len(discord_fake.gateway_received),
            }
        )

    app = web.Application()
    app.router.add_get("/ready", ready)
    app.router.add_post("/run", run)
    app.router.add_get("/info", info)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", control_port).start()
    print(
        json.dumps(
            {
                "discord_api": discord_fake.api_base,
                "discord_gateway": discord_fake.gateway_url,
                "gw2": gw2_fake.base_url,
            }
        ),
        flush=True,
    )
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--guilds", type=int, required=True)
    parser.add_argument("--max-concurrency", type=int, default=1)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--shards", type=int, help="recommend this many shards instead")
    args = parser.parse_args()
    asyncio.run(serve(args.control_port, args.guilds, args.max_concurrency, args.seed, args.shards))


if __name__ == "__main__":
    main()
