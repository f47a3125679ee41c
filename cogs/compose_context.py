"""The live match as ``/compose``'s AI sees it: teams, per-map PPT, recently flipped objectives.

Pure: a match and its analysis in, a :class:`~services.composer.MatchContext` out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from cogs.common.formatting import map_name
from services.composer import MapContext, MatchContext, TeamContext
from services.composer.prompt import Colour
from services.gw2.models import COLOURS as MATCH_COLOURS
from services.gw2.models import Match
from services.match_analysis import MatchSummary

# An objective flipped this recently counts as "contested" in the AI's match context.
CONTESTED_WINDOW = timedelta(minutes=10)
COLOURS = cast(tuple[Colour, ...], MATCH_COLOURS)


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
