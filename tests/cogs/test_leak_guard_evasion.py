"""Disguised pastes reach the leak guard too: doubled keys, a hex prefix, zero-width characters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world


def _disguises(key: str) -> dict[str, str]:
    return {
        "pasted_twice": f"{key}{key}",
        "after_a_hex_character": f"ab{key}",
        "zero_width_space": f"{key[:9]}\u200b{key[9:]}",
        "word_joiner_and_soft_hyphen": f"{key[:30]}\u2060{key[30:50]}\u00ad{key[50:]}",
    }


@pytest.mark.parametrize(
    "disguise",
    ["pasted_twice", "after_a_hex_character", "zero_width_space", "word_joiner_and_soft_hyphen"],
)
async def test_a_disguised_key_in_a_channel_is_deleted(tmp_path: Path, disguise: str) -> None:
    key = make_gw2_key()
    async with account_world(tmp_path) as world:
        posted = await world.discord.send_user_message(
            world.alice, f"here: {_disguises(key)[disguise]}", channel=world.guild.default_channel
        )
        await world.discord.wait_until(lambda: posted.deleted, "the message to be deleted")
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
    warning = world.discord.sent_dms(world.alice.user)[0].content
    assert "is public now" in warning
    assert key[:8] not in warning
