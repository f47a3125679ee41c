"""Pure embed renderer for ``/wvw objectives``: a match's objectives, one page at a time.

:func:`objective_rows` joins the live match with the objectives' static names and sorts them in
players' order; :func:`page_rows` / :func:`page_count` page them; :func:`render_objectives` draws
one page. Nothing here reads the clock, the network or the bot: callers pass ``now`` and the
data's ``fetched_at``, so the same input always gives the same embed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import discord

from cogs.common.formatting import (
    COLOUR_VALUES,
    MAP_ORDER,
    NEUTRAL_COLOUR,
    OBJECTIVE_ORDER,
    OWNER_MARKS,
    add_stale_note,
    map_name,
    map_short_name,
    match_title,
    objective_type_name,
)
from services.gw2.models import SCORING_OBJECTIVE_TYPES, Match, Objective
from services.i18n import format_compact_duration, tr
from services.match_analysis import upgrade_tier

OBJECTIVES_PER_PAGE = 15


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
        add_stale_note(embed, locale)
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
