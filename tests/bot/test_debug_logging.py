"""LOG_LEVEL=DEBUG: discord.py's raw gateway payloads are logged, and still no key is written."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import LogFormat
from bot.logging import setup_logging
from services.secrets import SecretRedactor, find_gw2_api_keys
from tests.bot.test_redaction import make_gw2_key
from tests.fakes.discord import FakeDiscord
from tests.harness import running_bot


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    discord_logger = logging.getLogger("discord")
    discord_handlers = list(discord_logger.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    discord_logger.handlers[:] = discord_handlers
    logging.setLogRecordFactory(factory)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", [LogFormat.TEXT, LogFormat.JSON])
async def test_debug_gateway_payloads_carry_no_key(tmp_path: Path, fmt: LogFormat) -> None:
    root_stream, side_stream = io.StringIO(), io.StringIO()
    handler = setup_logging("DEBUG", fmt, SecretRedactor())
    handler.setStream(root_stream)  # type: ignore[attr-defined]
    # A handler someone adds straight onto discord.py's logger, without our filter or formatter.
    side_handler = logging.StreamHandler(side_stream)
    logging.getLogger("discord").addHandler(side_handler)
    key, other = make_gw2_key(), make_gw2_key()
    async with FakeDiscord() as fake:
        guild = fake.add_guild(name="Debug Keep")
        alice = fake.add_member(guild, fake.add_user("Alice"))
        async with running_bot(fake, tmp_path):
            await fake.send_user_message(alice, f"mine: {key}", channel=guild.default_channel)
            await fake.send_user_message(alice, f"{other[:30]}\u200b{other[30:]}")  # a DM
            await fake.send_user_message(alice, f"{key}{other}", channel=guild.default_channel)
    for output in (root_stream.getvalue(), side_stream.getvalue()):
        assert "WebSocket Event" in output  # discord.py really logged the payloads
        assert "MESSAGE_CREATE" in output
        assert find_gw2_api_keys(output) == []
        for secret in (key, other):
            assert secret[:36] not in output
            assert secret[36:] not in output
