"""Which team a ``/wvw`` command is about: the ``team`` option, else the caller's linked account
team, else the server's default team, with a private note when it is not the one expected."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from services.errors import UserFacingError
from services.gw2 import GW2APIError, InvalidKeyError, MissingPermissionError
from services.i18n import N_, Message

from .common.key_policy import key_for_guild
from .team_options import resolve_team_option

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

KEY_LINK_COMMAND = "/key add"
DEFAULT_TEAM_COMMAND = "/settings team"


class NoTeamError(UserFacingError):
    """No ``team`` option, no linked account team and no server default."""

    def __init__(self, *, in_guild: bool) -> None:
        if in_guild:
            super().__init__(
                N_(
                    "Which team? Pick one with the `team` option, link your GW2 account with "
                    "`{link}` so I use your team, or ask an admin to set this server's default "
                    "team with `{default}`."
                ),
                link=KEY_LINK_COMMAND,
                default=DEFAULT_TEAM_COMMAND,
            )
        else:
            super().__init__(
                N_(
                    "Which team? Pick one with the `team` option, or link your GW2 account with "
                    "`{link}` so I use your team."
                ),
                link=KEY_LINK_COMMAND,
            )


@dataclass(frozen=True, slots=True)
class ChosenTeam:
    """The team a command is about, and a note (for the caller only) when it is not the one the
    player expected."""

    team_id: int
    note: Message | None = None


async def choose_team(
    bot: GW2Bot, interaction: discord.Interaction[GW2Bot], text: str | None
) -> ChosenTeam:
    """The ``team`` option, else the caller's linked account team, else the server default."""
    if text is not None and text.strip():
        return ChosenTeam(await resolve_team_option(bot, text))
    services = bot.services
    # A server that requires key ownership never uses an unverified key (issue 10).
    usable, unverified = await key_for_guild(bot, interaction.user.id, interaction.guild_id)
    reason: Message | None = None if unverified is None else Message(unverified)
    if usable is not None:
        try:
            account = await services.gw2.account_wvw(usable.key)
        except GW2APIError as error:
            reason = key_problem(error)
        else:
            if account.value.team is not None:
                return ChosenTeam(account.value.team)
            reason = Message("Your GW2 account has no WvW team yet.")
    in_guild = interaction.guild_id is not None
    if interaction.guild_id is not None:
        settings = await services.guild_settings.get(interaction.guild_id)
        if settings.default_team_id is not None:
            note = Message("{reason} Showing this server's team.", reason=reason)
            return ChosenTeam(settings.default_team_id, note if reason else None)
    if reason is not None:
        no_team = NoTeamError(in_guild=in_guild)
        raise UserFacingError(
            "{reason} {which_team}",
            reason=reason,
            which_team=Message(no_team.message, **no_team.params),
        )
    raise NoTeamError(in_guild=in_guild)


def key_problem(error: GW2APIError) -> Message:
    """Why the linked account's team is unknown, in one sentence (never the key itself)."""
    if isinstance(error, MissingPermissionError):
        return Message(
            "Your linked GW2 key lacks the “{scope}” permission, so I can't read your team.",
            scope=error.scope,
        )
    if isinstance(error, InvalidKeyError):
        return Message("ArenaNet rejected your linked GW2 key, so I can't read your team.")
    log.info("Account team lookup failed (%s)", error.outcome)
    return Message("I couldn't reach the GW2 API to read your team.")


def private_note(chosen: ChosenTeam, locale: str) -> str | None:
    """The private note about the chosen team, in the asking user's language."""
    return chosen.note.render(locale) if chosen.note is not None else None
