"""``/wvw``: the live match of a team, its objectives, and every matchup of a region.

The match and objectives messages carry buttons whose custom ids hold everything a click needs
(``wvw:m:<team>:<view>``, ``wvw:o:<team>:<map>:<page>``); they are :class:`discord.ui.DynamicItem`
classes registered in ``cog_load``, so buttons keep working on messages posted before a restart.

Answers are sent at once when the data is cached (the common case: match data lives 30 s and is
shared by every team of the match). When a GW2 call takes longer than ``defer_after`` the
interaction is deferred first, so Discord's 3-second window is never missed; deferring on every
call would cost an extra round trip to Discord on the fast path for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from services.gw2 import (
    GW2APIError,
    NotFoundError,
)
from services.i18n import N_, tr
from services.teams import region_of

from .common.answering import DEFER_AFTER, Responder, cog_of, component_errors
from .common.formatting import MAP_ORDER, map_short_name
from .common.locale import answer_locale, user_locale
from .common.sharing import SharedView, frozen_embed
from .team_options import team_autocomplete
from .wvw_matchups_render import render_matchups
from .wvw_objectives_render import objective_rows, page_count, page_rows, render_objectives
from .wvw_render import render_match
from .wvw_team import choose_team, private_note

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# A rendered answer is reused without asking the match service again for this long (seconds): new
# data shows at most this much later, and a popular match's hot path skips the lookup.
ANSWER_RECHECK_S = 1.0
# Answers are in English today; the language is part of the answer cache's key already.
DEFAULT_LANGUAGE = "en"
COG_OFF = N_("WvW commands are restarting — try again in a few seconds.")
GUILD_TAG_BUDGET = 2.0
# Claiming guilds the API does not know (deleted guilds): not asked again for an hour.
UNKNOWN_GUILD_SECONDS = 3600.0

MAP_CHOICES = [
    app_commands.Choice(name="Eternal Battlegrounds (EBG)", value="Center"),
    app_commands.Choice(name="Red Borderlands (Red BL)", value="RedHome"),
    app_commands.Choice(name="Blue Borderlands (Blue BL)", value="BlueHome"),
    app_commands.Choice(name="Green Borderlands (Green BL)", value="GreenHome"),
]
REGION_CHOICES = [
    app_commands.Choice(name="NA (North America)", value="na"),
    app_commands.Choice(name="EU (Europe)", value="eu"),
]
# Button ids: "ov" for the overview, else the map (short so custom ids stay tiny).
VIEW_KEYS: Mapping[str, str | None] = {
    "ov": None,
    "ebg": "Center",
    "red": "RedHome",
    "blue": "BlueHome",
    "green": "GreenHome",
}
OBJECTIVE_MAP_KEYS: Mapping[str, str | None] = {"all": None, **{m: m for m in MAP_ORDER}}


@dataclass(frozen=True, slots=True)
class _Answer:
    """A rendered match answer, the data version it shows, and when that was last checked."""

    version: Hashable
    embed: discord.Embed
    view: discord.ui.View
    checked_at: float


class WvW(commands.GroupCog, group_name="wvw"):
    """Live World-vs-World matches: scores, maps, objectives and matchups."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.defer_after = DEFER_AFTER
        self._unknown_guilds: dict[str, float] = {}
        # The latest rendered match answer per (team, map, language), with the data it shows.
        self._answers: dict[tuple[int, str | None, str], _Answer] = {}
        self._views: dict[tuple[int, str | None, str], discord.ui.View] = {}
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(MatchViewButton, ObjectivesPageButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(MatchViewButton, ObjectivesPageButton)

    # ------------------------------------------------------------------------------- commands
    @app_commands.command(name="match")
    @app_commands.describe(team="A team name or id (default: your team, else this server's)")
    @app_commands.autocomplete(team=team_autocomplete)
    async def match(
        self, interaction: discord.Interaction[GW2Bot], team: str | None = None
    ) -> None:
        """The live match of a team: scores, victory points, PPT, kills and the skirmish clock."""
        async with Responder(interaction, after=self.defer_after) as responder:
            chosen = await choose_team(self.bot, interaction, team)
            locale = await answer_locale(interaction, public=True)
            embed, view = await self.match_answer(chosen.team_id, None, locale)
            await responder.send(
                embed=embed, view=view, private_note=private_note(chosen, user_locale(interaction))
            )

    @app_commands.command(name="objectives")
    @app_commands.describe(
        team="A team name or id (default: your team, else this server's)",
        map="Only this map (default: all four)",
    )
    @app_commands.autocomplete(team=team_autocomplete)
    @app_commands.choices(map=MAP_CHOICES)
    async def objectives(
        self,
        interaction: discord.Interaction[GW2Bot],
        team: str | None = None,
        map: app_commands.Choice[str] | None = None,
    ) -> None:
        """Who holds each keep, tower and camp, for how long, claimed by which guild."""
        async with Responder(interaction, after=self.defer_after) as responder:
            chosen = await choose_team(self.bot, interaction, team)
            map_type = map.value if map is not None else None
            locale = await answer_locale(interaction, public=True)
            embed, view = await self.objectives_page(chosen.team_id, map_type, 1, locale)
            await responder.send(
                embed=embed, view=view, private_note=private_note(chosen, user_locale(interaction))
            )

    @app_commands.command(name="matchups")
    @app_commands.describe(region="NA or EU (default: this server's region, else NA)")
    @app_commands.choices(region=REGION_CHOICES)
    async def matchups(
        self,
        interaction: discord.Interaction[GW2Bot],
        region: app_commands.Choice[str] | None = None,
    ) -> None:
        """Every current match of a region: tiers, teams, victory points and scores."""
        async with Responder(interaction, after=self.defer_after) as responder:
            chosen_region = (
                region.value if region is not None else await self._guild_region(interaction)
            )
            matches = await self.bot.services.gw2.matches_all()
            worlds = await self.bot.services.matches.worlds_for(matches.value)
            embed = render_matchups(
                matches.value,
                region=chosen_region,
                fetched_at=matches.fetched_at,
                stale=matches.stale,
                worlds=worlds,
                locale=await answer_locale(interaction, public=True),
            )
            await responder.send(embed=embed)

    async def match_answer(
        self, team_id: int, map_type: str | None, locale: str = DEFAULT_LANGUAGE
    ) -> tuple[discord.Embed, discord.ui.View]:
        """The match message (overview or one map) and its buttons.

        The rendered answer is reused while the data behind it is the same: per (match, team,
        map, language) and data version (a new fetch, stale or not, the skirmish, the frozen
        flag). Times in it are Discord timestamps, which readers' clients keep current, so an
        answer does not age. A popular match is asked for many times a second around raid time;
        its answer is serialised once (:mod:`cogs.common.sharing`). The data version is checked
        at most once per ``ANSWER_RECHECK_S`` per answer.
        """
        key = (team_id, map_type, locale)
        recent = self._answers.get(key)
        checked_at = self.bot.services.clock.monotonic()
        if recent is not None and checked_at - recent.checked_at < ANSWER_RECHECK_S:
            return recent.embed, recent.view
        live = await self.bot.services.matches.live(team_id)
        summary = live.summary
        version = (live.data_version, summary.skirmish.number, summary.frozen)
        if recent is not None and recent.version == version:
            embed = recent.embed
        else:
            embed = frozen_embed(
                render_match(
                    summary,
                    fetched_at=live.fetched_at,
                    stale=live.stale,
                    now=live.now,
                    focus_team_id=team_id,
                    map_type=map_type,
                    locale=locale,
                )
            )
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = match_view(team_id, map_type, locale)
        self._answers[key] = _Answer(version, embed, view, checked_at)
        return embed, view

    async def objectives_page(
        self, team_id: int, map_type: str | None, page: int, locale: str = "en"
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        """One page of a team's objectives, with its page buttons."""
        live = await self.bot.services.matches.live(team_id)
        names = await self.bot.services.gw2.objectives(lang=locale)
        rows = objective_rows(live.match, {o.id: o for o in names.value}, map_type=map_type)
        pages = page_count(len(rows))
        page = min(max(1, page), pages)
        tags = await self._guild_tags(
            {row.claimed_by for row in page_rows(rows, page) if row.claimed_by}
        )
        embed = render_objectives(
            rows,
            match_id=live.summary.match_id,
            map_type=map_type,
            page=page,
            fetched_at=live.fetched_at,
            stale=live.stale or names.stale,
            now=live.now,
            guild_tags=tags,
            focus_colour=live.summary.colour_of(team_id),
            locale=locale,
        )
        return embed, objectives_view(team_id, map_type, page, pages, locale)

    # ------------------------------------------------------------------------------- helpers
    async def _guild_tags(self, guild_ids: set[str]) -> dict[str, str]:
        """Tags of claiming guilds (``/v2/guild/{id}``, cached an hour); unknown ones left out."""
        services = self.bot.services
        now = services.clock.monotonic()
        ordered = sorted(g for g in guild_ids if self._unknown_guilds.get(g, 0.0) <= now)
        if not ordered:
            return {}
        gw2 = services.gw2
        results = await asyncio.gather(
            *(gw2.guild(guild_id, budget=GUILD_TAG_BUDGET) for guild_id in ordered),
            return_exceptions=True,
        )
        tags: dict[str, str] = {}
        for guild_id, result in zip(ordered, results, strict=True):
            if isinstance(result, NotFoundError):
                self._unknown_guilds[guild_id] = now + UNKNOWN_GUILD_SECONDS
                continue
            if isinstance(result, GW2APIError):
                continue
            if isinstance(result, BaseException):
                raise result
            if result.value.tag:
                tags[guild_id] = result.value.tag
        return tags

    async def _guild_region(self, interaction: discord.Interaction[GW2Bot]) -> str:
        if interaction.guild_id is not None:
            settings = await self.bot.services.guild_settings.get(interaction.guild_id)
            if settings.default_team_id is not None:
                return region_of(settings.default_team_id) or "na"
        return "na"


# ----------------------------------------------------------------------------------- views
def match_view(team_id: int, map_type: str | None, locale: str = "en") -> discord.ui.View:
    """Overview / EBG / Red BL / Blue BL / Green BL; the shown one is highlighted (a refresh)."""
    view = SharedView()
    for key, target in VIEW_KEYS.items():
        view.add_item(MatchViewButton(team_id, key, current=target == map_type, locale=locale))
    return view.freeze()


def objectives_view(
    team_id: int, map_type: str | None, page: int, pages: int, locale: str = "en"
) -> discord.ui.View | None:
    """Previous / next page buttons (none when everything fits one page)."""
    if pages <= 1:
        return None
    view = discord.ui.View(timeout=None)
    previous, following = tr(locale, "◀ Previous"), tr(locale, "Next ▶")
    view.add_item(ObjectivesPageButton(team_id, map_type, max(1, page - 1), previous, page > 1))
    view.add_item(
        ObjectivesPageButton(team_id, map_type, min(pages, page + 1), following, page < pages)
    )
    return view


class MatchViewButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"wvw:m:(?P<team>\d{1,6}):(?P<view>ov|ebg|red|blue|green)",
):
    """Switch a match message between the overview and one map."""

    def __init__(
        self, team_id: int, view_key: str, *, current: bool = False, locale: str = "en"
    ) -> None:
        map_type = VIEW_KEYS[view_key]
        super().__init__(
            discord.ui.Button(
                label=tr(locale, "Overview")
                if map_type is None
                else map_short_name(map_type, locale),
                style=discord.ButtonStyle.primary if current else discord.ButtonStyle.secondary,
                custom_id=f"wvw:m:{team_id}:{view_key}",
            )
        )
        self.team_id = team_id
        self.map_type = map_type

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> MatchViewButton:
        return cls(int(match["team"]), match["view"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        # A click during a reload finds no cog: answered like any component error.
        async with component_errors(interaction):
            cog = cog_of(interaction, "WvW", WvW, COG_OFF)
            async with Responder(interaction, after=cog.defer_after, update=True) as responder:
                locale = await answer_locale(interaction, public=True)
                embed, view = await cog.match_answer(self.team_id, self.map_type, locale)
                await responder.send(embed=embed, view=view)


class ObjectivesPageButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"wvw:o:(?P<team>\d{1,6}):(?P<map>all|Center|RedHome|BlueHome|GreenHome):(?P<page>\d{1,3})",
):
    """Turn the page of an objectives message."""

    def __init__(
        self, team_id: int, map_type: str | None, page: int, label: str, enabled: bool = True
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                custom_id=f"wvw:o:{team_id}:{map_type or 'all'}:{page}",
                disabled=not enabled,
            )
        )
        self.team_id = team_id
        self.map_type = map_type
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ObjectivesPageButton:
        label = item.label if isinstance(item, discord.ui.Button) and item.label else "Page"
        return cls(int(match["team"]), OBJECTIVE_MAP_KEYS[match["map"]], int(match["page"]), label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        async with component_errors(interaction):
            cog = cog_of(interaction, "WvW", WvW, COG_OFF)
            async with Responder(interaction, after=cog.defer_after, update=True) as responder:
                locale = await answer_locale(interaction, public=True)
                embed, view = await cog.objectives_page(
                    self.team_id, self.map_type, self.page, locale
                )
                await responder.send(embed=embed, view=view)


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(WvW(bot))
