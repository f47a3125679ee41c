"""Database write failures are told to the user (nothing stored) and turn /readyz 503 with why."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Application
from bot.storage import Database
from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.fakes.discord import FakeDiscord, FakeMember
from tests.fakes.gw2_api import FakeGW2API
from tests.faults.storage import full_disk, lock_held_elsewhere, read_only
from tests.harness import free_port, running_bot

NOT_SAVED = "couldn't save that"


def _db(app: Application) -> Database:
    assert app.bot is not None
    return app.bot.services.db


async def _readyz(port: int) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/readyz") as response,
    ):
        return response.status, await response.json()


async def test_a_key_pasted_in_dm_on_a_full_disk_gets_an_answer_and_nothing_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = make_gw2_key()
    async with account_world(tmp_path) as world:
        world.gw2.add_key(key, account_name="Alice.1234")
        async with full_disk(_db(world.app)) as disk:
            answer = await paste_in_dm(world, world.alice.user, key)
        stored = await world.app.bot.services.keys.list_for_user(world.alice.id)  # type: ignore[union-attr]
    assert disk.refused >= 1
    assert NOT_SAVED in answer.content
    assert "nothing was stored" in answer.content
    assert key[:8] not in answer.all_text()
    assert stored == []
    assert "Unhandled error" not in caplog.text


@asynccontextmanager
async def settings_world(
    tmp_path: Path,
) -> AsyncIterator[tuple[FakeDiscord, FakeMember, Application, int]]:
    port = free_port()
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        async with running_bot(
            discord_fake,
            tmp_path,
            gw2=gw2_fake,
            extensions=("cogs.about", "cogs.settings", "cogs.updates"),
            metrics_port=port,
        ) as app:
            yield discord_fake, admin, app, port


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(full_disk, "disk full"), (read_only, "read-only"), (lock_held_elsewhere, "locked")],
)
async def test_settings_changes_say_nothing_was_saved_and_readyz_names_the_fault(
    tmp_path: Path, fault: Any, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with settings_world(tmp_path) as (discord_fake, admin, app, port):
        db = _db(app)
        assert await _readyz(port) == (200, {"status": "ready", "reasons": {}})
        if fault is lock_held_elsewhere:
            db._busy_timeout_ms = 300  # the lock is held for good: don't wait the default 5 s
            await db.connection.execute("PRAGMA busy_timeout=300")
        async with fault(db):
            status, body = await _readyz(port)
            handle = await discord_fake.slash(admin, "settings leak-guard", {"enabled": False})
            reply = await handle.wait_final_message()
        settings = await app.bot.services.guild_settings.get(admin.guild.id)  # type: ignore[union-attr]
        recovered = await _readyz(port)
    assert status == 503
    assert reason in body["reasons"]["database"]
    assert handle.ephemeral
    assert NOT_SAVED in reply.content
    assert "went wrong" not in reply.content
    assert settings.leak_guard_enabled is True  # nothing was stored
    assert recovered == (200, {"status": "ready", "reasons": {}})
    assert "failed (reference" not in caplog.text
