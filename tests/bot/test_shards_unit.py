"""Shard settings, the identify gate and fatal gateway close codes (a real process for those)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, parse_shard_ids
from bot.shards import IdentifyGate, fatal_close_message, shard_of
from services.clock import ManualClock
from services.keys import generate_key
from tests.fakes.discord import FakeDiscord
from tests.harness import TEST_TOKEN

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "ids"),
    [("0-3", (0, 1, 2, 3)), ("0,2", (0, 2)), ("0-1, 4", (0, 1, 4)), ("3", (3,))],
)
def test_shard_ids_read_ranges_and_lists(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DISCORD_SHARD_IDS": "0-3"}, "needs DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "2-5"}, "between 0 and 3"),
        ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "two"}, "like 0-3 or 0,2"),
        ({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": "3-1"}, "from low to high"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT"),
    ],
)
def test_bad_shard_settings_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_settings(require_token=False)
    assert named in str(error.value)
    assert "DISCORD_SHARD_" in str(error.value)


def test_shard_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "8")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "4-7")
    settings = load_settings(require_token=False)
    assert settings.discord.shard_count == 8
    assert settings.discord.shard_ids == (4, 5, 6, 7)


def test_a_guild_is_on_the_shard_discord_computes() -> None:
    # Discord's documented example: (guild_id >> 22) % num_shards.
    assert shard_of(41771983423143937, 4) == (41771983423143937 >> 22) % 4
    assert {shard_of((n << 22) | 123, 4) for n in range(8)} == {0, 1, 2, 3}


async def test_the_identify_gate_lets_max_concurrency_shards_through_per_window() -> None:
    clock = ManualClock()
    gate = IdentifyGate(2, clock)
    waits = [asyncio.create_task(gate.wait(shard_id)) for shard_id in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert [w.done() for w in waits] == [True, True, False, False]  # buckets 0 and 1 at once
    clock.advance(4.9)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waits[2].done()  # never faster than one identify per bucket per 5 s
    clock.advance(0.1)
    await asyncio.wait_for(asyncio.gather(*waits), 1)
    assert [shard for shard, _ in gate.history] == [0, 1, 2, 3]


async def test_with_max_concurrency_1_identifies_are_5_seconds_apart() -> None:
    clock = ManualClock()
    gate = IdentifyGate(1, clock)
    first = await gate.wait(0)
    second = asyncio.create_task(gate.wait(1))
    await asyncio.sleep(0)
    assert not second.done()
    clock.advance(5)
    assert (first, await asyncio.wait_for(second, 1)) == (0.0, 5.0)


def test_fatal_close_codes_have_one_line_each() -> None:
    for code in (4004, 4010, 4011, 4012, 4013, 4014):
        message = fatal_close_message(code)
        assert message is not None
        assert "\n" not in message
        assert str(code) in message
    assert fatal_close_message(4000) is None  # resumable: not fatal


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("code", "words"),
    [(4004, "DISCORD_TOKEN"), (4011, "DISCORD_SHARD_COUNT"), (4013, "intents")],
)
async def test_a_fatal_close_code_stops_the_process_with_one_clear_line(
    tmp_path: Path, code: int, words: str
) -> None:
    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="One")
        if code == 4011:
            # More guilds than one shard may hold while DISCORD_SHARD_COUNT says 1.
            discord_fake.add_guild(name="Two")
            discord_fake.max_guilds_per_shard = 1
        else:
            discord_fake.identify_close_code = code
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "METRICS_"))}
        env.update(
            PYTHONPATH=str(REPO),
            DATABASE_PATH=str(tmp_path / "data" / "bot.sqlite3"),
            GW2_API_BASE_URL="http://127.0.0.1:9",
            LOG_FORMAT="json",
            DISCORD_TOKEN=TEST_TOKEN,
            DISCORD_SHARD_COUNT="1",
            KEY_ENCRYPTION_KEY=generate_key(),
            METRICS_PORT="0",
            **discord_fake.client_env(),
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = stderr.decode()
    assert process.returncode == 1, log
    failures = [json.loads(line) for line in log.splitlines() if "Start-up failed" in line]
    assert len(failures) == 1, log
    assert str(code) in failures[0]["message"]
    assert words in failures[0]["message"]
    assert "Traceback" not in log
    assert TEST_TOKEN not in log
