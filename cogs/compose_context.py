"""The live match as ``/compose``'s AI sees it: teams, per-map PPT, recently flipped objectives.

:func:`plan_team` picks the team a plan is about, :func:`live_match_context` reads its live match
(or says why it is unavailable), and :func:`build_match_context` (pure) turns a match and its
analysis into a :class:`~services.composer.MatchContext`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import discord

from cogs.common.formatting import map_name
from cogs.compose_roster import linked_account
from cogs.team_options import resolve_team_option
from services.composer import MapContext, MatchContext, TeamContext
from services.composer.prompt import Colour
from services.gw2 import GW2APIError
from services.gw2.models import COLOURS as MATCH_COLOURS
from services.gw2.models import Match
from services.i18n import Message
from services.match_analysis import MatchSummary
from services.matches import TeamNotInMatchError

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# An objective flipped this recently counts as "contested" in the AI's match context.
CONTESTED_WINDOW = timedelta(minutes=10)
COLOURS = cast(tuple[Colour, ...], MATCH_COLOURS)
MATCH_BUDGET_S = 2.0


async def plan_team(
    bot: GW2Bot, interaction: discord.Interaction[GW2Bot], text: str | None
) -> int | None:
    """The team option; else, when the AI will use it, the caller's team or the guild's."""
    if text and text.strip():
        return await resolve_team_option(bot, text)
    services = bot.services
    if services.mistral is None:
        return None
    account, _unverified = await linked_account(bot, interaction.user.id, interaction.guild_id)
    if account is not None:
        try:
            wvw = await services.gw2.account_wvw(account.key, budget=MATCH_BUDGET_S)
        except GW2APIError as error:
            log.info("No team from the caller's account (%s)", error.outcome)
        else:
            if wvw.value.team:
                return wvw.value.team
    if interaction.guild_id is not None:
        return (await services.guild_settings.get(interaction.guild_id)).default_team_id
    return None


async def live_match_context(
    bot: GW2Bot, team_id: int | None
) -> tuple[MatchContext | None, Message | None]:
    """The team's live match as the AI sees it, or a note saying why it is unavailable."""
    if not team_id:
        return None, None
    try:
        live = await bot.services.matches.live(
            team_id, budget=MATCH_BUDGET_S, worlds_budget=MATCH_BUDGET_S
        )
    except (GW2APIError, TeamNotInMatchError) as error:
        return None, Message("Live match unavailable: {error}", error=error.as_message())
    context = build_match_context(
        live.match,
        live.summary,
        team_id=team_id,
        now=live.now,
        age_seconds=int(live.age.total_seconds()),
    )
    return context, None


def build_match_context(
    match: Match,
    summary: MatchSummary,
    *,
    team_id: int,
    now: datetime,
    age_seconds: int | None = None,
) -> MatchContext:
    """The live match as the AI sees it: teams, per-map PPT and recently flipped objectives."""
    teams = tuple(
        TeamContext(
            colour=colour,
            name=stats.display_name,
            score=stats.score,
            victory_points=stats.victory_points,
            ppt=stats.ppt,
            kills=stats.kills,
            deaths=stats.deaths,
        )
        for colour in COLOURS
        if (stats := summary.colours.get(colour)) is not None
    )
    map_stats = {m.id: m for m in summary.maps}
    maps: list[MapContext] = []
    for match_map in match.maps:
        stats_of_map = map_stats.get(match_map.id)
        recent = sorted(
            (
                o
                for o in match_map.objectives
                if o.last_flipped is not None and now - o.last_flipped <= CONTESTED_WINDOW
            ),
            key=lambda o: (o.last_flipped or now, o.id),
            reverse=True,
        )
        ppt: dict[Colour, int] = {}
        if stats_of_map is not None:
            for colour in COLOURS:
                if (colour_stats := stats_of_map.colours.get(colour)) is not None:
                    ppt[colour] = colour_stats.ppt
        maps.append(
            MapContext(
                name=map_name(match_map.type),
                ppt=ppt,
                contested_objectives=len(recent),
                recently_flipped=tuple(f"{o.type} {o.id}" for o in recent[:5]),
            )
        )
    our = summary.colour_of(team_id)
    return MatchContext(
        our_colour=our if our in COLOURS else None,
        teams=teams,
        maps=tuple(maps),
        skirmish_ends_in_minutes=max(0, int(summary.skirmish.time_left.total_seconds() // 60)),
        data_age_seconds=age_seconds,
    )
