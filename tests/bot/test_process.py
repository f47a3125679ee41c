"""``python -m bot`` as a real process: exit codes, one-line errors, SIGTERM shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from services.keys import generate_key
from tests.fakes.discord import FakeDiscord
from tests.harness import TEST_TOKEN, free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "METRICS_"))}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_PATH=str(tmp_path / "data" / "bot.sqlite3"),
        GW2_API_BASE_URL="http://127.0.0.1:9",
        LOG_FORMAT="json",
        **extra,
    )
    return env


async def _run(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_without_a_token_it_exits_2_with_one_line(tmp_path: Path) -> None:
    process = await _run(tmp_path, _env(tmp_path))
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert "DISCORD_TOKEN" in lines[0]
    assert "README.md#configuration" in lines[0]


async def test_an_invalid_setting_exits_2_naming_it(tmp_path: Path) -> None:
    process = await _run(tmp_path, _env(tmp_path, DISCORD_TOKEN=TEST_TOKEN, METRICS_PORT="99999"))
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "METRICS_PORT" in stderr.decode()
    assert "Traceback" not in stderr.decode()


async def test_it_serves_until_sigterm_then_exits_0(tmp_path: Path) -> None:
    port = free_port()
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Process")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        env = _env(
            tmp_path,
            DISCORD_TOKEN=TEST_TOKEN,
            KEY_ENCRYPTION_KEY=generate_key(),
            METRICS_PORT=str(port),
            DISCORD_GUILD_READY_TIMEOUT="0.05",
            **discord_fake.client_env(),
        )
        process = await _run(tmp_path, env)
        try:
            await discord_fake.wait_ready(timeout=30)
            handle = await discord_fake.slash(alice, "about")
            message = await handle.wait_final_message(timeout=10)
            assert message.embed is not None
            async with aiohttp.ClientSession() as http:
                for _ in range(100):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                    await asyncio.sleep(0.05)
                assert response.status == 200
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "Shut down cleanly" in log
    assert TEST_TOKEN not in log
    assert "Traceback" not in log


async def test_a_rejected_token_is_one_clear_error(tmp_path: Path) -> None:
    async with FakeDiscord(expected_token="the-right-token") as discord_fake:
        env = _env(
            tmp_path,
            DISCORD_TOKEN="a-wrong-token-value",
            KEY_ENCRYPTION_KEY=generate_key(),
            METRICS_PORT="0",
            **discord_fake.client_env(),
        )
        process = await _run(tmp_path, env)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    log = stderr.decode()
    assert process.returncode == 1, log
    assert "DISCORD_TOKEN" in log
    assert "a-wrong-token-value" not in log
