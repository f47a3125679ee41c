"""/compose in French, German and Spanish through the fakes, Mistral's briefing included.

The plan is private: it speaks the asking user's language; Mistral is asked for the briefing in
that language, and an answer in another language falls back to the optimizer's plan with the
localised "AI unavailable" note.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.composer.language import detect_language
from tests.cogs.test_compose_e2e import world
from tests.fakes.discord import FakeMessage
from tests.fakes.mistral import FakeMistral, MistralReply

ENGLISH_WORDS = (
    "Squad plan",
    "Subgroup",
    "Unmet needs",
    "Optimizer",
    "players",
    "AI unavailable",
    "Squad-wide",
    "missing",
    "covered",
    "Reroll",
    "Post to channel",
)
BRIEFINGS = {
    "fr": "Tenez les collines et gardez la stabilité pour la poussée. Les soigneurs restent avec "
    "le commandant et nous tournons sur la carte.",
    "de": "Haltet die Hügel und spart die Stabilität für den Push. Die Heiler bleiben bei dem "
    "Kommandeur und wir sind auf der Karte unterwegs.",
    "es-ES": "Mantened las colinas y guardad la estabilidad para el empuje. Los sanadores se "
    "quedan con el comandante y por el mapa está todo tranquilo.",
}
EXPECTED = {
    "fr": ("Plan d'escouade · Zerg", "French", "IA indisponible : la réponse n'était pas"),
    "de": ("Truppplan · Zerg", "German", "KI nicht verfügbar: die Antwort war nicht"),
    "es-ES": ("Plan de escuadrón · Zerg (masa)", "Spanish", "IA no disponible: la respuesta no"),
}


def visible(message: FakeMessage) -> str:
    return message.all_text()


def english_leaks(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_compose_and_its_briefing_speak_the_users_language(
    tmp_path: Path, locale: str
) -> None:
    title, language_name, _ = EXPECTED[locale]
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json({"briefing": BRIEFINGS[locale]}))
        async with world(tmp_path, mistral=fake) as w:
            handle = await w.discord.slash(w.alice, "compose", {"size": 10}, locale=locale)
            message = await handle.wait_final_message()
    summary = message.embeds[0]
    assert summary["title"].startswith(title)
    assert summary["description"].startswith("🤖 " + BRIEFINGS[locale][:20])
    assert any(f"in {language_name}" in prompt for prompt in fake.prompts())
    assert english_leaks(visible(message)) == []


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_a_briefing_in_the_wrong_language_falls_back_with_a_localised_note(
    tmp_path: Path, locale: str
) -> None:
    _, _, note = EXPECTED[locale]
    english = "Hold the hills and keep your stability for the push, and stay on the tag."
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json({"briefing": english}))
        async with world(tmp_path, mistral=fake) as w:
            handle = await w.discord.slash(w.alice, "compose", {"size": 10}, locale=locale)
            message = await handle.wait_final_message()
            fallbacks = w.app.registry.get_sample_value(
                "gw2opt_composer_ai_fallbacks_total", {"reason": "wrong_language"}
            )
    text = visible(message)
    assert message.embeds[0]["description"].startswith("⚠️ " + note)
    assert "Hold the hills" not in text
    assert english_leaks(text) == []
    assert fallbacks == 1


def test_the_language_check_tells_the_four_languages_apart() -> None:
    assert detect_language("Hold the hills and keep your stability for the push.") == "en"
    assert detect_language(BRIEFINGS["fr"]) == "fr"
    assert detect_language(BRIEFINGS["de"]) == "de"
    assert detect_language(BRIEFINGS["es-ES"]) == "es"
    assert detect_language("ok") is None  # too short to tell: accepted


@pytest.mark.parametrize("locale", ["de", "fr", "es-ES"])
async def test_the_largest_plan_stays_within_discords_limits_in_every_language(
    tmp_path: Path, locale: str
) -> None:
    # The fake Discord answers 400 (and the bot an error) for a body over Discord's limits:
    # 10 embeds, 6,000 characters over them, field and description lengths.
    async with world(tmp_path) as w:
        handle = await w.discord.slash(w.alice, "compose", {"size": 50}, locale=locale)
        message = await handle.wait_final_message()
    assert w.discord.errors == []
    assert 1 < len(message.embeds) <= 10
    assert sum(len(json_text) for json_text in _embed_texts(message)) <= 6000
    assert english_leaks(visible(message)) == []


def _embed_texts(message: FakeMessage) -> list[str]:
    texts: list[str] = []
    for embed in message.embeds:
        texts += [embed.get("title", ""), embed.get("description", "") or ""]
        texts.append(embed.get("footer", {}).get("text", ""))
        for field in embed.get("fields", []):
            texts += [field["name"], field["value"]]
    return texts


@pytest.mark.parametrize(
    ("locale", "firebrand"), [("fr", "Incendiaire"), ("de", "Feuerbrand"), ("es-ES", "Abrasador")]
)
async def test_elite_spec_names_come_from_the_gw2_api_in_the_users_language(
    tmp_path: Path, locale: str, firebrand: str
) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(
            w.alice, "compose", {"roster": "Annabel: firebrand", "size": 5}, locale=locale
        )
        message = await handle.wait_final_message()
        requests = w.gw2.count("/v2/specializations")
    text = visible(message)
    assert f"**{firebrand}**" in text
    assert "**Firebrand**" not in text
    assert requests == 1
