"""Game names in the players' language through the fakes: /characters and /compose.

Profession and elite-spec names come from the fake GW2 API's ``/v2/professions`` and
``/v2/specializations`` for the answer's ``lang=``; the plan's boon, role and "unmet" words are
GW2's own vocabulary in that language. When the API cannot give the names, they are English.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.cogs.test_compose_e2e import world
from tests.cogs.test_i18n_e2e import visible_text
from tests.fakes.gw2_api import FakeCharacter

NAME_ROUTES = ("/v2/professions", "/v2/specializations")
CHARACTERS = [
    FakeCharacter("Zojja Prime", "Guardian", [62]),
    FakeCharacter("Core Ranger", "Ranger", [None], level=42),
    FakeCharacter("Quick Feet", "Thief", [7]),
]
# (Firebrand (Guardian), core Ranger, Daredevil (Thief)) as /characters shows them.
CHARACTER_LINES = {
    "fr": ("Incendiaire (Gardien)", "Rôdeur · niveau 42", "Fracasseur (Voleur)"),
    "de": ("Feuerbrand (Wächter)", "Waldläufer · Stufe 42", "Draufgänger (Dieb)"),
    "es-ES": ("Abrasador (Guardián)", "Guardabosques · nivel 42", "Temerario (Ladrón)"),
}
ENGLISH_LINES = ("Firebrand (Guardian)", "Ranger ·", "Daredevil (Thief)")


async def characters_text(tmp_path: Path, locale: str, *, names_down: bool = False) -> str:
    async with account_world(tmp_path) as w:
        key = make_gw2_key()
        w.gw2.add_key(
            key,
            permissions=["account", "wvw", "characters", "builds"],
            account_name="Alice.1234",
            characters=CHARACTERS,
        )
        await paste_in_dm(w, w.alice.user, key)
        if names_down:
            for route in NAME_ROUTES:
                w.gw2.fail(route, 503, "API not active", times=None)
        handle = await w.discord.slash(w.alice, "characters", locale=locale)
        message = await handle.wait_final_message()
    return visible_text(message)


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_characters_show_profession_and_elite_names_in_the_players_language(
    tmp_path: Path, locale: str
) -> None:
    text = await characters_text(tmp_path, locale)
    for line in CHARACTER_LINES[locale]:
        assert line in text, text
    for english in ENGLISH_LINES:
        assert english not in text


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_characters_fall_back_to_english_names_when_the_api_cannot_name_them(
    tmp_path: Path, locale: str
) -> None:
    text = await characters_text(tmp_path, locale, names_down=True)
    for english in ENGLISH_LINES:
        assert english in text, text
    assert CHARACTER_LINES[locale][0] not in text


# A two-player roster: a Firebrand and a core Guardian; the squad lacks a healer.
ROSTER = "Annabel: firebrand; Bruno: guardian"
COMPOSE_WORDS = {
    # (Firebrand, core Guardian, a boon, the core Guardian's role, why a need is unmet)
    "fr": ("Incendiaire", "Gardien", "stabilité", "soutien stabilité", "personne dans l'effectif"),
    "de": (
        "Feuerbrand",
        "Wächter",
        "Stabilität",
        "Stabilitäts-Support",
        "niemand in der Aufstellung",
    ),
    "es-ES": (
        "Abrasador",
        "Guardián",
        "estabilidad",
        "apoyo de estabilidad",
        "nadie de la plantilla",
    ),
}
COMPOSE_ENGLISH = ("stability", "stab support", "nobody in the roster", "healing", "Guardian")


async def compose_text(tmp_path: Path, locale: str, *, names_down: bool = False) -> str:
    async with world(tmp_path) as w:
        if names_down:
            for route in NAME_ROUTES:
                w.gw2.fail(route, 503, "API not active", times=None)
        handle = await w.discord.slash(
            w.alice, "compose", {"roster": ROSTER, "size": 2}, locale=locale
        )
        message = await handle.wait_final_message()
    return message.all_text()


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_compose_shows_spec_boon_role_and_unmet_words_in_the_players_language(
    tmp_path: Path, locale: str
) -> None:
    text = await compose_text(tmp_path, locale)
    firebrand, guardian, boon, role, reason = COMPOSE_WORDS[locale]
    assert f"**{firebrand}** ·" in text, text
    assert f"**{guardian}** · {role}" in text
    assert boon in text
    assert reason in text
    for english in COMPOSE_ENGLISH:
        assert english not in text, english


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_compose_spec_names_are_english_when_the_api_cannot_name_them(
    tmp_path: Path, locale: str
) -> None:
    text = await compose_text(tmp_path, locale, names_down=True)
    _, _, boon, role, reason = COMPOSE_WORDS[locale]
    assert "**Firebrand** ·" in text, text
    assert f"**Guardian** · {role}" in text
    # The words that don't come from the API are still in the player's language.
    assert boon in text
    assert reason in text
