"""``/compose``: plan a WvW squad (subgroups, specs, roles, boon coverage), with optional AI advice.

(The command and its two buttons; rendering is in ``compose_render`` and its words in
``compose_words``, the team and live match the AI sees in ``compose_context``, the buttons' state
and sessions in ``compose_plan``, rosters in ``compose_roster``.)

The answer is private to the caller (a draft); "Post to channel" shares it. "Reroll alternatives"
shows the next-best *distinct* composition. When Mistral is configured the AI is asked
automatically, once per answer (the command and each reroll); there is no separate AI button.

Buttons survive a restart: their custom ids carry the request (size, mode, team, roster kind,
reroll count) and are handled by dynamic items. A free plan is rebuilt from the id; a plan from a
voice or typed roster lives in memory only and, after a restart, says "run /compose again".
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.answering import cog_of, component_errors
from cogs.common.checks import missing_post_permissions
from cogs.common.locale import answer_locale, user_locale
from cogs.compose_context import live_match_context, plan_team
from cogs.compose_names import spec_names, with_spec_names
from cogs.compose_plan import (
    MAX_REROLLS,
    MAX_SIZE,
    REROLL_TEMPLATE,
    PlanParams,
    PlanSession,
)
from cogs.compose_render import render_plan
from cogs.compose_roster import ROSTER_EXAMPLE, gather_roster, roster_autocomplete
from cogs.compose_words import cannot_post, cap_notes
from cogs.team_options import team_autocomplete
from services.composer import (
    ComposeRequest,
    ComposeResult,
    ComposerMetrics,
    MatchContext,
    alternatives,
    compose,
    default_catalogue,
)
from services.i18n import N_, PluralMessage, tr

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

DEFAULT_SIZES = {"zerg": 15, "havoc": 10, "roaming": 5, "defense": 15}
FALLBACK_SIZE = 15
# compose() gets the Mistral timeout plus this for solving; the solver itself caps at 3 s.
SOLVE_ALLOWANCE_S = 2.0
SESSIONS_KEPT = 256

# Message ids (shown with ``tr(locale, ...)``; COG_OFF through UserFacingError).
COG_OFF = N_("Squad planning is switched off right now. Try again later.")
EXPIRED = N_("This plan expired (the bot restarted). Run /compose again.")
STALE = N_("This plan is no longer valid. Run /compose again.")
NOT_OWNER = N_(
    "Only the person who ran /compose can use these buttons. Run /compose for your own plan."
)
LAST_PLAN = N_(
    "No other distinct plan exists for this size, mode and roster: this one is the last."
)
MAX_REROLLS_TEXT = N_("That's {count} alternatives already. Run /compose again to start over.")


def _mode_choices() -> list[app_commands.Choice[str]]:
    modes = default_catalogue().modes
    return [app_commands.Choice(name=m.label, value=key) for key, m in sorted(modes.items())]


class Compose(commands.Cog):
    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.sessions: OrderedDict[int, PlanSession] = OrderedDict()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(RerollButton, PostButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(RerollButton, PostButton)

    @app_commands.command(name="compose")
    @app_commands.describe(
        size="Players in the squad (1–50). Default: everyone in the roster, else 15 (zerg).",
        mode="What the squad will do (default zerg).",
        roster=f"none (any specs), voice (your voice channel) or a list: {ROSTER_EXAMPLE}",
        team="Your WvW team, for the live match (default: your linked account's team).",
    )
    @app_commands.choices(mode=_mode_choices())
    @app_commands.autocomplete(roster=roster_autocomplete, team=team_autocomplete)
    async def compose_command(
        self,
        interaction: discord.Interaction[GW2Bot],
        size: app_commands.Range[int, 1, MAX_SIZE] | None = None,
        mode: str = "zerg",
        roster: str = "none",
        team: str | None = None,
    ) -> None:
        """Plan a WvW squad: subgroups with specs, roles and boon coverage."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        locale = user_locale(interaction)
        # Spec names in the player's language: read in a typed roster, shown in the plan.
        names = await spec_names(self.bot, default_catalogue(), locale)
        kind, gathered = await gather_roster(self.bot, interaction, roster, names)
        if size is None:
            size = min(MAX_SIZE, gathered.headcount) if kind != "f" else _default_size(mode)
        request = ComposeRequest(size=size, mode=mode, roster=gathered.players)
        team_id = await plan_team(self.bot, interaction, team)
        match, match_note = await live_match_context(self.bot, team_id)
        notes = [*gathered.notes, *([match_note] if match_note else [])]
        if kind == "t" and gathered.flexible:
            flexible = PluralMessage(
                "Flexible slot: {names}.",
                "Flexible slots: {names}.",
                len(gathered.flexible),
                names=", ".join(gathered.flexible),
            )
            notes.insert(0, flexible)
        result = await self._plan(request, match, exclude=(), language=locale)
        result = with_spec_names(result, names)
        session = PlanSession(
            request,
            match,
            cap_notes(notes),
            owner_id=interaction.user.id,
            seen=[result.optimizer_plan.signature],
        )
        params = PlanParams(size=size, mode=request.mode, team_id=team_id or 0, roster=kind)
        message = await interaction.followup.send(
            embeds=render_plan(
                result,
                catalogue=default_catalogue(),
                notes=session.notes,
                match=match,
                locale=locale,
                spec_names=names,
            ),
            view=plan_view(params, locale),
            ephemeral=True,
            wait=True,
        )
        self._remember(message.id, session)

    # ---------------------------------------------------------------------------- buttons

    async def reroll(
        self, interaction: discord.Interaction[GW2Bot], params: PlanParams | None
    ) -> None:
        """Replace the shown plan with the next-best distinct composition."""
        if not await self._is_owner(interaction):
            return
        if params is None:
            await interaction.response.send_message(
                tr(user_locale(interaction), STALE), ephemeral=True
            )
            return
        if params.alternative + 1 >= MAX_REROLLS:
            await interaction.response.send_message(
                tr(user_locale(interaction), MAX_REROLLS_TEXT, count=MAX_REROLLS), ephemeral=True
            )
            return
        await interaction.response.defer()
        message_id = interaction.message.id if interaction.message is not None else 0
        session = self.sessions.get(message_id) or await self._restore(
            params, owner_id=interaction.user.id
        )
        if session is None:
            await interaction.followup.send(tr(user_locale(interaction), EXPIRED), ephemeral=True)
            return
        locale = user_locale(interaction)
        async with session.lock:
            result = await self._plan(
                session.request, session.match, exclude=session.seen, language=locale
            )
            names = await spec_names(self.bot, default_catalogue(), locale)
            result = with_spec_names(result, names)
            signature = result.optimizer_plan.signature
            if result.solve.status == "infeasible_exclusions" or signature in session.seen:
                await interaction.followup.send(tr(locale, LAST_PLAN), ephemeral=True)
                return
            session.seen.append(signature)
            shown = replace(params, alternative=len(session.seen) - 1)
            await interaction.edit_original_response(
                embeds=render_plan(
                    result,
                    catalogue=default_catalogue(),
                    alternative=shown.alternative,
                    notes=session.notes,
                    match=session.match,
                    locale=locale,
                    spec_names=names,
                ),
                view=plan_view(shown, locale),
            )
        self._remember(message_id, session)

    async def post(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Post the plan shown in this (private) message publicly in the channel."""
        if not await self._is_owner(interaction):
            return
        channel = interaction.channel
        message = interaction.message
        if (
            message is None
            or not message.embeds
            or not isinstance(channel, discord.abc.Messageable)
        ):
            await interaction.response.send_message(
                tr(user_locale(interaction), EXPIRED), ephemeral=True
            )
            return
        locale = user_locale(interaction)
        missing = missing_post_permissions(interaction.app_permissions, channel)
        if missing:
            await interaction.response.send_message(cannot_post(missing, locale), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        # The channel reads the server's language; the answer to the clicker, theirs.
        public = await answer_locale(interaction, public=True)
        try:
            posted = await channel.send(
                content=tr(public, "Squad plan shared by {user}", user=interaction.user.mention),
                embeds=message.embeds,
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.Forbidden:
            text = cannot_post(["send_messages", "embed_links"], locale)
        except discord.NotFound:
            text = tr(locale, "This channel no longer exists. Run /compose in another channel.")
        except discord.HTTPException:
            log.warning("Posting a squad plan failed", exc_info=True)
            text = tr(locale, "Discord refused the post. Try again in a moment.")
        else:
            text = tr(locale, "Posted the plan for everyone: {url}", url=posted.jump_url)
        await interaction.followup.send(text, ephemeral=True)

    # ---------------------------------------------------------------------------- helpers

    async def _is_owner(self, interaction: discord.Interaction[GW2Bot]) -> bool:
        """Whether the clicker ran the /compose behind this message; others get a private no.

        The owner is the session's (kept in memory) or, after a restart, the user of the
        interaction that created the message (Discord's interaction metadata)."""
        message = interaction.message
        session = self.sessions.get(message.id) if message is not None else None
        owner = session.owner_id if session is not None else None
        if owner is None and message is not None and message.interaction_metadata is not None:
            owner = message.interaction_metadata.user.id
        if owner is None or owner == interaction.user.id:
            return True
        await interaction.response.send_message(
            tr(user_locale(interaction), NOT_OWNER), ephemeral=True
        )
        return False

    async def _plan(
        self,
        request: ComposeRequest,
        match: MatchContext | None,
        *,
        exclude: Sequence[str],
        language: str = "en",
    ) -> ComposeResult:
        services = self.bot.services
        return await compose(
            request,
            match_context=match,
            ai=services.mistral,
            metrics=services.metric_set(ComposerMetrics),
            exclude=exclude,
            deadline_s=services.settings.mistral.timeout_seconds + SOLVE_ALLOWANCE_S,
            language=language,
        )

    async def _restore(self, params: PlanParams, *, owner_id: int) -> PlanSession | None:
        """Rebuild a free plan's session after a restart (rosters are not kept)."""
        if params.roster != "f":
            return None
        request = ComposeRequest(size=params.size, mode=params.mode)
        shown = await asyncio.to_thread(alternatives, request, params.alternative + 1)
        match, note = await live_match_context(self.bot, params.team_id or None)
        return PlanSession(
            request,
            match,
            tuple([note] if note else []),
            owner_id=owner_id,
            seen=[r.plan.signature for r in shown],
        )

    def _remember(self, message_id: int, session: PlanSession) -> None:
        self.sessions[message_id] = session
        self.sessions.move_to_end(message_id)
        while len(self.sessions) > SESSIONS_KEPT:
            self.sessions.popitem(last=False)


# -------------------------------------------------------------------------------- the view


class RerollButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=REROLL_TEMPLATE
):
    """ "Reroll alternatives": the next-best distinct plan (the custom id carries the request)."""

    def __init__(
        self, params: PlanParams | None, *, custom_id: str | None = None, locale: str = "en"
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=tr(locale, "Reroll alternatives"),
                emoji="🎲",
                style=discord.ButtonStyle.secondary,
                custom_id=custom_id or (params.reroll_id() if params else "compose:reroll"),
                disabled=params is None or params.alternative + 1 >= MAX_REROLLS,
            )
        )
        self.params = params  # None: a forged or stale id, answered "no longer valid"

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(PlanParams.from_match(match), custom_id=match.string)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _run_button(interaction, "reroll", lambda cog: cog.reroll(interaction, self.params))


class PostButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"compose:post"
):
    """ "Post to channel": share the private plan with the channel."""

    def __init__(self, locale: str = "en") -> None:
        super().__init__(
            discord.ui.Button(
                label=tr(locale, "Post to channel"),
                emoji="📣",
                style=discord.ButtonStyle.primary,
                custom_id="compose:post",
            )
        )

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls()

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _run_button(interaction, "post", lambda cog: cog.post(interaction))


def plan_view(params: PlanParams, locale: str = "en") -> discord.ui.View:
    """The buttons under a plan (no timeout: they are dispatched by custom id)."""
    view = discord.ui.View(timeout=None)
    view.add_item(RerollButton(params, locale=locale))
    view.add_item(PostButton(locale))
    return view


async def _run_button(
    interaction: discord.Interaction[Any],
    action: str,
    run: Callable[[Compose], Awaitable[None]],
) -> None:
    """Run a button action; errors get the same answers as commands (dynamic items bypass them)."""
    async with component_errors(interaction, name=f"compose {action}"):
        await run(cog_of(interaction, "Compose", Compose, COG_OFF))


# -------------------------------------------------------------------------------- pure helpers


def _default_size(mode: str) -> int:
    return DEFAULT_SIZES.get(mode, FALLBACK_SIZE)


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Compose(bot))
