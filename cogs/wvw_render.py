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
    map_name,
    map_short_name,
)
from services.gw2.models import COLOURS, SCORING_OBJECTIVE_TYPES, Match, Objective
from services.i18n import N_, format_compact_duration, format_number, tr
from services.match_analysis import ColourStats, MapStats, MatchSummary, upgrade_tier
from services.teams import team_name

COLOUR_NAMES = {"red": N_("Red"), "blue": N_("Blue"), "green": N_("Green")}
OWNER_MARKS = {"red": "🟥", "blue": "🟦", "green": "🟩", "neutral": "⬜"}

OBJECTIVE_ORDER = ("Castle", "Keep", "Tower", "Camp")
REGION_NAMES = {"na": "NA", "eu": "EU"}
# Players' words for objective types, as message ids.
OBJECTIVE_TYPE_NAMES = {
    "Castle": N_("SMC"),
    "Keep": N_("Keep"),
    "Tower": N_("Tower"),
    "Camp": N_("Camp"),
}
OBJECTIVES_PER_PAGE = 15

STALE_NOTE = N_("Served from cache, GW2 API unavailable — the numbers may be behind.")
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
    ordered = sorted((m for m in matches if m.region == region), key=lambda m: _tier(m.id) or 0)
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
            name=tr(locale, "Tier {tier}", tier=_tier(match.id) or "?"),
            value="\n".join(rows),
            inline=False,
        )
    if stale:
        embed.add_field(
            name=tr(locale, "⚠ Cached data"), value=tr(locale, STALE_NOTE), inline=False
        )
    embed.set_footer(text=tr(locale, "VP = victory points · data as of"))
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
    locale: str = "en",
) -> discord.Embed:
    """One page of objectives: owner, name, type, held for, claiming guild tag, yaks and tier.

    ``guild_tags`` maps guild ids to tags; a claim whose guild is unknown shows as "claimed".
    """
    pages = page_count(len(rows), per_page)
    page = min(max(1, page), pages)
    where = map_name(map_type, locale) if map_type is not None else tr(locale, "all maps")
    embed = discord.Embed(
        title=tr(
            locale,
            "Objectives — {where} — {match}",
            where=where,
            match=match_title(match_id, locale),
        ),
        colour=COLOUR_VALUES.get(focus_colour or "", NEUTRAL_COLOUR),
        timestamp=fetched_at,
    )
    lines: list[str] = []
    current_map: str | None = None
    for row in page_rows(rows, page, per_page):
        if map_type is None and row.map_type != current_map:
            current_map = row.map_type
            lines.append(f"__{map_short_name(row.map_type, locale)}__")
        lines.append(_objective_line(row, now=now, guild_tags=guild_tags or {}, locale=locale))
    embed.description = "\n".join(lines) if lines else tr(locale, "No objectives on this map.")
    if stale:
        embed.add_field(
            name=tr(locale, "⚠ Cached data"), value=tr(locale, STALE_NOTE), inline=False
        )
    embed.set_footer(
        text=tr(
            locale,
            "Page {page} of {pages} · {count} objectives · T = upgrade tier · data as of",
            page=page,
            pages=pages,
            count=len(rows),
        )
    )
    return embed


def _objective_line(
    row: ObjectiveRow, *, now: datetime, guild_tags: Mapping[str, str], locale: str = "en"
) -> str:
    mark = OWNER_MARKS.get(row.owner.lower(), OWNER_MARKS["neutral"])
    name = discord.utils.escape_markdown(row.name)
    parts = [f"{mark} **{name}** {objective_type_name(row.type, row.map_type, locale)}"]
    if row.last_flipped is not None:
        parts.append(
            tr(
                locale,
                "held {duration}",
                duration=format_compact_duration(locale, now - row.last_flipped),
            )
        )
    if row.claimed_by:
        tag = guild_tags.get(row.claimed_by)
        parts.append(f"[{discord.utils.escape_markdown(tag)}]" if tag else tr(locale, "claimed"))
    parts.append(tr(locale, "T{tier} ({yaks} yaks)", tier=row.tier, yaks=row.yaks_delivered))
    return " · ".join(parts)


def match_title(match_id: str, locale: str = "en") -> str:
    """``1-3`` → ``NA Tier 3``."""
    region = "NA" if match_id.startswith("1-") else "EU" if match_id.startswith("2-") else ""
    tier = _tier(match_id)
    if tier is None:
        return tr(locale, "match {match_id}", match_id=match_id)
    return tr(locale, "{region} Tier {tier}", region=region, tier=tier).strip()


def objective_type_name(
    objective_type: str, map_type: str | None = None, locale: str = "en"
) -> str:
    """Players' words: the Castle is ``SMC`` (Stonemist Castle)."""
    name = OBJECTIVE_TYPE_NAMES.get(objective_type)
    return tr(locale, name) if name is not None else objective_type


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
        embed.add_field(
            name=tr(locale, "⚠ Cached data"), value=tr(locale, STALE_NOTE), inline=False
        )


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


def _tier(match_id: str) -> int | None:
    _, _, tier = match_id.partition("-")
    return int(tier) if tier.isdigit() else None
