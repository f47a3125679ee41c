"""Pure embed renderer for ``/wvw matchups``: every match of a region in one compact embed.

Nothing here reads the clock, the network or the bot: the same matches give the same embed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from cogs.common.formatting import (
    COLOUR_MARKS,
    COLOUR_NAMES,
    NEUTRAL_COLOUR,
    add_stale_note,
    match_tier,
)
from services.gw2.models import COLOURS, Match
from services.i18n import format_number, tr
from services.teams import team_name

REGION_NAMES = {"na": "NA", "eu": "EU"}


def render_matchups(
    matches: Sequence[Match],
    *,
    region: str,
    fetched_at: datetime,
    stale: bool,
    worlds: Mapping[int, str] | None = None,
    locale: str = "en",
) -> discord.Embed:
    """Every match of a region in one compact embed: tier, the three teams, VP and score."""
    region_label = REGION_NAMES.get(region, region.upper())
    embed = discord.Embed(
        title=tr(locale, "WvW matchups — {region}", region=region_label),
        colour=NEUTRAL_COLOUR,
        timestamp=fetched_at,
    )
    ordered = sorted(
        (m for m in matches if m.region == region), key=lambda m: match_tier(m.id) or 0
    )
    if not ordered:
        embed.description = tr(
            locale, "No {region} matches are running right now.", region=region_label
        )
    # One field per match (Discord allows 25) keeps each under the 1,024-character field limit.
    for match in ordered[:25]:
        ranked = sorted(
            COLOURS,
            key=lambda c: (match.victory_points.of(c), match.scores.of(c)),
            reverse=True,
        )
        rows = [
            tr(
                locale,
                "{mark} {team} — **{vp}** VP · {score}",
                mark=COLOUR_MARKS[c],
                team=_team_label(match, c, worlds, locale),
                vp=format_number(locale, match.victory_points.of(c)),
                score=format_number(locale, match.scores.of(c)),
            )
            for c in ranked
        ]
        embed.add_field(
            name=tr(locale, "Tier {tier}", tier=match_tier(match.id) or "?"),
            value="\n".join(rows),
            inline=False,
        )
    if stale:
        add_stale_note(embed, locale)
    embed.set_footer(text=tr(locale, "VP = victory points · data as of"))
    return embed


def _team_label(
    match: Match, colour: str, worlds: Mapping[int, str] | None, locale: str = "en"
) -> str:
    primary = match.worlds.of(colour)
    name = team_name(primary, worlds) if primary else None
    if name:
        return name
    if primary:
        return tr(locale, "Team {team_id}", team_id=primary)
    colour_name = COLOUR_NAMES.get(colour)
    return tr(locale, colour_name) if colour_name is not None else colour.title()
