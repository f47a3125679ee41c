"""The roster of a /compose: none (free), the caller's voice channel, or a typed list.

A voice roster reads each player's characters with their linked key, except where the server
requires key ownership and the key is unverified: that player gets a flexible slot (issue 10).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

import discord

from cogs.common.key_policy import key_for_guild, requires_ownership
from cogs.compose_plan import RosterKind
from services.errors import UserFacingError
from services.roster import (
    LinkedAccount,
    Roster,
    VoiceMember,
    gather_voice_roster,
    parse_roster,
)

if TYPE_CHECKING:
    from bot.client import GW2Bot

ROSTER_BUDGET_S = 6.0
ROSTER_CONCURRENCY = 6
FREE_WORDS = frozenset({"", "none", "free", "any"})
VOICE_WORDS = frozenset({"voice", "vc"})
ROSTER_EXAMPLE = "Alice: firebrand, scrapper; Bob: herald; Carol"


async def gather_roster(
    bot: GW2Bot, interaction: discord.Interaction[GW2Bot], text: str
) -> tuple[RosterKind, Roster]:
    """The ``roster`` option as a roster kind and the players it names."""
    word = text.strip().casefold()
    if word in FREE_WORDS:
        return "f", Roster()
    if word in VOICE_WORDS:
        return "v", await voice_roster(bot, interaction)
    return "t", parse_roster(text)


async def voice_roster(bot: GW2Bot, interaction: discord.Interaction[GW2Bot]) -> Roster:
    """The players in the caller's voice channel, with their linked accounts where usable."""
    user = interaction.user
    voice = user.voice if isinstance(user, discord.Member) else None
    if voice is None or voice.channel is None:
        raise UserFacingError(
            "Join a voice channel first, or use roster: none, or type the roster "
            f"(e.g. {ROSTER_EXAMPLE})."
        )
    people = [m for m in voice.channel.members if not m.bot]
    if all(m.id != user.id for m in people):
        people.insert(0, cast(discord.Member, user))
    members = [VoiceMember(m.id, m.display_name) for m in people]
    # A server that requires key ownership never uses an unverified key: that player gets a
    # flexible slot, like a player without a key.
    required = await requires_ownership(bot, interaction.guild_id)
    unverified: list[str] = []
    names = {m.id: m.display_name for m in people}

    async def lookup(user_id: int) -> LinkedAccount | None:
        account, why_not = await linked_account(bot, user_id, None, required=required)
        if why_not is not None:
            unverified.append(names.get(user_id, str(user_id)))
        return account

    roster = await gather_voice_roster(
        members,
        gw2=bot.services.gw2,
        key_lookup=lookup,
        concurrency=ROSTER_CONCURRENCY,
        budget_s=ROSTER_BUDGET_S,
    )
    if unverified:
        note = (
            "This server requires verified key ownership; unverified keys were not used: "
            f"{', '.join(sorted(unverified))} (run /key add here to verify)."
        )
        roster = replace(roster, notes=(note, *roster.notes))
    return roster


async def linked_account(
    bot: GW2Bot, user_id: int, guild_id: int | None, *, required: bool | None = None
) -> tuple[LinkedAccount | None, str | None]:
    """The user's account for this server, or why an unverified key is not used here."""
    usable, why_not = await key_for_guild(bot, user_id, guild_id, required=required)
    if usable is None:
        return None, why_not
    return LinkedAccount(account_name=usable.linked.account_name, key=usable.key), None
