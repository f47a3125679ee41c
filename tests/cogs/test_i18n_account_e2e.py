"""``/account`` and ``/characters`` in French and German, end to end through the fakes.

Both answers are private: they speak the player's Discord language, page buttons included, with
no English word that has a translation left in them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.cogs.test_i18n_e2e import visible_text
from tests.fakes.gw2_api import FakeCharacter

GUILD_ID = "4FB44673-C2CF-E611-80D3-AC162DC085C0"
ENGLISH_WORDS = (
    "WvW rank",
    "Commander tag",
    "Access",
    "Guilds",
    "Created",
    "From the GW2 API",
    "Characters of",
    "level",
    "played",
    "characters",
    "Previous",
    "Next",
    "Hidden",
    "haven't linked",
)
EXPECTED = {
    "fr": {
        "fields": {"Rang McM", "Balise de commandant", "Accès", "Guildes", "Créé"},
        "rank": "1\u202f234",
        "hidden": "Masqué : votre clé n'a pas la permission `progression`.",
        "title": "Personnages de Alice.1234",
        "line": "· niveau 42 ·",
        "footer": "Page 1/2 · 13 personnages",
        "buttons": "◀ Précédent\nSuivant ▶",
        "no_key": "Vous n'avez pas encore lié de clé d'API GW2",
    },
    "de": {
        "fields": {"WvW-Rang", "Kommandeursabzeichen", "Zugang", "Gilden", "Erstellt"},
        "rank": "1.234",
        "hidden": "Ausgeblendet: Deinem Schlüssel fehlt die Berechtigung `progression`.",
        "title": "Charaktere von Alice.1234",
        "line": "· Stufe 42 ·",
        "footer": "Seite 1/2 · 13 Charaktere",
        "buttons": "◀ Zurück\nWeiter ▶",
        "no_key": "Du hast noch keinen GW2-API-Schlüssel verknüpft",
    },
}


def english_leaks(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_account_and_characters_speak_the_players_language(
    tmp_path: Path, locale: str
) -> None:
    characters = [
        FakeCharacter("Core Ranger", "Ranger", [None], level=42),
        *(FakeCharacter(f"Alt Number {i:02d}", "Necromancer", [60]) for i in range(12)),
    ]
    async with account_world(tmp_path) as world:
        no_key = await (
            await world.discord.slash(world.alice, "account", locale=locale)
        ).wait_final_message()
        world.gw2.add_guild(GUILD_ID, "Vigil Vanguard", "VV")
        key = make_gw2_key()
        world.gw2.add_key(
            key,
            permissions=["account", "wvw", "characters", "builds", "progression"],
            account_name="Alice.1234",
            team_id=12008,
            guilds=[GUILD_ID],
            characters=characters,
        )
        await paste_in_dm(world, world.alice.user, key)
        account = await (
            await world.discord.slash(world.alice, "account", locale=locale)
        ).wait_final_message()
        pages = await (
            await world.discord.slash(world.alice, "characters", locale=locale)
        ).wait_final_message()
    expected = EXPECTED[locale]
    assert expected["no_key"] in (no_key.content or "")
    assert account.embed is not None
    fields = {f["name"]: f["value"] for f in account.embed["fields"]}
    assert expected["fields"] <= set(fields)
    assert expected["rank"] in fields[expected_rank_field(locale)]
    assert pages.embed is not None
    assert pages.embed["title"] == expected["title"]
    assert pages.embed["footer"]["text"].startswith(expected["footer"])
    text = visible_text(pages)
    assert expected["line"] in text
    assert expected["buttons"] in text
    for answer in (no_key, account, pages):
        assert english_leaks(visible_text(answer)) == [], visible_text(answer)


def expected_rank_field(locale: str) -> str:
    return {"fr": "Rang McM", "de": "WvW-Rang"}[locale]


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_a_hidden_account_field_says_why_in_the_players_language(
    tmp_path: Path, locale: str
) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        await paste_in_dm(world, world.alice.user, key)
        message = await (
            await world.discord.slash(world.alice, "account", locale=locale)
        ).wait_final_message()
    assert message.embed is not None
    fields = {f["name"]: f["value"] for f in message.embed["fields"]}
    assert fields[expected_rank_field(locale)] == EXPECTED[locale]["hidden"]


KEY_EXPECTED = {
    "fr": {
        "info": "Vos comptes GW2 liés",
        "footer": "Changez avec /key switch",
        "unknown": "Vous n'avez aucun compte lié appelé « Nobody.0000 »",
        "switch": "J'utilise maintenant **Alice.1234**.",
        "remove": "Clé de **Alice.1234** supprimée. Il ne vous reste aucun compte lié.",
    },
    "de": {
        "info": "Deine verknüpften GW2-Accounts",
        "footer": "Wechseln mit /key switch",
        "unknown": "Du hast keinen verknüpften Account namens „Nobody.0000“",
        "switch": "Ich nutze jetzt **Alice.1234**.",
        "remove": "Schlüssel von **Alice.1234** entfernt. Du hast keine verknüpften Accounts mehr.",
    },
}
KEY_ENGLISH_WORDS = (
    "Your linked",
    "Permissions:",
    "last validated",
    "Now using",
    "Removed",
    "Key:",
)


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_key_info_switch_and_remove_speak_the_players_language(
    tmp_path: Path, locale: str
) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        await paste_in_dm(world, world.alice.user, key)

        async def ask(command: str, options: dict[str, object] | None = None) -> str:
            handle = await world.discord.slash(world.alice, command, options, locale=locale)
            message = await handle.wait_final_message()
            assert handle.ephemeral
            return visible_text(message)

        answers = {
            "info": await ask("key info"),
            "unknown": await ask("key switch", {"account": "Nobody.0000"}),
            "switch": await ask("key switch", {"account": "Alice.1234"}),
            "remove": await ask("key remove"),
        }
    expected = KEY_EXPECTED[locale]
    assert expected["info"] in answers["info"]
    assert expected["footer"] in answers["info"]
    for name in ("unknown", "switch", "remove"):
        assert expected[name] in answers[name], answers[name]
    for text in answers.values():
        leaks = [w for w in KEY_ENGLISH_WORDS if w in text]
        assert leaks == [], text
        assert key not in text
