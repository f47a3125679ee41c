"""The real bot, sharded, against the fake Discord: shards, readiness, metrics, losing one shard."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Application
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.gw2_api import FakeGW2API, InstantClock
from tests.harness import free_port, running_bot

SHARDS = 4


@dataclass
class Cluster:
    discord: FakeDiscord
    app: Application
    guilds: list[FakeGuild]
    members: list[FakeMember]
    http: aiohttp.ClientSession
    clock: InstantClock

    async def about(self, member: FakeMember) -> dict[str, str]:
        handle = await self.discord.slash(member, "about")
        message = await handle.wait_final_message()
        return fields(message)

    async def readyz(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get("/readyz") as response:
            return response.status, await response.json()

    async def metrics(self) -> str:
        async with self.http.get("/metrics") as response:
            return await response.text()

    def on_shard(self, shard_id: int) -> FakeMember:
        return next(m for m in self.members if self.discord.shard_of(m.guild) == shard_id)


def fields(message: FakeMessage) -> dict[str, str]:
    assert message.embed is not None
    return {f["name"]: f["value"] for f in message.embed["fields"]}


def sample(text: str, name: str, **labels: str) -> float | None:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(f"{name}{{{label_text}}}" if labels else name) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else None


@asynccontextmanager
async def cluster(
    tmp_path: Path,
    *,
    guilds: int = 8,
    max_concurrency: int = 1,
    **discord_options: Any,
) -> AsyncIterator[Cluster]:
    port = free_port()
    clock = InstantClock()
    async with (
        FakeDiscord(shard_count=SHARDS, max_concurrency=max_concurrency) as discord_fake,
        FakeGW2API(clock=clock) as gw2_fake,
    ):
        built = discord_fake.add_guilds(guilds)
        members = [
            discord_fake.add_member(g, discord_fake.add_user(f"Player{i}"))
            for i, g in enumerate(built)
        ]
        async with (
            running_bot(
                discord_fake,
                tmp_path,
                gw2=gw2_fake,
                clock=clock,
                metrics_port=port,
                extensions=("cogs.about",),
                **discord_options,
            ) as app,
            aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
        ):
            yield Cluster(discord_fake, app, built, members, http, clock)


async def test_four_shards_each_get_their_guilds_and_answer_commands(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        assert c.app.bot is not None
        assert c.app.bot.shard_count == SHARDS  # from GET /gateway/bot
        assert c.discord.connected_shards == [0, 1, 2, 3]
        answers = [await c.about(member) for member in c.members]
        status, body = await c.readyz()
        metrics = await c.metrics()
        gate = list(c.app.bot.identify_gate.history)
        sent = {
            shard_id: [
                f["d"]["id"]
                for f in c.discord.session_for_shard(shard_id).buffer
                if f.get("t") == "GUILD_CREATE"
            ]
            for shard_id in range(SHARDS)
        }
    assert sorted(p["shard"] for p in c.discord.identify_payloads) == [[i, 4] for i in range(4)]
    for shard_id in range(SHARDS):
        expected = [str(g.id) for g in c.guilds if c.discord.shard_of(g) == shard_id]
        assert sent[shard_id] == expected
        assert len(expected) == 2
    for guild, answer in zip(c.guilds, answers, strict=True):
        assert answer["Shards"] == f"4 (this server: {c.discord.shard_of(guild)})"
        assert answer["Servers"] == "8"
    assert (status, body["status"]) == (200, "ready")
    # max_concurrency 1: one IDENTIFY per 5 s (on the injected clock), as discord.py does.
    assert gate == [(0, 0.0), (1, 5.0), (2, 5.0), (3, 5.0)]
    for shard_id in range(SHARDS):
        assert sample(metrics, "gw2opt_gateway_shard_connected", shard=str(shard_id)) == 1.0
        assert sample(metrics, "gw2opt_shard_guilds", shard=str(shard_id)) == 2.0
        assert (
            sample(
                metrics, "gw2opt_gateway_shard_events_total", event="connect", shard=str(shard_id)
            )
            == 1.0
        )
    assert sample(metrics, "gw2opt_guilds") == 8.0
    assert 'shard="4"' not in metrics


async def test_a_larger_max_concurrency_identifies_that_many_shards_at_once(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path, guilds=4, max_concurrency=4) as c:
        assert c.app.bot is not None
        gate = list(c.app.bot.identify_gate.history)
    assert gate == [(0, 0.0), (1, 0.0), (2, 0.0), (3, 0.0)]


async def test_a_shard_stuck_reconnecting_is_reported_while_the_others_answer(
    tmp_path: Path,
) -> None:
    async with cluster(tmp_path) as c:
        c.discord.stall_shard(2)
        await c.discord.drop_shard(2, "close", code=4000)
        await c.discord.wait_until(lambda: c.discord.connected_shards == [0, 1, 3], "shard 2 down")
        status, body = await c.readyz()
        down_metrics = await c.metrics()
        # The other shards keep answering while shard 2 is down.
        others = [await c.about(c.on_shard(shard_id)) for shard_id in (0, 1, 3)]
        late = await c.discord.slash(c.on_shard(2), "about")  # queued for shard 2

        c.discord.release_shard(2)
        await c.discord.wait_shards_connected([0, 1, 2, 3])
        message = await late.wait_final_message()
        await c.discord.wait_until(lambda: c.app.bot and not c.app.bot.shards_down(), "resumed")
        status_after, _ = await c.readyz()
        up_metrics = await c.metrics()
    assert status == 503
    assert body["reasons"] == {"gateway": "shards not connected: 2"}
    assert sample(down_metrics, "gw2opt_gateway_shard_connected", shard="2") == 0.0
    assert sample(down_metrics, "gw2opt_gateway_shard_connected", shard="0") == 1.0
    assert [a["Shards"] for a in others] == [f"4 (this server: {i})" for i in (0, 1, 3)]
    assert fields(message)["Shards"] == "4 (this server: 2)"
    assert status_after == 200
    assert c.discord.resume_count == 1
    resumes = sample(up_metrics, "gw2opt_gateway_shard_events_total", event="resume", shard="2")
    assert resumes == 1.0
    assert sample(up_metrics, "gw2opt_gateway_shard_connected", shard="2") == 1.0


@pytest.mark.parametrize(
    ("how", "resumed"),
    [("reconnect", True), ("abrupt", True), ("invalid_session", False)],
)
async def test_one_shard_recovers_from_each_kind_of_drop(
    tmp_path: Path, how: Any, resumed: bool
) -> None:
    async with cluster(tmp_path) as c:
        identifies = len(c.discord.identify_payloads)
        await c.discord.drop_shard(1, how)
        if resumed:
            await c.discord.wait_until(lambda: c.discord.resume_count == 1, "a RESUME")
        else:
            await c.discord.wait_until(
                lambda: len(c.discord.identify_payloads) == identifies + 1, "a new IDENTIFY"
            )
        await c.discord.wait_shards_connected([0, 1, 2, 3])
        await c.discord.wait_until(lambda: c.app.bot and not c.app.bot.shards_down(), "shard up")
        answer = await c.about(c.on_shard(1))
        status, _ = await c.readyz()
        metrics = await c.metrics()
    assert answer["Shards"] == "4 (this server: 1)"
    assert status == 200
    if not resumed:
        assert c.discord.identify_payloads[-1]["shard"] == [1, 4]
        assert (
            sample(metrics, "gw2opt_gateway_shard_events_total", event="reconnect", shard="1")
            == 1.0
        )
    assert sample(metrics, "gw2opt_gateway_shard_events_total", event="disconnect", shard="1")


async def test_a_process_with_shard_ids_runs_only_those_shards(tmp_path: Path) -> None:
    async with cluster(tmp_path, shard_count=SHARDS, shard_ids=(0, 2)) as c:
        assert c.app.bot is not None
        owned = [c.app.bot.owns_guild(g.id) for g in c.guilds]
        status, _ = await c.readyz()
        metrics = await c.metrics()
    assert sorted(p["shard"][0] for p in c.discord.identify_payloads) == [0, 2]
    assert owned == [c.discord.shard_of(g) in (0, 2) for g in c.guilds]
    assert status == 200
    assert sample(metrics, "gw2opt_gateway_shard_connected", shard="1") is None
    assert sample(metrics, "gw2opt_guilds") == 4.0
