"""The key ownership policy, enforced where a key is *used* for a server.

A server that sets ``/settings key-ownership required`` only trusts keys whose name carried the
one-time code (``ownership_verified``). Such a server never uses an unverified key: not for the
caller's team, not in a voice roster, not for anything shown to others. The DM flow asks for the
code whenever the user belongs to such a server (:func:`member_of_required_guild`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.storage.keys import UsableKey
from services.i18n import N_

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

# Discord look-ups one membership check may spend (beyond the member cache); past that the answer
# is "yes, ask for the code", so a bot in many strict servers never stalls a DM on requests.
MEMBERSHIP_PROBES = 10

UNVERIFIED_HERE = N_(
    "This server requires proof that a linked key is yours, and your key is not verified. "
    "Run /key add here and paste a key whose name contains the code I send you."
)


async def requires_ownership(bot: GW2Bot, guild_id: int | None) -> bool:
    """Whether the server ``guild_id`` (None: a DM) requires verified key ownership."""
    if guild_id is None:
        return False
    settings = await bot.services.guild_settings.get(guild_id)
    return settings.key_ownership_policy == "required"


async def key_for_guild(
    bot: GW2Bot, user_id: int, guild_id: int | None, *, required: bool | None = None
) -> tuple[UsableKey | None, str | None]:
    """The user's active key if ``guild_id`` may use it, with why not otherwise.

    ``(key, None)``: usable; ``(None, None)``: no key linked; ``(None, UNVERIFIED_HERE)``: linked
    but unverified in a server that requires ownership. ``required`` skips the policy lookup when
    the caller already knows it (a voice roster checks many members of one server).
    """
    usable = await bot.services.keys.active_key(user_id)
    if usable is None:
        return None, None
    if required is None:
        required = await requires_ownership(bot, guild_id)
    if required and not usable.linked.ownership_verified:
        return None, UNVERIFIED_HERE
    return usable, None


async def member_of_required_guild(
    bot: GW2Bot, user_id: int, *, probes: int = MEMBERSHIP_PROBES
) -> bool:
    """Whether ``user_id`` is a member of a server (this bot is in) that requires ownership.

    The member cache is used when it knows the user; otherwise Discord is asked (the members
    intent is usually off), at most ``probes`` times. When Discord cannot say, or more servers
    remain unchecked, the answer is yes: asking for the code costs a key name, trusting a key
    costs the policy.
    """
    guild_ids = await bot.services.guild_settings.requiring_ownership()
    for guild_id in guild_ids:
        guild = bot.get_guild(guild_id)
        if guild is not None and guild.get_member(user_id) is not None:
            return True
    if len(guild_ids) > probes:
        log.info(
            "Membership of %d servers requiring ownership not probed; asking for the code",
            len(guild_ids),
        )
        return True
    for guild_id in guild_ids:
        # By REST, not the cache: in a cluster the DM is handled by the process with shard 0,
        # which does not hold the other shards' servers.
        try:
            await bot.http.get_member(guild_id, user_id)
        except discord.NotFound:
            continue  # not a member
        except discord.Forbidden:
            continue  # the bot is no longer in that server
        except discord.HTTPException as error:
            log.info("Could not check membership in guild %d (HTTP %s)", guild_id, error.status)
            return True
        return True
    return False
