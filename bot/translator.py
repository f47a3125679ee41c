"""Localised command names and descriptions for Discord, from the bot's gettext catalogues.

discord.py asks the tree's translator for every command, group, option and choice string in
every Discord locale when it builds the sync payload; we answer for the locales we speak
(``fr``, ``de``, ``es-ES`` and ``es-419``) and leave the rest to the English default. Names are
looked up under the ``command-name`` context (a name's translation must be lower case, 1–32
characters, no spaces); descriptions and choice labels under none.
"""

from __future__ import annotations

import re
from typing import Final

import discord
from discord import app_commands

from services.i18n import DEFAULT_LOCALE, catalogues, resolve_locale, tr_name

# Discord's rule for command and option names (CHAT_INPUT), restricted to lower case.
NAME_PATTERN: Final = re.compile(r"^[-_'\w]{1,32}$")
TRANSLATED_LOCALES: Final = frozenset(
    {
        discord.Locale.french,
        discord.Locale.german,
        discord.Locale.spain_spanish,
        discord.Locale.latin_american_spanish,
    }
)
_NAME_LOCATIONS: Final = frozenset(
    {
        app_commands.TranslationContextLocation.command_name,
        app_commands.TranslationContextLocation.group_name,
        app_commands.TranslationContextLocation.parameter_name,
    }
)


class CatalogueTranslator(app_commands.Translator):
    """An ``app_commands.Translator`` over ``services.i18n``'s catalogues."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        if locale not in TRANSLATED_LOCALES:
            return None
        language = resolve_locale(locale.value)
        if language == DEFAULT_LOCALE:
            return None
        source = string.message
        if context.location in _NAME_LOCATIONS:
            translated = tr_name(language, source)
            return translated if is_valid_name(translated) else None
        # A missing translation is the English text (and counted as missing).
        return catalogues().translate(language, source, context=None)


def is_valid_name(name: str) -> bool:
    """Discord's rule for a slash command or option name: lower case, 1–32, no spaces."""
    return bool(NAME_PATTERN.fullmatch(name)) and name == name.lower()
