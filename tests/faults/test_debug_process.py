"""``LOG_LEVEL=DEBUG`` on the real process: discord.py logs raw gateway payloads, and no key."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from services.keys import generate_key
from services.secrets import find_gw2_api_keys
from tests.bot.test_redaction import make_gw2_key
from tests.fakes.discord import FakeDiscord
from tests.harness import TEST_TOKEN

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_debug_logging_of_the_real_process_writes_no_key(
    tmp_path: Path, log_format: str
) -> None:
    key, disguised = make_gw2_key(), make_gw2_key()
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Debug Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "METRICS_"))}
        env.update(
            PYTHONPATH=str(REPO),
            DATABASE_PATH=str(tmp_path / "data" / "bot.sqlite3"),
            GW2_API_BASE_URL="http://127.0.0.1:9",
            LOG_LEVEL="DEBUG",
            LOG_FORMAT=log_format,
            DISCORD_TOKEN=TEST_TOKEN,
            KEY_ENCRYPTION_KEY=generate_key(),
            METRICS_PORT="0",
            DISCORD_GUILD_READY_TIMEOUT="0.05",
            **discord_fake.client_env(),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await discord_fake.wait_ready(timeout=60)
            posted = await discord_fake.send_user_message(
                alice, f"here {key}", channel=guild.default_channel
            )
            await discord_fake.wait_until(lambda: posted.deleted, "the leak guard")
            await discord_fake.send_user_message(alice, f"{disguised[:30]}\u200b{disguised[30:]}")
            await discord_fake.wait_until(
                lambda: len(discord_fake.sent_dms(alice.user)) >= 2, "the DM answers"
            )
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = stderr.decode()
    assert "WebSocket Event" in log  # discord.py's DEBUG payload lines are there
    assert "MESSAGE_CREATE" in log
    assert find_gw2_api_keys(log) == []
    for secret in (key, disguised):
        assert secret[:36] not in log
        assert secret[36:] not in log
    assert TEST_TOKEN not in log
