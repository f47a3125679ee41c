"""``/settings``: the guild's default WvW team and its scheduled match-update channels.

Everyone can ``/settings show``; every other subcommand needs Manage Server. Discord's
``default_member_permissions`` applies to a whole top-level command, which would hide ``show``
too, so the permission is checked at run time on each subcommand (that check is what counts
anyway: server admins can override the defaults).

Settings live in SQLite. When the bot leaves a guild they are kept for a grace period (a
re-invite finds them again) and then deleted by the update loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import permission_names
from bot.storage.subscriptions import SubscriptionLimitError
from cogs.common.checks import manage_server, missing_channel_permissions
from cogs.common.locale import forget_guild_language, guild_locale, user_locale
from cogs.team_options import resolve_team_option, team_autocomplete
from cogs.updates_render import MODE_WORDS, render_settings, render_update_post, team_label
from services.errors import UserFacingError
from services.i18n import LANGUAGE_NAMES, server_language, stored_language, tr
from services.updates import (
    DEFAULT_INTERVAL_MINUTES,
    GW2_BUDGET,
    MAX_INTERVAL_MINUTES,
    MAX_SUBSCRIPTIONS_PER_GUILD,
    MIN_INTERVAL_MINUTES,
    WORLDS_BUDGET,
)

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

Interval = app_commands.Range[int, MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES]


@app_commands.guild_only()
class Settings(commands.GroupCog, group_name="settings"):
    """Server settings: default WvW team and match-update channels."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.subscriptions = bot.services.subscriptions
        super().__init__()

    @app_commands.command(name="show")
    async def show(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Everything configured for this server."""
        guild = _guild(interaction)
        settings = await self.bot.services.guild_settings.get(guild.id)
        subscriptions = await self.subscriptions.for_guild(guild.id)
        embed = render_settings(
            settings,
            subscriptions,
            guild_name=guild.name,
            limit=MAX_SUBSCRIPTIONS_PER_GUILD,
            locale=user_locale(interaction),
            server_locale=guild.preferred_locale.value,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="team")
    @app_commands.describe(team="Team name or id — pick one from the list as you type")
    @app_commands.autocomplete(team=team_autocomplete)
    @manage_server
    async def team(self, interaction: discord.Interaction[GW2Bot], team: str) -> None:
        """Set the server's default WvW team (Manage Server)."""
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        team_id = await resolve_team_option(self.bot, team)
        await self.bot.services.guild_settings.set_default_team(guild.id, team_id)
        await interaction.followup.send(
            tr(
                user_locale(interaction),
                "Default team is now **{team}**. Commands and new update channels "
                "use it when no team is given.",
                team=team_label(team_id),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="updates")
    @app_commands.describe(
        channel="Where to post the match updates",
        team="Team to follow (default: the server's default team)",
        interval="Minutes between updates, 5–120 (default 15)",
        mode="edit: one message kept up to date (default) · post: a new message each time",
    )
    @app_commands.autocomplete(team=team_autocomplete)
    @manage_server
    async def updates(
        self,
        interaction: discord.Interaction[GW2Bot],
        channel: discord.TextChannel,
        team: str | None = None,
        interval: Interval = DEFAULT_INTERVAL_MINUTES,
        mode: Literal["edit", "post"] = "edit",
    ) -> None:
        """Post WvW match updates in a channel on a schedule (Manage Server)."""
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        target = guild.get_channel(channel.id)
        if not isinstance(target, discord.TextChannel):
            raise UserFacingError(
                "I can't find that channel. Pick a text channel I can see, then try again."
            )
        missing = missing_channel_permissions(target, guild.me, mode)
        if missing:
            locale = user_locale(interaction)
            raise UserFacingError(
                "I can't post updates in {channel}: I'm missing {permissions} there. Give my "
                "role the missing permissions in the channel settings, then run this again.",
                channel=target.mention,
                permissions=permission_names(missing, locale),
            )
        team_id = await self._team_or_default(guild.id, team)
        try:
            await self.subscriptions.subscribe(
                guild_id=guild.id,
                channel_id=target.id,
                team_id=team_id,
                interval_minutes=interval,
                mode=mode,
                created_by=interaction.user.id,
                now=self.bot.services.clock.now(),
                limit=MAX_SUBSCRIPTIONS_PER_GUILD,
            )
        except SubscriptionLimitError:
            raise UserFacingError(
                "This server already has {count} update channels, the "
                "most allowed. Stop one with `/settings updates-off` first.",
                count=MAX_SUBSCRIPTIONS_PER_GUILD,
            ) from None
        # The update loop (cogs/updates.py) listens for this and looks at its schedule again.
        self.bot.dispatch("match_updates_changed")
        locale = user_locale(interaction)
        await interaction.followup.send(
            tr(
                locale,
                "Done: {channel} gets WvW updates for **{team}** every "
                "{interval} min ({mode}). The first one comes in a moment.",
                channel=target.mention,
                team=team_label(team_id),
                interval=interval,
                mode=tr(locale, MODE_WORDS[mode]),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="updates-off")
    @app_commands.describe(channel="The channel that should stop getting match updates")
    @manage_server
    async def updates_off(
        self, interaction: discord.Interaction[GW2Bot], channel: discord.TextChannel
    ) -> None:
        """Stop the match updates in a channel (Manage Server)."""
        guild = _guild(interaction)
        removed = await self.subscriptions.unsubscribe(guild.id, channel.id)
        locale = user_locale(interaction)
        if removed:
            text = tr(locale, "Stopped the WvW updates in {channel}.", channel=channel.mention)
        else:
            text = tr(
                locale,
                "{channel} gets no WvW updates, so there is nothing to stop. "
                "`/settings show` lists the channels that do.",
                channel=channel.mention,
            )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="preview")
    @app_commands.describe(team="Team to preview (default: the server's default team)")
    @app_commands.autocomplete(team=team_autocomplete)
    @manage_server
    async def preview(
        self, interaction: discord.Interaction[GW2Bot], team: str | None = None
    ) -> None:
        """Show the update post as it would look now, only to you (Manage Server)."""
        guild = _guild(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        team_id = await self._team_or_default(guild.id, team)
        live = await self.bot.services.matches.live(
            team_id, budget=GW2_BUDGET, worlds_budget=WORLDS_BUDGET
        )
        content, embed = render_update_post(
            live, team_id, locale=await guild_locale(self.bot, guild)
        )
        preview_note = tr(
            user_locale(interaction), "Preview — this is what the update channels get right now."
        )
        await interaction.followup.send(
            f"{preview_note}\n{content}" if content else preview_note, embed=embed, ephemeral=True
        )

    @app_commands.command(name="key-ownership")
    @app_commands.describe(
        policy="required: keys linked here must carry the /key add code in their name"
    )
    @manage_server
    async def key_ownership(
        self,
        interaction: discord.Interaction[GW2Bot],
        policy: Literal["optional", "required"],
    ) -> None:
        """Require proof that a linked GW2 API key belongs to its owner (Manage Server)."""
        guild = _guild(interaction)
        await self.bot.services.guild_settings.set_ownership_policy(guild.id, policy)
        locale = user_locale(interaction)
        if policy == "required":
            text = tr(
                locale,
                "Keys used in this server must now carry the one-time ownership code in their "
                "name. Keys linked without it stay linked but are not used here (team, voice "
                "rosters, verified roles) until their owner links again with `/key add`.",
            )
        else:
            text = tr(
                locale,
                "The ownership code is optional again: keys that carry it are shown as "
                "verified owner, others are linked too.",
            )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="leak-guard")
    @app_commands.describe(enabled="Delete GW2 API keys pasted in this server's channels")
    @manage_server
    async def leak_guard(self, interaction: discord.Interaction[GW2Bot], enabled: bool) -> None:
        """Turn the API key leak guard on or off for this server (Manage Server)."""
        guild = _guild(interaction)
        await self.bot.services.guild_settings.set_leak_guard(guild.id, enabled)
        locale = user_locale(interaction)
        if not enabled:
            text = tr(
                locale, "Leak guard off: keys pasted in this server's channels stay where they are."
            )
        elif not self.bot.services.settings.security.leak_guard_enabled:
            text = tr(
                locale,
                "Leak guard on for this server, but the bot's operator turned it off for the "
                "whole bot (LEAK_GUARD_ENABLED=false), so it cannot read messages yet.",
            )
        else:
            text = tr(
                locale,
                "Leak guard on: a GW2 API key pasted in a channel is deleted (I need Manage "
                "Messages there) and its owner is told to replace it.",
            )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="language")
    @app_commands.describe(
        language="auto: the server's Discord language when the bot speaks it, else English"
    )
    @manage_server
    async def language(
        self,
        interaction: discord.Interaction[GW2Bot],
        language: Literal["auto", "en", "fr", "de", "es"],
    ) -> None:
        """Language of public answers and scheduled posts (Manage Server)."""
        guild = _guild(interaction)
        stored = stored_language(language)
        await self.bot.services.guild_settings.set_language(guild.id, stored)
        forget_guild_language(self.bot, guild.id)
        spoken = server_language(stored, guild.preferred_locale.value)
        text = tr(
            spoken,
            "Public answers and scheduled posts in this server are now in {language}.",
            language=LANGUAGE_NAMES[spoken],
        )
        await interaction.response.send_message(text, ephemeral=True)

    # The bot leaving and rejoining -----------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.bot.services.guild_settings.mark_left(guild.id, self.bot.services.clock.now())

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.bot.services.guild_settings.mark_present(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Removals while the bot was offline send no event: compare with the guilds it is in.
        # Guilds in an outage are still listed (as unavailable), so they are not marked left.
        gone, back = await self.bot.services.guild_settings.reconcile(
            {guild.id for guild in self.bot.guilds},
            self.bot.services.clock.now(),
            owned=self.bot.owns_guild,
        )
        if gone or back:
            log.info("Guilds left while offline: %d; back again: %d", len(gone), len(back))

    # Helpers ---------------------------------------------------------------------------------

    async def _team_or_default(self, guild_id: int, team: str | None) -> int:
        if team is not None and team.strip():
            return await resolve_team_option(self.bot, team)
        settings = await self.bot.services.guild_settings.get(guild_id)
        if settings.default_team_id is None:
            raise UserFacingError(
                "Pick a team with the `team` option, or set the server's default team with "
                "`/settings team` first."
            )
        return settings.default_team_id


def _guild(interaction: discord.Interaction[GW2Bot]) -> discord.Guild:
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage
    return interaction.guild


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Settings(bot))
