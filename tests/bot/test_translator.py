"""Command names and descriptions in French, German and Spanish, as synced to Discord."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bot.translator import CatalogueTranslator, is_valid_name
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

LOCALES = ("fr", "de", "es-ES", "es-419")


def walk(items: list[dict[str, Any]], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        here = f"{path} {item['name']}".strip()
        found.append((here, item))
        found.extend(walk(item.get("options") or [], here))
    return found


async def test_every_command_option_and_choice_is_localised_within_discords_rules(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        discord_fake.add_guild(name="Vigil Keep")
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake):
            pass
        commands = discord_fake.synced_commands
    assert commands
    problems: list[str] = []
    for path, item in walk(commands):
        names = item.get("name_localizations") or {}
        descriptions = item.get("description_localizations") or {}
        for locale in LOCALES:
            name = names.get(locale, item["name"])
            if not is_valid_name(name):
                problems.append(f"{path}: bad {locale} name {name!r}")
            if item.get("description") and not descriptions.get(locale):
                problems.append(f"{path}: no {locale} description")
            elif len(descriptions.get(locale, "")) > 100:
                problems.append(f"{path}: {locale} description over 100 characters")
        for choice in item.get("choices") or []:
            for locale in LOCALES:
                label = (choice.get("name_localizations") or {}).get(locale)
                if not label or len(label) > 100:
                    problems.append(f"{path}: choice {choice['name']!r} not localised in {locale}")
        # Sibling names stay unique in every language (Discord rejects duplicates).
        for locale in LOCALES:
            siblings = [
                (option.get("name_localizations") or {}).get(locale, option["name"])
                for option in item.get("options") or []
            ]
            if len(siblings) != len(set(siblings)):
                problems.append(f"{path}: duplicate {locale} option names {siblings}")
    assert problems == []
    wvw = next(c for c in commands if c["name"] == "wvw")
    assert wvw["name_localizations"] == {"fr": "mcm", "de": "wvw", "es-ES": "mcm", "es-419": "mcm"}
    assert wvw["description_localizations"]["de"].startswith("Live-WvW-Matches")
    settings = next(c for c in commands if c["name"] == "settings")
    assert settings["name_localizations"]["de"] == "einstellungen"


async def test_locales_the_bot_does_not_speak_get_no_localisation() -> None:
    translator = CatalogueTranslator()
    context = app_commands.TranslationContext(
        app_commands.TranslationContextLocation.command_name, None
    )
    name = app_commands.locale_str("settings")
    assert await translator.translate(name, discord.Locale.japanese, context) is None
    assert await translator.translate(name, discord.Locale.american_english, context) is None
    assert await translator.translate(name, discord.Locale.french, context) == "paramètres"
    assert await translator.translate(name, discord.Locale.latin_american_spanish, context) == (
        "ajustes"
    )


def test_discords_name_rule() -> None:
    assert is_valid_name("mises-à-jour")
    assert is_valid_name("schlüssel")
    assert not is_valid_name("Mises")
    assert not is_valid_name("two words")
    assert not is_valid_name("x" * 33)
    assert not is_valid_name("")
