"""A scheduled post is created exactly once, even when the bot dies while posting it.

Without care a kill between Discord creating the message and the bot recording its id posts the
update twice on restart (and, in edit mode, leaves the first message orphaned). So:

1. the intent is recorded first: the post's deterministic nonce (``services.updates.post_nonce``);
2. the message is sent with that nonce and ``enforce_nonce``: Discord answers a repeated nonce from
   the same author within a few minutes with the message it already created;
3. after a crash older than that, the bot's own message is looked up in the channel (by nonce, or
   by the embed title of this subscription) and adopted instead of posting again.

An adopted message is edited to the current content, then recorded like a fresh one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import discord

from bot.storage.subscriptions import Subscription, SubscriptionRepository
from services.updates import NONCE_TRUST_SECONDS, RequestPacer, post_nonce

log = logging.getLogger(__name__)

HISTORY_LOOKUP_LIMIT = 25
# Discord's clock (message timestamps) against ours (the recorded intent).
INTENT_CLOCK_SLACK = timedelta(seconds=30)


async def post_once(
    channel: discord.PartialMessageable,
    subscription: Subscription,
    subscriptions: SubscriptionRepository,
    pacer: RequestPacer,
    *,
    now: datetime,
    bot_user_id: int | None,
    content: str | None,
    embed: discord.Embed,
) -> discord.Message:
    """Post this slot's update once: the message already there after a crash, else a new one."""
    # A pending intent means an earlier post may exist unrecorded: finish that one.
    crashed = subscription.pending_nonce is not None
    nonce = subscription.pending_nonce or post_nonce(
        "update", subscription.id, subscription.next_due_at
    )
    if not crashed:
        await subscriptions.record_intent(subscription.id, nonce, now)
    message: discord.Message | None = None
    since = subscription.pending_since
    if crashed and since is not None and now - since > timedelta(seconds=NONCE_TRUST_SECONDS):
        message = await find_own_post(channel, subscription, nonce, bot_user_id, embed, since)
    if message is None:
        await pacer.acquire()
        message = await channel.send(content=content, embed=embed, nonce=nonce)
    if crashed:
        # The message may show what was current before the crash: bring it up to date.
        log.info("Subscription %d: adopted the post sent before a restart", subscription.id)
        await pacer.acquire()
        message = await message.edit(content=content, embed=embed)
    return message


async def find_own_post(
    channel: discord.PartialMessageable,
    subscription: Subscription,
    nonce: str,
    bot_user_id: int | None,
    embed: discord.Embed,
    since: datetime,
) -> discord.Message | None:
    """The bot's own update for this subscription posted after the last recorded one and not
    before the intent was recorded, if any."""
    after = (
        discord.Object(subscription.last_message_id)
        if subscription.last_message_id is not None
        else None
    )
    found: discord.Message | None = None
    try:
        async for message in channel.history(limit=HISTORY_LOOKUP_LIMIT, after=after):
            if message.created_at < since - INTENT_CLOCK_SLACK:
                continue
            if _is_this_post(message, nonce, bot_user_id, embed):
                found = message  # oldest first with ``after``: keep the newest
    except discord.HTTPException as error:
        log.info(
            "Subscription %d: could not look for an earlier post (HTTP %s)",
            subscription.id,
            error.status,
        )
        return None
    return found


def _is_this_post(
    message: discord.Message, nonce: str, bot_user_id: int | None, embed: discord.Embed
) -> bool:
    if bot_user_id is None or message.author.id != bot_user_id:
        return False
    if message.interaction_metadata is not None:
        return False
    if message.nonce is not None:
        return str(message.nonce) == nonce
    titles: list[Any] = [e.title for e in message.embeds]
    return embed.title is not None and embed.title in titles
