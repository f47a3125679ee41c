"""Keys in command options: the leak guard's detector run on every option of every command.

A GW2 API key typed into a slash-command option (``/wvw match team:<key>``) is a leak like a key
pasted in a channel: the command does not run, nothing is echoed, and the user is warned privately.
Autocomplete requests with a key get no suggestions (a suggestion would echo the text back).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any, cast

import discord

from services.i18n import N_, resolve_locale, tr
from services.secrets import find_gw2_api_keys

log = logging.getLogger(__name__)

KEY_IN_OPTION = N_(
    "That looks like a GW2 API key, so I ignored the command and stored nothing. Never type a key "
    "into a command option. If it is a real key, delete it at "
    "https://account.arena.net/applications and create a new one; to link a key, use /key add "
    "(you paste it in a private message, not in an option)."
)


def option_strings(options: object) -> Iterator[str]:
    """Every string value in an interaction's ``options`` tree (subcommands included)."""
    if not isinstance(options, list):
        return
    for option in options:
        if not isinstance(option, Mapping):
            continue
        value = option.get("value")
        if isinstance(value, str):
            yield value
        yield from option_strings(option.get("options"))


def has_key_in_options(data: Mapping[str, Any] | None) -> bool:
    """Whether any option of the command (or autocomplete) ``data`` holds a key-shaped text."""
    return any(find_gw2_api_keys(text) for text in option_strings((data or {}).get("options")))


async def refuse_key_in_options(interaction: discord.Interaction[Any]) -> bool:
    """Answer an interaction whose options hold a key (privately) and return True; else False."""
    data: Mapping[str, Any] = cast(Mapping[str, Any], interaction.data or {})
    if not has_key_in_options(data):
        return False
    name = data.get("name", "?")
    log.info("An API key was typed into an option of /%s; the command was refused", name)
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            await interaction.response.autocomplete([])
        else:
            locale = resolve_locale(interaction.locale.value)
            await interaction.response.send_message(tr(locale, KEY_IN_OPTION), ephemeral=True)
    except discord.HTTPException as error:
        log.info("Could not answer a refused command (HTTP %s)", error.status)
    return True
