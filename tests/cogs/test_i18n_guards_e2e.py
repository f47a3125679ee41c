"""The key guards in French and German, end to end through the fake Discord and GW2 API.

A key posted in a channel: the author's DM (or the channel notice when DMs are closed) speaks the
server's language, the author's own being unknown outside an interaction. A key typed into a
command option: the private refusal speaks the user's Discord language.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world

EXPECTED = {
    "fr": {
        "dm": "J'ai supprimé le message, mais d'autres ont pu la voir",
        "where": "#general sur Vigil Keep",
        "channel": "J'ai supprimé un message contenant une clé d'API GW2",
        "option": "Cela ressemble à une clé d'API GW2",
    },
    "de": {
        "dm": "Ich habe die Nachricht gelöscht, aber andere könnten ihn gesehen haben",
        "where": "#general auf Vigil Keep",
        "channel": "Ich habe eine Nachricht mit einem GW2-API-Schlüssel gelöscht",
        "option": "Das sieht nach einem GW2-API-Schlüssel aus",
    },
}
ENGLISH_WORDS = ("You posted", "deleted", "public now", "looks like", "Never type")


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_the_leak_guard_warns_in_the_servers_language(tmp_path: Path, locale: str) -> None:
    async with account_world(tmp_path) as world:
        await world.app.bot.services.guild_settings.set_language(world.guild.id, locale)  # type: ignore[union-attr]
        key = make_gw2_key()
        posted = await world.discord.send_user_message(
            world.alice, f"my key is {key} ok?", channel=world.guild.default_channel
        )
        await world.discord.wait_until(lambda: posted.deleted, "the message to be deleted")
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the warning DM"
        )
    warning = world.discord.sent_dms(world.alice.user)[0].content or ""
    assert EXPECTED[locale]["dm"] in warning
    assert EXPECTED[locale]["where"] in warning
    assert [w for w in ENGLISH_WORDS if w in warning] == []
    assert key not in warning


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_the_channel_notice_speaks_the_servers_language(tmp_path: Path, locale: str) -> None:
    async with account_world(tmp_path) as world:
        await world.app.bot.services.guild_settings.set_language(world.guild.id, locale)  # type: ignore[union-attr]
        channel = world.guild.default_channel
        assert channel is not None
        world.discord.close_dms(world.alice.user)
        key = make_gw2_key()
        await world.discord.send_user_message(world.alice, key, channel=channel)
        notice = await world.discord.wait_for_message(
            channel, lambda m: m.author is world.discord.bot_user
        )
    text = notice.content or ""
    assert text.startswith(f"<@{world.alice.user.id}> {EXPECTED[locale]['channel']}")
    assert [w for w in ENGLISH_WORDS if w in text] == []
    assert key not in notice.all_text()


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_a_key_in_an_option_is_refused_in_the_users_language(
    tmp_path: Path, locale: str
) -> None:
    key = make_gw2_key()
    async with account_world(tmp_path) as world:
        handle = await world.discord.slash(
            world.alice, "key switch", {"account": key}, locale=locale
        )
        answer = await handle.wait_final_message()
    assert handle.ephemeral
    text = answer.content or ""
    assert EXPECTED[locale]["option"] in text
    assert [w for w in ENGLISH_WORDS if w in text] == []
    assert key not in text
