"""Formatters shared by every embed: durations, WvW map names and team colours."""

from __future__ import annotations

from collections.abc import Mapping

import discord

from services.i18n import N_, tr

# The brand colour of /about, /settings, /account and the squad plan summary.
ARENANET_RED = discord.Colour(0xB4232B)

# Team colours in the API's order (services.gw2.models.COLOURS).
COLOUR_VALUES: Mapping[str, discord.Colour] = {
    "red": discord.Colour(0xD9413C),
    "blue": discord.Colour(0x3B82F6),
    "green": discord.Colour(0x4CAF50),
}
NEUTRAL_COLOUR = discord.Colour(0x9E9E9E)
COLOUR_MARKS: Mapping[str, str] = {"red": "🟥", "blue": "🟦", "green": "🟩"}

# Maps in the order players list them: EBG first, then the borderlands by colour.
MAP_ORDER = ("Center", "RedHome", "BlueHome", "GreenHome")
# Message ids (the game's own map names in each language are in the catalogues).
MAP_NAMES: Mapping[str, str] = {
    "Center": N_("Eternal Battlegrounds"),
    "RedHome": N_("Red Borderlands"),
    "BlueHome": N_("Blue Borderlands"),
    "GreenHome": N_("Green Borderlands"),
}
MAP_SHORT_NAMES: Mapping[str, str] = {
    "Center": N_("EBG"),
    "RedHome": N_("Red BL"),
    "BlueHome": N_("Blue BL"),
    "GreenHome": N_("Green BL"),
}


def map_name(map_type: str, locale: str = "en") -> str:
    """``Eternal Battlegrounds``; an unknown map type is shown as the API names it."""
    name = MAP_NAMES.get(map_type)
    return tr(locale, name) if name is not None else map_type


def map_short_name(map_type: str, locale: str = "en") -> str:
    """``EBG``, ``Red BL``; an unknown map type is shown as the API names it."""
    name = MAP_SHORT_NAMES.get(map_type)
    return tr(locale, name) if name is not None else map_type
