"""The bot in French, German and Spanish, end to end through the fake Discord and GW2 API.

Public answers and scheduled posts speak the server's language (``/settings language``, else its
Discord locale); private answers the user's. Each test also checks that no English word with a
translation leaks into what the players see (the fake Discord validates every body's limits).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import Application
from cogs.updates import Updates
from services.clock import ManualClock
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.gw2_api import OBJECTIVE_NAMES_I18N, FakeGW2API
from tests.harness import running_bot

EXTENSIONS = ("cogs.about", "cogs.settings", "cogs.updates", "cogs.wvw")
TEAM = "12005"
# English words and phrases the answers use that have a translation in every language.
ENGLISH_WORDS = (
    "Skirmish",
    "Reset in",
    "Data as of",
    "Holds",
    "victory points",
    "Overview",
    "Objectives",
    "held",
    "claimed",
    "yaks",
    "Cached data",
    "Borderlands",
    "Eternal Battlegrounds",
    "Which team",
)
EXPECTED = {
    "fr": {"title": "McM EU Niveau", "clock": "Escarmouche", "overview": "Vue d'ensemble"},
    "de": {"title": "WvW EU Stufe", "clock": "Gefecht", "overview": "Übersicht"},
    "es-ES": {"title": "McM EU Nivel", "clock": "Escaramuza", "overview": "Resumen"},
}
LANG = {"fr": "fr", "de": "de", "es-ES": "es"}


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    clock: ManualClock
    guild: FakeGuild
    admin: FakeMember
    tmp_path: Path

    @asynccontextmanager
    async def bot(self) -> AsyncIterator[Application]:
        async with running_bot(
            self.discord, self.tmp_path, gw2=self.gw2, clock=self.clock, extensions=EXTENSIONS
        ) as app:
            yield app

    async def ask(
        self, command: str, options: dict[str, Any] | None = None, *, locale: str = "en-US"
    ) -> FakeMessage:
        handle = await self.discord.slash(self.admin, command, options, locale=locale)
        return await handle.wait_final_message()


@asynccontextmanager
async def world(tmp_path: Path, server_locale: str) -> AsyncIterator[World]:
    clock = ManualClock()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        guild.preferred_locale = server_locale
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        yield World(discord_fake, gw2_fake, clock, guild, admin, tmp_path)


def visible_text(message: FakeMessage) -> str:
    """Everything a player reads: content, embed texts and button labels."""
    parts = [message.content or ""]
    if message.embed is not None:
        embed = message.embed
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [embed.get("footer", {}).get("text", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
    for row in message.components:
        parts += [c.get("label", "") for c in row["components"]]
    return "\n".join(p for p in parts if p)


def english_leaks(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_wvw_match_speaks_the_servers_language(tmp_path: Path, locale: str) -> None:
    async with world(tmp_path, locale) as w, w.bot():
        message = await w.ask("wvw match", {"team": TEAM}, locale=locale)
        click = await w.discord.click(w.admin, message, "wvw:m:12005:ebg", locale=locale)
        await click.wait_response()
        ebg = visible_text(message)
    assert not message.ephemeral
    expected = EXPECTED[locale]
    text = visible_text(message)
    assert expected["overview"] in text
    assert english_leaks(text) == []
    assert english_leaks(ebg) == []
    assert message.embed is not None
    assert {
        "fr": "Champs de bataille éternels",
        "de": "Ewige Schlachtfelder",
        "es-ES": ("Campos de Batalla Eternos"),
    }[locale] in message.embed["title"]


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_wvw_match_overview_in_each_language(tmp_path: Path, locale: str) -> None:
    async with world(tmp_path, locale) as w, w.bot():
        message = await w.ask("wvw match", {"team": TEAM}, locale=locale)
    assert message.embed is not None
    expected = EXPECTED[locale]
    assert message.embed["title"].startswith(expected["title"])
    assert expected["clock"] in message.embed["description"]
    assert english_leaks(visible_text(message)) == []


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_objective_names_come_from_the_gw2_api_in_the_servers_language(
    tmp_path: Path, locale: str
) -> None:
    async with world(tmp_path, locale) as w, w.bot():
        message = await w.ask("wvw objectives", {"team": TEAM, "map": "Center"}, locale=locale)
        assert w.gw2.count("/v2/wvw/objectives") == 1
    text = visible_text(message)
    index = {"fr": 0, "de": 1, "es-ES": 2}[locale]
    assert OBJECTIVE_NAMES_I18N["Stonemist Castle"][index] in text
    assert "Stonemist" not in text
    assert english_leaks(text) == []


async def test_the_gw2_client_caches_objective_names_per_language(tmp_path: Path) -> None:
    async with world(tmp_path, "fr") as w, w.bot() as app:
        assert app.bot is not None
        gw2 = app.bot.services.gw2
        french = await gw2.objectives(lang="fr")
        await gw2.objectives(lang="fr")
        german = await gw2.objectives(lang="de")
        english = await gw2.objectives(lang="en")
        assert w.gw2.count("/v2/wvw/objectives") == 3
    names = {o.id: o.name for o in french.value}
    assert names["38-9"] == "Château Brumepierre"
    assert {o.id: o.name for o in german.value}["38-9"] == "Schloss Steinnebel"
    assert {o.id: o.name for o in english.value}["38-9"] == "Stonemist Castle"


async def test_private_errors_use_the_users_language_in_an_english_server(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "en-US") as w, w.bot():
        german = await w.ask("wvw match", locale="de")
        english = await w.ask("wvw match", locale="pt-BR")  # not spoken: English
    assert german.ephemeral
    assert german.content.startswith("Welches Team?")
    assert english_leaks(german.content) == []
    assert english.content.startswith("Which team?")


async def test_settings_language_overrides_the_servers_discord_locale(tmp_path: Path) -> None:
    async with world(tmp_path, "fr") as w, w.bot():
        before = await w.ask("wvw match", {"team": TEAM})
        reply = await w.ask("settings language", {"language": "de"}, locale="fr")
        after = await w.ask("wvw match", {"team": TEAM})
        shown = await w.ask("settings show", locale="es-419")
        back = await w.ask("settings language", {"language": "auto"})
        french_again = await w.ask("wvw match", {"team": TEAM})
        english = await w.ask("settings language", {"language": "en"})
        in_english = await w.ask("wvw match", {"team": TEAM})
    assert before.embed is not None
    assert before.embed["title"].startswith("McM")
    assert reply.ephemeral
    assert "Deutsch" in reply.content
    assert after.embed is not None
    assert after.embed["title"].startswith("WvW EU Stufe")
    assert shown.embed is not None
    assert shown.embed["title"].startswith("Ajustes")
    assert "Deutsch" in json.dumps(shown.embed, ensure_ascii=False)
    assert "Français" in back.content
    assert french_again.embed is not None
    assert french_again.embed["title"].startswith("McM")
    assert "English" in english.content
    assert in_english.embed is not None
    assert in_english.embed["title"].startswith("WvW EU Tier")


@pytest.mark.parametrize("locale", ["fr", "de", "es-ES"])
async def test_a_scheduled_post_speaks_the_servers_language(tmp_path: Path, locale: str) -> None:
    async with world(tmp_path, locale) as w:
        channel = w.discord.add_text_channel(w.guild, "wvw-updates")
        async with w.bot() as app:
            await w.ask("settings updates", {"channel": channel, "team": TEAM}, locale=locale)
            post = await w.discord.wait_for_message(channel)
            assert app.bot is not None
            cog = app.bot.get_cog("Updates")
            assert type(cog).__name__ == Updates.__name__
    assert post.embed is not None
    assert post.embed["title"].startswith(EXPECTED[locale]["title"])
    assert EXPECTED[locale]["clock"] in post.embed["description"]
    assert english_leaks(visible_text(post)) == []


async def test_a_language_change_reaches_an_edited_post_without_new_match_data(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, "en-US") as w:
        channel = w.discord.add_text_channel(w.guild, "wvw-updates")
        async with w.bot() as app:
            assert app.bot is not None
            cog = app.bot.get_cog("Updates")
            assert type(cog).__name__ == Updates.__name__
            updates = cast(Updates, cog)
            await w.ask("settings updates", {"channel": channel, "team": TEAM, "mode": "edit"})
            post = await w.discord.wait_for_message(channel)
            assert post.embed is not None
            assert post.embed["title"].startswith("WvW EU Tier")
            w.clock.advance(15 * 60)
            await updates.run_cycle()
            assert post.history == []  # same data, same language: left alone

            await w.ask("settings language", {"language": "fr"})
            w.clock.advance(15 * 60)
            await updates.run_cycle()
            posted = [m for m in w.discord.messages_in(channel) if m.source == "channel"]
    assert [m.id for m in posted] == [post.id]
    assert len(post.history) == 1  # edited once, in French
    assert post.embed is not None
    assert post.embed["title"].startswith(EXPECTED["fr"]["title"])
    assert EXPECTED["fr"]["clock"] in post.embed["description"]
    assert english_leaks(visible_text(post)) == []


@pytest.mark.parametrize("locale", ["de", "fr", "es-ES"])
async def test_objectives_of_all_maps_stay_within_discords_limits(
    tmp_path: Path, locale: str
) -> None:
    async with world(tmp_path, locale) as w, w.bot():
        message = await w.ask("wvw objectives", {"team": TEAM}, locale=locale)
        assert w.discord.errors == []
    assert message.embed is not None
    assert len(message.embed["description"]) <= 4096
    assert english_leaks(visible_text(message)) == []


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_about_speaks_the_users_language(tmp_path: Path, locale: str) -> None:
    async with world(tmp_path, "en-US") as w, w.bot():
        message = await w.ask("about", locale=locale)
    assert message.ephemeral
    assert message.embed is not None
    names = {f["name"] for f in message.embed["fields"]}
    expected = {
        "fr": {"Disponibilité", "Serveurs", "Aide"},
        "de": {"Laufzeit", "Server", "Hilfe"},
    }[locale]
    assert expected <= names
    text = visible_text(message)
    assert {"fr": "en ligne (build", "de": "online (Build"}[locale] in text
    assert {"fr": "non configuré", "de": "nicht eingerichtet"}[locale] in text
    assert not {"Uptime", "Servers", "Help"} & names
    assert "Live World-vs-World" not in text
