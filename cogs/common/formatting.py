"""Formatters shared by every embed: WvW map names, team colours, match titles, objective types
and the "served from cache" note."""

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
# Team colour names (message ids), for a team the API gives no name for.
COLOUR_NAMES: Mapping[str, str] = {"red": N_("Red"), "blue": N_("Blue"), "green": N_("Green")}

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


# Objective owners (the API's "Red"/"Blue"/"Green"/"Neutral", lower-cased) as marks.
OWNER_MARKS: Mapping[str, str] = {"red": "🟥", "blue": "🟦", "green": "🟩", "neutral": "⬜"}

OBJECTIVE_ORDER = ("Castle", "Keep", "Tower", "Camp")
# Players' words for objective types, as message ids.
OBJECTIVE_TYPE_NAMES: Mapping[str, str] = {
    "Castle": N_("SMC"),
    "Keep": N_("Keep"),
    "Tower": N_("Tower"),
    "Camp": N_("Camp"),
}

STALE_NOTE = N_("Served from cache, GW2 API unavailable — the numbers may be behind.")


def match_tier(match_id: str) -> int | None:
    """``2-3`` → ``3``; ``None`` for an id without a numeric tier."""
    _, _, tier = match_id.partition("-")
    return int(tier) if tier.isdigit() else None


def match_title(match_id: str, locale: str = "en") -> str:
    """``1-3`` → ``NA Tier 3``."""
    region = "NA" if match_id.startswith("1-") else "EU" if match_id.startswith("2-") else ""
    tier = match_tier(match_id)
    if tier is None:
        return tr(locale, "match {match_id}", match_id=match_id)
    return tr(locale, "{region} Tier {tier}", region=region, tier=tier).strip()


def objective_type_name(
    objective_type: str, map_type: str | None = None, locale: str = "en"
) -> str:
    """Players' words: the Castle is ``SMC`` (Stonemist Castle)."""
    name = OBJECTIVE_TYPE_NAMES.get(objective_type)
    return tr(locale, name) if name is not None else objective_type


def add_stale_note(embed: discord.Embed, locale: str = "en") -> None:
    """The "served from cache" field of an embed built from stale GW2 data."""
    embed.add_field(name=tr(locale, "⚠ Cached data"), value=tr(locale, STALE_NOTE), inline=False)
