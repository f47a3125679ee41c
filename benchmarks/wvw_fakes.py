"""The fake Discord and fake GW2 API in one process, plus a control API that drives interactions.

Started by ``benchmarks/wvw_commands.py`` (the bot under test runs in that other process)::

    python -m benchmarks.wvw_fakes --control-port 9100

It prints one JSON line with its ports once listening. ``POST /run`` with
``{"command": "wvw match", "options": {...}, "outstanding": 10, "total": 3000}`` injects
``total`` slash commands keeping ``outstanding`` in flight, and answers with the wall time and each
interaction's latency from injection (just before the INTERACTION_CREATE frame is written) to the
moment the bot's interaction callback reached the fake.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord import FakeDiscord, RecordedRequest
from tests.fakes.gw2_api import FakeGW2API


class TimedFakeDiscord(FakeDiscord):
    """Records when each interaction's callback arrives (before the fake does its own work)."""

    def __init__(self) -> None:
        super().__init__(default_timeout=30.0)
        self.answered: dict[str, asyncio.Future[float]] = {}

    async def _callback(
        self, record: RecordedRequest, interaction_id: str, token: str
    ) -> web.Response:
        arrived = time.perf_counter()
        waiter = self.answered.pop(token, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)
        return await super()._callback(record, interaction_id, token)

    def forget_history(self) -> None:
        """Keep memory flat between runs (the fake records everything for tests)."""
        self.requests.clear()
        self.interactions.clear()
        self._interactions_by_token.clear()
        self.messages.clear()
        self.gateway_received.clear()


class Driver:
    def __init__(self, discord_fake: TimedFakeDiscord) -> None:
        self.discord = discord_fake
        guild = discord_fake.add_guild(name="Benchmark Guild")
        self.member = discord_fake.add_member(guild, discord_fake.add_user("Bencher"))

    async def one(self, command: str, options: dict[str, Any]) -> float:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[float] = loop.create_future()
        fake = self.discord
        # The token is made inside slash(); catch it through the handle right after injection.
        started = time.perf_counter()
        handle = await fake.slash(self.member, command, options)
        fake.answered[handle.token] = waiter
        if handle.callbacks:  # answered before we registered (cannot happen over TCP, but be safe)
            waiter.set_result(time.perf_counter())
        arrived = await asyncio.wait_for(waiter, 30.0)
        return arrived - started

    async def run(
        self, command: str, options: dict[str, Any], outstanding: int, total: int
    ) -> dict[str, Any]:
        latencies: list[float] = []
        remaining = total

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                latencies.append(await self.one(command, options))

        self.discord.forget_history()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(outstanding)))
        wall = time.perf_counter() - started
        self.discord.forget_history()
        return {"wall": wall, "latencies": latencies}


async def serve(control_port: int, seed: int) -> None:
    discord_fake = TimedFakeDiscord()
    await discord_fake.start()
    gw2_fake = FakeGW2API(seed=seed)
    await gw2_fake.start()
    driver = Driver(discord_fake)

    async def ready(request: web.Request) -> web.Response:
        await discord_fake.wait_ready()
        return web.json_response({"ready": True})

    async def run(request: web.Request) -> web.Response:
        body = await request.json()
        result = await driver.run(
            body["command"], body.get("options") or {}, int(body["outstanding"]), int(body["total"])
        )
        return web.json_response(result)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"gw2_requests": dict(gw2_fake.requests)})

    app = web.Application()
    app.router.add_get("/ready", ready)
    app.router.add_post("/run", run)
    app.router.add_get("/stats", stats)
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
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    asyncio.run(serve(args.control_port, args.seed))


if __name__ == "__main__":
    main()
