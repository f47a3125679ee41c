"""Run the real bot (``bot.app.Application``, the production code path) against loopback fakes.

Usage::

    async def test_something(tmp_path):
        async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
            guild = discord_fake.add_guild(name="Guild")
            alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
            async with running_bot(discord_fake, tmp_path, gw2=gw2_fake) as app:
                handle = await discord_fake.slash(alice, "about")
                message = await handle.wait_final_message()
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from bot.app import Application
from bot.client import EXTENSIONS
from bot.config import (
    DatabaseSettings,
    DiscordSettings,
    GW2Settings,
    MetricsSettings,
    MistralSettings,
    SecuritySettings,
    Settings,
)
from services.clock import Clock
from services.keys import generate_key
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API, InstantClock

TEST_TOKEN = "fake-discord-token-for-tests"


def free_port() -> int:
    """A port that was free a moment ago (for servers that must be told their port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_settings(
    discord_fake: FakeDiscord,
    data_dir: Path,
    *,
    gw2: FakeGW2API | None = None,
    mistral_url: str | None = None,
    mistral_key: str | None = None,
    metrics_port: int = 0,
    encryption_key: str | None = None,
    leak_guard: bool = True,
    database_url: str | None = None,
    **discord_options: Any,
) -> Settings:
    """Settings pointing every endpoint at the fakes, with a temporary database."""
    return Settings(
        discord=DiscordSettings(
            token=TEST_TOKEN,
            api_base_url=discord_fake.api_base,
            gateway_url=discord_fake.gateway_url,
            guild_ready_timeout=0.05,
            **discord_options,
        ),
        database=DatabaseSettings(
            path=data_dir / "bot.sqlite3", url=SecretStr(database_url) if database_url else None
        ),
        security=SecuritySettings(
            key_encryption_key=encryption_key or generate_key(), leak_guard_enabled=leak_guard
        ),
        gw2=GW2Settings(base_url=gw2.base_url if gw2 else "http://127.0.0.1:9/"),
        mistral=MistralSettings(
            api_key=mistral_key, server_url=mistral_url or "http://127.0.0.1:9/"
        ),
        metrics=MetricsSettings(port=metrics_port),
    )


@asynccontextmanager
async def running_bot(
    discord_fake: FakeDiscord,
    data_dir: Path,
    *,
    gw2: FakeGW2API | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    extensions: tuple[str, ...] = EXTENSIONS,
    **settings_options: Any,
) -> AsyncIterator[Application]:
    """Start the application, wait until it is ready, stop it on exit (even on failure)."""
    app = Application(
        settings or make_settings(discord_fake, data_dir, gw2=gw2, **settings_options),
        clock=clock or InstantClock(),
        registry=CollectorRegistry(),
        extensions=extensions,
    )
    try:
        await app.start()
        await app.wait_until_ready(timeout_s=discord_fake.default_timeout)
        await discord_fake.wait_ready()
        yield app
    finally:
        await app.stop()
