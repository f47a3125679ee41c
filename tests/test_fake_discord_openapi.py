"""The fake Discord refuses bodies that break Discord's OpenAPI request schema (400 / 50035)."""

from __future__ import annotations

import aiohttp
import pytest

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.openapi import spec_available, spec_errors

pytestmark = pytest.mark.skipif(
    not spec_available(), reason="../shared/discord-api-spec/openapi.json is not beside the repo"
)


def test_a_valid_message_passes_and_broken_ones_are_named() -> None:
    good = {"content": "hello", "embeds": [{"title": "Titre", "color": 0xB4232B}]}
    assert spec_errors("POST", "/channels/1/messages", good) == []
    long_title = {"embeds": [{"title": "x" * 257}]}
    assert any(
        "embeds/0/title" in e for e in spec_errors("POST", "/channels/1/messages", long_title)
    )
    bad_colour = {"embeds": [{"color": 0x1000000}]}
    assert spec_errors("PATCH", "/channels/1/messages/2", bad_colour) != []
    long_label = {
        "type": 4,
        "data": {
            "content": "x",
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 2, "style": 1, "label": "y" * 81, "custom_id": "z"}],
                }
            ],
        },
    }
    assert spec_errors("POST", "/interactions/1/token/callback", long_label) != []
    # Routes outside the checked set (and bodies that are not JSON) are left alone.
    assert spec_errors("PUT", "/applications/1/commands", [{"name": "X Y"}]) == []
    assert spec_errors("POST", "/channels/1/messages", None) == []


async def test_the_fake_answers_a_spec_violation_with_invalid_form_body() -> None:
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        channel = guild.default_channel
        assert channel is not None
        async with aiohttp.ClientSession() as session:
            url = f"{discord_fake.api_base}/channels/{channel.id}/messages"
            headers = {"Authorization": "Bot fake-discord-token-for-tests"}
            body = {"embeds": [{"title": "x" * 300}]}
            async with session.post(url, json=body, headers=headers) as response:
                status = response.status
                payload = await response.json(content_type=None)
    assert status == 400
    assert payload["code"] == 50035
    assert discord_fake.spec_violations
