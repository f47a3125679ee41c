"""The roster of a /compose: none (free), the caller's voice channel, or a typed list (and the
option's autocomplete).

A voice roster reads each player's characters with their linked key, except where the server
requires key ownership and the key is unverified: that player gets a flexible slot (issue 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, cast

import discord
from discord import app_commands

from cogs.common.key_policy import key_for_guild, requires_ownership
from cogs.common.locale import user_locale
from cogs.compose_plan import RosterKind
from services.errors import UserFacingError
from services.i18n import Message, tr
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
AUTOCOMPLETE_VALUE_LIMIT = 100


async def roster_autocomplete(
    interaction: discord.Interaction[GW2Bot], current: str
) -> list[app_commands.Choice[str]]:
    """``none`` and ``voice``, plus what the player is typing when it looks like a list."""
    locale = user_locale(interaction)
    text = current.strip()
    fixed = [
        app_commands.Choice(name=tr(locale, "none: any specs (free plan)"), value="none"),
        app_commands.Choice(
            name=tr(locale, "voice: the players in your voice channel"), value="voice"
        ),
    ]
    matching = [c for c in fixed if c.value.startswith(text.casefold())]
    if text and not matching and len(text) <= AUTOCOMPLETE_VALUE_LIMIT:
        return [
            app_commands.Choice(
                name=_clip_choice(tr(locale, "list: {text}", text=text)), value=text
            )
        ]
    return matching or fixed


def _clip_choice(text: str) -> str:
    return text if len(text) <= AUTOCOMPLETE_VALUE_LIMIT else text[:99] + "…"


async def gather_roster(
    bot: GW2Bot,
    interaction: discord.Interaction[GW2Bot],
    text: str,
    names: Mapping[str, str] | None = None,
) -> tuple[RosterKind, Roster]:
    """The ``roster`` option as a roster kind and the players it names; ``names`` (spec key ->
    its name in the player's language, see ``compose_names.spec_names``) are understood in a
    typed roster too ("Ann: Incendiaire")."""
    word = text.strip().casefold()
    if word in FREE_WORDS:
        return "f", Roster()
    if word in VOICE_WORDS:
        return "v", await voice_roster(bot, interaction)
    return "t", parse_roster(text, names=names)


async def voice_roster(bot: GW2Bot, interaction: discord.Interaction[GW2Bot]) -> Roster:
    """The players in the caller's voice channel, with their linked accounts where usable."""
    user = interaction.user
    voice = user.voice if isinstance(user, discord.Member) else None
    if voice is None or voice.channel is None:
        raise UserFacingError(
            "Join a voice channel first, or use roster: none, or type the roster (e.g. {example}).",
            example=ROSTER_EXAMPLE,
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
        note = Message(
            "This server requires verified key ownership; unverified keys were not used: "
            "{names} (run /key add here to verify).",
            names=", ".join(sorted(unverified)),
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
