"""Which language an answer speaks: the user's for private answers, the server's for public ones."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from services.i18n import resolve_locale, server_language

if TYPE_CHECKING:
    from bot.client import GW2Bot

# Public answers read the server's language often (every /wvw); it changes rarely. Other
# processes of a cluster see a change within this many seconds.
LANGUAGE_CACHE_S = 60.0


def user_locale(interaction: discord.Interaction[GW2Bot]) -> str:
    """The asking user's Discord language when we speak it, else English."""
    return resolve_locale(interaction.locale.value)


async def guild_locale(
    bot: GW2Bot, guild: discord.Guild | None, guild_id: int | None = None
) -> str:
    """The server's language (/settings language, else its preferred locale, else English).

    ``guild_id`` serves when the guild is not in the cache (its preferred locale is then unknown).
    """
    wanted = guild.id if guild is not None else guild_id
    if wanted is None:
        return "en"
    preferred = guild.preferred_locale.value if guild is not None else None
    now = bot.services.clock.monotonic()
    cached = bot.guild_languages.get(wanted)
    if cached is not None and cached[0] > now:
        return server_language(cached[1], preferred)
    settings = await bot.services.guild_settings.get(wanted)
    bot.guild_languages[wanted] = (now + LANGUAGE_CACHE_S, settings.language)
    return server_language(settings.language, preferred)


def forget_guild_language(bot: GW2Bot, guild_id: int) -> None:
    """After /settings language: this process answers in the new language at once."""
    bot.guild_languages.pop(guild_id, None)


async def answer_locale(interaction: discord.Interaction[GW2Bot], *, public: bool) -> str:
    """The language of an answer: the server's when everyone sees it, else the user's."""
    if public and interaction.guild is not None:
        return await guild_locale(interaction.client, interaction.guild)
    return user_locale(interaction)
