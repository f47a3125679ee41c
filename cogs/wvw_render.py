"""Pure embed renderers for WvW: a service result in, a ``discord.Embed`` out.

Nothing here reads the clock, the network or the bot: callers pass ``now`` and the data's
``fetched_at``, so the same input always gives the same embed (the golden test relies on it, and
the scheduled update posts compare hashes of what they would post).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import discord

from cogs.common.formatting import (
    COLOUR_MARKS,
    COLOUR_VALUES,
    MAP_ORDER,
    NEUTRAL_COLOUR,
    format_duration,
    map_name,
    map_short_name,
)
from services.gw2.models import COLOURS, SCORING_OBJECTIVE_TYPES, Match, Objective
from services.match_analysis import ColourStats, MapStats, MatchSummary
from services.teams import team_name

OWNER_MARKS = {"red": "🟥", "blue": "🟦", "green": "🟩", "neutral": "⬜"}

OBJECTIVE_ORDER = ("Castle", "Keep", "Tower", "Camp")
REGION_NAMES = {"na": "NA", "eu": "EU"}
# Cumulative yaks for upgrade tiers 1, 2 and 3.
TIER_YAKS = (20, 60, 140)
OBJECTIVES_PER_PAGE = 15

STALE_NOTE = "Served from cache, GW2 API unavailable — the numbers may be behind."
FROZEN_NOTE = (
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

    if match_map is None:
        title = f"WvW {match_title(summary.match_id)}"
        if map_type is not None:
            title += f" — {map_name(map_type)} (no data)"
    else:
        title = (
            f"{map_name(match_map.type)} ({map_short_name(match_map.type)}) — "
            f"{match_title(summary.match_id)}"
        )
    embed = discord.Embed(
        title=title,
        description=_clock_line(summary, fetched_at),
        colour=colour,
        timestamp=fetched_at,
    )
    if match_map is None:
        for name in ranking:
            embed.add_field(
                name=_colour_heading(summary.colours[name], focus_colour),
                value=_overview_lines(summary.colours[name]),
                inline=True,
            )
    else:
        for name in _ranked_on_map(match_map):
            embed.add_field(
                name=_colour_heading(match_map.colours[name], focus_colour),
                value=_map_lines(match_map.colours[name], match_map.type),
                inline=True,
            )
        bonuses = _bonus_line(match_map.bonuses)
        if bonuses:
            embed.add_field(name="Bonuses", value=bonuses, inline=False)
    _add_notes(embed, summary, stale=stale)
    embed.set_footer(text=f"Match {summary.match_id} · data as of")
    return embed


def render_matchups(
    matches: Sequence[Match],
    *,
    region: str,
    fetched_at: datetime,
    stale: bool,
    worlds: Mapping[int, str] | None = None,
) -> discord.Embed:
    """Every match of a region in one compact embed: tier, the three teams, VP and score."""
    region_label = REGION_NAMES.get(region, region.upper())
    embed = discord.Embed(
        title=f"WvW matchups — {region_label}",
        colour=NEUTRAL_COLOUR,
        timestamp=fetched_at,
    )
    ordered = sorted((m for m in matches if m.region == region), key=lambda m: _tier(m.id) or 0)
    if not ordered:
        embed.description = f"No {region_label} matches are running right now."
    # One field per match (Discord allows 25) keeps each under the 1,024-character field limit.
    for match in ordered[:25]:
        ranked = sorted(
            COLOURS,
            key=lambda c: (match.victory_points.of(c), match.scores.of(c)),
            reverse=True,
        )
        rows = [
            f"{COLOUR_MARKS[c]} {_team_label(match, c, worlds)} — "
            f"**{match.victory_points.of(c):,}** VP · {match.scores.of(c):,}"
            for c in ranked
        ]
        embed.add_field(name=f"Tier {_tier(match.id) or '?'}", value="\n".join(rows), inline=False)
    if stale:
        embed.add_field(name="⚠ Cached data", value=STALE_NOTE, inline=False)
    embed.set_footer(text="VP = victory points · data as of")
    return embed


@dataclass(frozen=True, slots=True)
class ObjectiveRow:
    """One objective's live state with its static name, ready to show."""

    id: str
    name: str
    type: str
    map_type: str
    owner: str
    last_flipped: datetime | None
    claimed_by: str | None
    yaks_delivered: int
    points_tick: int

    @property
    def tier(self) -> int:
        return upgrade_tier(self.yaks_delivered)


def objective_rows(
    match: Match, names: Mapping[str, Objective], *, map_type: str | None = None
) -> list[ObjectiveRow]:
    """The scoring objectives (SMC, keeps, towers, camps) of one map or all, in players' order:
    by map (EBG first), then type (SMC, keeps, towers, camps), then name."""
    rows: list[ObjectiveRow] = []
    for match_map in match.maps:
        if map_type is not None and match_map.type != map_type:
            continue
        for objective in match_map.objectives:
            if objective.type not in SCORING_OBJECTIVE_TYPES:
                continue
            static = names.get(objective.id)
            rows.append(
                ObjectiveRow(
                    id=objective.id,
                    name=static.name if static is not None and static.name else objective.id,
                    type=objective.type,
                    map_type=match_map.type,
                    owner=objective.owner,
                    last_flipped=objective.last_flipped,
                    claimed_by=objective.claimed_by,
                    yaks_delivered=objective.yaks_delivered,
                    points_tick=objective.points_tick,
                )
            )
    map_rank = {t: i for i, t in enumerate(MAP_ORDER)}
    type_rank = {t: i for i, t in enumerate(OBJECTIVE_ORDER)}
    rows.sort(
        key=lambda r: (map_rank.get(r.map_type, 9), type_rank.get(r.type, 9), r.name.casefold())
    )
    return rows


def page_count(total: int, per_page: int = OBJECTIVES_PER_PAGE) -> int:
    return max(1, -(-total // per_page))


def page_rows(
    rows: Sequence[ObjectiveRow], page: int, per_page: int = OBJECTIVES_PER_PAGE
) -> Sequence[ObjectiveRow]:
    """Rows of ``page`` (1-based; clamped to the pages that exist)."""
    page = min(max(1, page), page_count(len(rows), per_page))
    return rows[(page - 1) * per_page : page * per_page]


def render_objectives(
    rows: Sequence[ObjectiveRow],
    *,
    match_id: str,
    map_type: str | None,
    page: int,
    fetched_at: datetime,
    stale: bool,
    now: datetime,
    guild_tags: Mapping[str, str] | None = None,
    focus_colour: str | None = None,
    per_page: int = OBJECTIVES_PER_PAGE,
) -> discord.Embed:
    """One page of objectives: owner, name, type, held for, claiming guild tag, yaks and tier.

    ``guild_tags`` maps guild ids to tags; a claim whose guild is unknown shows as "claimed".
    """
    pages = page_count(len(rows), per_page)
    page = min(max(1, page), pages)
    where = map_name(map_type) if map_type is not None else "all maps"
    embed = discord.Embed(
        title=f"Objectives — {where} — {match_title(match_id)}",
        colour=COLOUR_VALUES.get(focus_colour or "", NEUTRAL_COLOUR),
        timestamp=fetched_at,
    )
    lines: list[str] = []
    current_map: str | None = None
    for row in page_rows(rows, page, per_page):
        if map_type is None and row.map_type != current_map:
            current_map = row.map_type
            lines.append(f"__{map_short_name(row.map_type)}__")
        lines.append(_objective_line(row, now=now, guild_tags=guild_tags or {}))
    embed.description = "\n".join(lines) if lines else "No objectives on this map."
    if stale:
        embed.add_field(name="⚠ Cached data", value=STALE_NOTE, inline=False)
    embed.set_footer(
        text=f"Page {page} of {pages} · {len(rows)} objectives · T = upgrade tier · data as of"
    )
    return embed


def upgrade_tier(yaks_delivered: int) -> int:
    """Upgrade tier 0–3 from the yaks delivered (20, 60, 140)."""
    return sum(1 for needed in TIER_YAKS if yaks_delivered >= needed)


def _objective_line(row: ObjectiveRow, *, now: datetime, guild_tags: Mapping[str, str]) -> str:
    mark = OWNER_MARKS.get(row.owner.lower(), OWNER_MARKS["neutral"])
    name = discord.utils.escape_markdown(row.name)
    parts = [f"{mark} **{name}** {objective_type_name(row.type, row.map_type)}"]
    if row.last_flipped is not None:
        parts.append(f"held {format_duration(now - row.last_flipped)}")
    if row.claimed_by:
        tag = guild_tags.get(row.claimed_by)
        parts.append(f"[{discord.utils.escape_markdown(tag)}]" if tag else "claimed")
    parts.append(f"T{row.tier} ({row.yaks_delivered} yaks)")
    return " · ".join(parts)


def match_title(match_id: str) -> str:
    """``1-3`` → ``NA Tier 3``."""
    region = "NA" if match_id.startswith("1-") else "EU" if match_id.startswith("2-") else ""
    tier = _tier(match_id)
    if tier is None:
        return f"match {match_id}"
    return f"{region} Tier {tier}".strip()


def objective_type_name(objective_type: str, map_type: str | None = None) -> str:
    """Players' words: the Castle is ``SMC`` (Stonemist Castle)."""
    if objective_type == "Castle":
        return "SMC"
    return objective_type


def format_kdr(kdr: float | None) -> str:
    return "—" if kdr is None else f"{kdr:.2f}"


def held_counts(objectives: Mapping[str, int], map_type: str | None = None) -> str:
    """``1 SMC · 2 Keep · 3 Tower · 4 Camp`` (types held at least once, players' order)."""
    parts = []
    known = [t for t in OBJECTIVE_ORDER if t in objectives]
    others = sorted(t for t in objectives if t not in OBJECTIVE_ORDER)
    for objective_type in known + others:
        count = objectives[objective_type]
        if count:
            parts.append(f"{count} {objective_type_name(objective_type, map_type)}")
    return " · ".join(parts) if parts else "nothing"


def _colour_heading(stats: ColourStats, focus_colour: str | None) -> str:
    star = " ★" if stats.colour == focus_colour else ""
    return f"{COLOUR_MARKS.get(stats.colour, '')} {stats.display_name}{star}"[:256]


def _overview_lines(stats: ColourStats) -> str:
    skirmish = "—" if stats.skirmish_score is None else f"{stats.skirmish_score:,}"
    return "\n".join(
        [
            f"**{stats.victory_points:,}** VP",
            f"Score {stats.score:,}",
            f"Skirmish {skirmish}",
            f"PPT {stats.ppt}",
            f"K/D {stats.kills:,}/{stats.deaths:,} ({format_kdr(stats.kdr)})",
            f"Holds {held_counts(stats.objectives)}",
        ]
    )


def _map_lines(stats: ColourStats, map_type: str) -> str:
    skirmish = "—" if stats.skirmish_score is None else f"{stats.skirmish_score:,}"
    return "\n".join(
        [
            f"Score **{stats.score:,}**",
            f"Skirmish {skirmish}",
            f"PPT {stats.ppt}",
            f"K/D {stats.kills:,}/{stats.deaths:,} ({format_kdr(stats.kdr)})",
            f"Holds {held_counts(stats.objectives, map_type)}",
        ]
    )


def _clock_line(summary: MatchSummary, fetched_at: datetime) -> str:
    """Times as Discord timestamps: readers' clients keep them current, so the text stays true
    for as long as the data does (the answer is reused, and update posts are edited rarely)."""
    clock = summary.skirmish
    at = discord.utils.format_dt
    return (
        f"Skirmish {clock.number}/{clock.total} · ends {at(clock.ends_at, 'R')}\n"
        f"Reset {at(summary.end_time, 'R')} ({at(summary.end_time, 'f')})\n"
        f"Data as of {at(fetched_at, 'T')} ({at(fetched_at, 'R')})"
    )


def _add_notes(embed: discord.Embed, summary: MatchSummary, *, stale: bool) -> None:
    if summary.frozen:
        since = (
            f" No change since {discord.utils.format_dt(summary.last_changed_at, 't')}."
            if summary.last_changed_at is not None
            else ""
        )
        embed.add_field(
            name="⚠ Data looks frozen", value=f"{since} {FROZEN_NOTE}".strip(), inline=False
        )
    if stale:
        embed.add_field(name="⚠ Cached data", value=STALE_NOTE, inline=False)


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


def _team_label(match: Match, colour: str, worlds: Mapping[int, str] | None) -> str:
    primary = match.worlds.of(colour)
    name = team_name(primary, worlds) if primary else None
    return name or (f"Team {primary}" if primary else colour.title())


def _tier(match_id: str) -> int | None:
    _, _, tier = match_id.partition("-")
    return int(tier) if tier.isdigit() else None
