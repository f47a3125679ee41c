"""Pure embed renderer for ``/wvw match`` (and the scheduled update posts): the match embed.

:func:`render_match` draws the overview (the three teams' VP, score, skirmish, PPT, K/D and holds)
or one map's view; :func:`format_kdr` and :func:`held_counts` are its small formatters. The other
WvW embeds live beside it: ``/wvw objectives`` in :mod:`cogs.wvw_objectives_render`, ``/wvw
matchups`` in :mod:`cogs.wvw_matchups_render`; the words they share (match titles, objective
types, the "served from cache" note) in :mod:`cogs.common.formatting`.

Nothing here reads the clock, the network or the bot: callers pass ``now`` and the data's
``fetched_at``, so the same input always gives the same embed (the golden test relies on it, and
the scheduled update posts compare hashes of what they would post).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import discord

from cogs.common.formatting import (
    COLOUR_MARKS,
    COLOUR_VALUES,
    NEUTRAL_COLOUR,
    OBJECTIVE_ORDER,
    OWNER_MARKS,
    add_stale_note,
    map_name,
    map_short_name,
    match_title,
    objective_type_name,
)
from services.gw2.models import COLOURS
from services.i18n import N_, format_number, tr
from services.match_analysis import ColourStats, MapStats, MatchSummary

FROZEN_NOTE = N_(
    "The GW2 API sometimes freezes match data for up to an hour, then catches up. "
    "Check again later."
)


def render_match(
    summary: MatchSummary,
    *,
    fetched_at: datetime,
    stale: bool,
    now: datetime,
    focus_team_id: int | None = None,
    map_type: str | None = None,
    locale: str = "en",
) -> discord.Embed:
    """The match embed: the overview when ``map_type`` is ``None``, else that map's view.

    ``focus_team_id`` marks the asking team (★) and colours the embed in its colour. The text
    does not depend on ``now`` (times are Discord timestamps), so an answer can be reused for as
    long as ``summary`` is current; ``now`` is kept for callers' symmetry with the other renderers.
    """
    focus_colour = summary.colour_of(focus_team_id) if focus_team_id is not None else None
    ranking = summary.ranking()
    colour = COLOUR_VALUES.get(focus_colour or ranking[0], NEUTRAL_COLOUR)
    match_map = _find_map(summary, map_type) if map_type is not None else None

    match_label = match_title(summary.match_id, locale)
    if match_map is None:
        title = tr(locale, "WvW {match}", match=match_label)
        if map_type is not None:
            title = tr(
                locale,
                "WvW {match} — {map} (no data)",
                match=match_label,
                map=map_name(map_type, locale),
            )
    else:
        title = tr(
            locale,
            "{map} ({short}) — {match}",
            map=map_name(match_map.type, locale),
            short=map_short_name(match_map.type, locale),
            match=match_label,
        )
    embed = discord.Embed(
        title=title,
        description=_clock_line(summary, fetched_at, locale),
        colour=colour,
        timestamp=fetched_at,
    )
    if match_map is None:
        for name in ranking:
            embed.add_field(
                name=_colour_heading(summary.colours[name], focus_colour),
                value=_overview_lines(summary.colours[name], locale),
                inline=True,
            )
    else:
        for name in _ranked_on_map(match_map):
            embed.add_field(
                name=_colour_heading(match_map.colours[name], focus_colour),
                value=_map_lines(match_map.colours[name], match_map.type, locale),
                inline=True,
            )
        bonuses = _bonus_line(match_map.bonuses)
        if bonuses:
            embed.add_field(name=tr(locale, "Bonuses"), value=bonuses, inline=False)
    _add_notes(embed, summary, stale=stale, locale=locale)
    embed.set_footer(text=tr(locale, "Match {match_id} · data as of", match_id=summary.match_id))
    return embed


def format_kdr(kdr: float | None, locale: str = "en") -> str:
    return "—" if kdr is None else format_number(locale, kdr, decimals=2)


def held_counts(
    objectives: Mapping[str, int], map_type: str | None = None, locale: str = "en"
) -> str:
    """``1 SMC · 2 Keep · 3 Tower · 4 Camp`` (types held at least once, players' order)."""
    parts = []
    known = [t for t in OBJECTIVE_ORDER if t in objectives]
    others = sorted(t for t in objectives if t not in OBJECTIVE_ORDER)
    for objective_type in known + others:
        count = objectives[objective_type]
        if count:
            parts.append(f"{count} {objective_type_name(objective_type, map_type, locale)}")
    return " · ".join(parts) if parts else tr(locale, "nothing")


def _colour_heading(stats: ColourStats, focus_colour: str | None) -> str:
    star = " ★" if stats.colour == focus_colour else ""
    return f"{COLOUR_MARKS.get(stats.colour, '')} {stats.display_name}{star}"[:256]


def _overview_lines(stats: ColourStats, locale: str = "en") -> str:
    return "\n".join(
        [
            tr(locale, "**{vp}** VP", vp=format_number(locale, stats.victory_points)),
            *_stat_lines(stats, None, locale, bold_score=False),
        ]
    )


def _map_lines(stats: ColourStats, map_type: str, locale: str = "en") -> str:
    return "\n".join(_stat_lines(stats, map_type, locale, bold_score=True))


def _stat_lines(
    stats: ColourStats, map_type: str | None, locale: str, *, bold_score: bool
) -> list[str]:
    skirmish = "—" if stats.skirmish_score is None else format_number(locale, stats.skirmish_score)
    score = format_number(locale, stats.score)
    return [
        tr(locale, "Score {score}", score=f"**{score}**" if bold_score else score),
        tr(locale, "Skirmish {score}", score=skirmish),
        tr(locale, "PPT {ppt}", ppt=stats.ppt),
        tr(
            locale,
            "K/D {kills}/{deaths} ({kdr})",
            kills=format_number(locale, stats.kills),
            deaths=format_number(locale, stats.deaths),
            kdr=format_kdr(stats.kdr, locale),
        ),
        tr(
            locale, "Holds {objectives}", objectives=held_counts(stats.objectives, map_type, locale)
        ),
    ]


def _clock_line(summary: MatchSummary, fetched_at: datetime, locale: str = "en") -> str:
    """Times as Discord timestamps: readers' clients keep them current (in the reader's own
    language), so the text stays true for as long as the data does (the answer is reused, and
    update posts are edited rarely)."""
    clock = summary.skirmish
    at = discord.utils.format_dt
    return tr(
        locale,
        "Skirmish {number}/{total} · ends {ends}\n"
        "Reset {reset} ({reset_at})\n"
        "Data as of {as_of} ({age})",
        number=clock.number,
        total=clock.total,
        ends=at(clock.ends_at, "R"),
        reset=at(summary.end_time, "R"),
        reset_at=at(summary.end_time, "f"),
        as_of=at(fetched_at, "T"),
        age=at(fetched_at, "R"),
    )


def _add_notes(
    embed: discord.Embed, summary: MatchSummary, *, stale: bool, locale: str = "en"
) -> None:
    if summary.frozen:
        value = tr(locale, FROZEN_NOTE)
        if summary.last_changed_at is not None:
            value = tr(
                locale,
                "No change since {time}. {note}",
                time=discord.utils.format_dt(summary.last_changed_at, "t"),
                note=value,
            )
        embed.add_field(name=tr(locale, "⚠ Data looks frozen"), value=value, inline=False)
    if stale:
        add_stale_note(embed, locale)


def _bonus_line(bonuses: Sequence[tuple[str, str]]) -> str:
    parts = []
    for bonus_type, owner in bonuses:
        mark = OWNER_MARKS.get(owner.lower(), "")
        parts.append(f"{bonus_type}: {mark} {owner}".replace("  ", " "))
    return " · ".join(parts)


def _ranked_on_map(match_map: MapStats) -> list[str]:
    return sorted(COLOURS, key=lambda c: match_map.colours[c].score, reverse=True)


def _find_map(summary: MatchSummary, map_type: str) -> MapStats | None:
    return next((m for m in summary.maps if m.type == map_type), None)
