"""The application with REDIS_URL: shared pacer and GW2 state wired in; Redis down is degraded."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from bot.config import RedisSettings
from services.shared_state import SharedPacer
from tests.backends import redis_prefix
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import free_port, make_settings, running_bot

pytestmark = pytest.mark.e2e
EXTENSIONS = ("cogs.about", "cogs.wvw")


async def test_with_redis_the_pacer_and_gw2_answers_are_shared(tmp_path: Path) -> None:
    async with (
        redis_prefix() as (url, prefix),
        FakeDiscord() as discord_fake,
        FakeGW2API() as gw2,
    ):
        guild = discord_fake.add_guild(name="Redis")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        settings = make_settings(discord_fake, tmp_path, gw2=gw2)
        settings.redis = RedisSettings(url=SecretStr(url), prefix=prefix)
        async with running_bot(
            discord_fake, tmp_path, settings=settings, extensions=EXTENSIONS
        ) as app:
            assert app._services is not None
            assert isinstance(app._services.discord_pacer, SharedPacer)
            handle = await discord_fake.slash(alice, "wvw match", {"team": "11001"})
            reply = await handle.wait_final_message()
            assert reply.embeds
            assert app.redis is not None
            keys = [k async for k in app.redis.client.scan_iter(match=prefix + "gw2:answer:*")]
            assert keys  # the match was published for the other processes
            assert await app.readiness() == {}


async def test_redis_down_is_a_degraded_reason_not_a_failed_readiness(tmp_path: Path) -> None:
    port = free_port()
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2:
        discord_fake.add_guild(name="No Redis")
        settings = make_settings(discord_fake, tmp_path, gw2=gw2, metrics_port=port)
        secret = "hunter2-redis-password"
        settings.redis = RedisSettings(
            url=SecretStr(f"redis://:{secret}@127.0.0.1:{free_port()}/0")
        )
        async with running_bot(discord_fake, tmp_path, settings=settings, extensions=EXTENSIONS):
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/readyz") as response,
            ):
                body = await response.json()
                status = response.status
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as response,
            ):
                metrics = await response.text()
    assert status == 200
    assert body["status"] == "ready"
    assert "redis unavailable" in body["reasons"]["degraded.redis"]
    assert secret not in str(body)
    assert "gw2opt_redis_up 0.0" in metrics
    assert secret not in metrics
