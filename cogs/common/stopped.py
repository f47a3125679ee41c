"""Why a scheduled post or alert stopped, and telling the admin who set it up.

Match updates (``cogs/updates.py``) and live alerts (``cogs/alerts_poller.py``) stop a channel's
subscriptions the same way when Discord says the channel is gone or refuses the bot. The reason is
a :class:`~services.i18n.Message`: stored without a language (``services.stored_messages``) and
shown in the reader's; the DM to the admin speaks the server's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import discord

from bot.errors import permission_messages
from cogs.common.locale import guild_locale
from services.i18n import Message
from services.updates import RequestPacer

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# (server name or None when the bot left it, channel label, reason, language) -> the DM's text.
AdminDM = Callable[[str | None, Message | str, Message, str], str]

UNKNOWN_CHANNEL_CODE = 10003
MISSING_ACCESS_CODE = 50001


def channel_deleted() -> Message:
    return Message("the channel was deleted.")


def cannot_see_channel() -> Message:
    return Message("I can't see the channel any more — give my role View Channel there.")


def forbidden_reason(missing: Sequence[str], needed: Sequence[str]) -> Message:
    """The bot lacks ``missing`` (when the cache knows), else Discord refused and ``needed``
    is what the bot needs there."""
    if missing:
        return Message(
            "I'm missing {permissions} there — give my role that permission in the channel "
            "settings.",
            permissions=permission_messages(list(missing)),
        )
    return Message(
        "Discord refused my message: I need {permissions} there.",
        permissions=permission_messages(list(needed)),
    )


def channel_label(bot: GW2Bot, channel_id: int) -> Message | str:
    """``#name`` while the channel is known, else a description of it."""
    channel = bot.get_channel(channel_id)
    if isinstance(channel, discord.abc.GuildChannel):
        return f"#{channel.name}"
    return Message("a channel that no longer exists")


async def tell_admin(
    bot: GW2Bot,
    pacer: RequestPacer,
    dm: AdminDM,
    *,
    admin_id: int,
    guild_id: int,
    channel_label: Message | str,
    reason: Message,
) -> bool:
    """DM the admin who set up a stopped subscription in ``guild_id`` the text ``dm`` words
    (each feature its own), in the server's language: the admin set it up for that server.
    Whether it arrived."""
    guild = bot.get_guild(guild_id)
    locale = await guild_locale(bot, guild, guild_id)
    text = dm(guild.name if guild else None, channel_label, reason, locale)
    return await send_admin_dm(bot, pacer, admin_id, text)


async def send_admin_dm(bot: GW2Bot, pacer: RequestPacer, admin_id: int, text: str) -> bool:
    """DM ``text`` to ``admin_id``; whether it arrived (DMs closed or user gone: nobody is
    told rather than a channel spammed)."""
    try:
        await pacer.acquire()
        user = bot.get_user(admin_id) or await bot.fetch_user(admin_id)
        await pacer.acquire()
        await user.send(text, allowed_mentions=discord.AllowedMentions.none())
    except discord.HTTPException as error:
        log.info("Could not DM an admin about a stopped subscription (%s)", error.code)
        return False
    return True


__all__ = [
    "MISSING_ACCESS_CODE",
    "UNKNOWN_CHANNEL_CODE",
    "AdminDM",
    "cannot_see_channel",
    "channel_deleted",
    "channel_label",
    "forbidden_reason",
    "send_admin_dm",
    "tell_admin",
]
