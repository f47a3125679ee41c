"""The /key add DM flow in French, German and Spanish, through the fake Discord and GW2 API.

The flow is private: it speaks the language of the user who ran /key add (``interaction.locale``),
in the ephemeral answer, the DM with the steps, and the answers to what they paste there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bot.test_redaction import make_gw2_key
from tests.fakes.discord import FakeDiscord, FakeMessage
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

EXTENSIONS = ("cogs.about", "cogs.keys")
ENGLISH_WORDS = (
    "permissions",
    "Ownership",
    "Needed",
    "stored",
    "Paste",
    "Link your",
    "linked",
    "Account",
    "Checks",
    "missing",
    "DM with the steps",
)
EXPECTED = {
    "fr": {
        "reply": "Je vous ai envoyé un MP",
        "title": "Lier votre clé d'API GW2",
        "code": "Code de propriété : ",
        "linked": "Clé d'API liée",
        "refused": "Clé d'API non liée",
        "missing": "Il manque à cette clé `builds`",
    },
    "de": {
        "reply": "Ich habe dir eine DM",
        "title": "Deinen GW2-API-Schlüssel verknüpfen",
        "code": "Besitzcode: ",
        "linked": "API-Schlüssel verknüpft",
        "refused": "API-Schlüssel nicht verknüpft",
        "missing": "Diesem Schlüssel fehlt `builds`",
    },
    "es-ES": {
        "reply": "Te he enviado un MD",
        "title": "Vincula tu clave de API de GW2",
        "code": "Código de propiedad: ",
        "linked": "Clave de API vinculada",
        "refused": "Clave de API no vinculada",
        "missing": "A esta clave le falta `builds`",
    },
}


def english_leaks(message: FakeMessage) -> list[str]:
    text = message.all_text().replace("account.arena.net", "")
    # Permission names (`account`, `wvw`...) are the API's own words: not English to translate.
    text = re.sub(r"`[^`]*`", "", text)
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_the_key_add_dm_flow_speaks_the_users_language(tmp_path: Path, locale: str) -> None:
    expected = EXPECTED[locale]
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS):
            handle = await discord_fake.slash(alice, "key add", locale=locale)
            reply = await handle.wait_final_message()
            instructions = discord_fake.sent_dms(alice.user)[-1]
            assert instructions.embed is not None
            code_field = next(
                f["name"]
                for f in instructions.embed["fields"]
                if f["name"].startswith(expected["code"])
            )
            code = code_field.removeprefix(expected["code"])

            refused_key, good_key = make_gw2_key(), make_gw2_key()
            gw2_fake.add_key(refused_key, permissions=["account", "wvw", "characters"])
            gw2_fake.add_key(
                good_key,
                permissions=["account", "wvw", "characters", "builds", "progression"],
                account_name="Alice.1234",
                team_id=12005,
                token_name=f"bot {code}",
            )
            answers: list[FakeMessage] = []
            for text in ("hello?", refused_key, good_key):
                before = len(discord_fake.sent_dms(alice.user))
                await discord_fake.send_user_message(alice.user, text)
                await discord_fake.wait_until(
                    lambda before=before: len(discord_fake.sent_dms(alice.user)) > before,
                    "the bot to answer in the DM",
                )
                answers.append(discord_fake.sent_dms(alice.user)[-1])
        assert discord_fake.errors == []
    format_help, refused, linked = answers
    assert handle.ephemeral
    assert reply.content.startswith(expected["reply"])
    assert instructions.embed["title"] == expected["title"]
    assert "account.arena.net/applications" in format_help.content
    assert refused.embed is not None
    assert refused.embed["title"] == expected["refused"]
    assert expected["missing"] in refused.embed["description"]
    assert linked.embed is not None
    assert linked.embed["title"] == expected["linked"]
    assert "Alice.1234" in linked.all_text()
    for message in (reply, instructions, format_help, refused, linked):
        assert english_leaks(message) == [], message.all_text()
        assert good_key not in message.all_text()
