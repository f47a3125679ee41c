"""The leak guard: a GW2 API key posted (or edited into a message) in a server channel is deleted
and its owner is told to replace it. Such keys are never stored.

Reading message text needs the privileged Message Content intent; the operator can switch the
guard off for the whole bot (``LEAK_GUARD_ENABLED=false``), admins per server
(``/settings leak-guard``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from services.i18n import server_language, tr
from services.keys import KeyMetrics
from services.secrets import find_gw2_api_keys

from . import account_render as render
from .common.answering import send_quietly

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# Messages the guard acted on, remembered so that editing one (a key it could not delete) does
# not warn its author again; the bot keeps no message cache (bot/client.py).
HANDLED_MEMORY = 1024


class LeakGuard(commands.Cog):
    """Deletes API keys pasted in server channels."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.metrics = bot.services.metric_set(KeyMetrics)
        self._handled: OrderedDict[int, None] = OrderedDict()

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        # Direct messages are the key-linking flow's (cogs/keys.py).
        if message.author.bot or message.guild is None:
            return
        await self._guard_against_leak(message)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """A key added to a public message by editing it is as public as a pasted one."""
        message = payload.message
        if message.author.bot or message.guild is None:
            return
        if message.id in self._handled:
            return  # the guard acted on this message already (and warned its author)
        await self._guard_against_leak(message)

    async def _guard_against_leak(self, message: discord.Message) -> None:
        if not self.bot.services.settings.security.leak_guard_enabled:
            return
        if not find_gw2_api_keys(message.content) or message.guild is None:
            return
        settings = await self.bot.services.guild_settings.get(message.guild.id)
        if not settings.leak_guard_enabled:
            return
        self._remember(message.id)
        deleted = True
        try:
            await message.delete()
        except discord.NotFound:
            pass  # already gone
        except discord.HTTPException as error:
            deleted = False
            log.info(
                "Could not delete a message with an API key in guild %d (HTTP %s)",
                message.guild.id,
                error.status,
            )
        self.metrics.leaked_key("deleted" if deleted else "could_not_delete")
        log.info(
            "API key posted in guild %d channel %d: %s",
            message.guild.id,
            message.channel.id,
            "deleted" if deleted else "left in place",
        )
        # The author's Discord language is unknown outside an interaction: the server's is used.
        locale = server_language(settings.language, message.guild.preferred_locale.value)
        channel_name = getattr(message.channel, "name", None)
        where = tr(
            locale,
            "{channel} on {server}",
            channel=f"#{channel_name}" if channel_name else tr(locale, "a channel"),
            server=message.guild.name,
        )
        try:
            await message.author.send(render.leak_notice(where, deleted, locale))
        except discord.HTTPException:
            await send_quietly(
                message.channel,
                content=render.leak_channel_notice(message.author.mention, deleted, locale),
                allowed_mentions=discord.AllowedMentions(users=[message.author]),
            )

    def _remember(self, message_id: int) -> None:
        self._handled[message_id] = None
        while len(self._handled) > HANDLED_MEMORY:
            self._handled.popitem(last=False)


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(LeakGuard(bot))
