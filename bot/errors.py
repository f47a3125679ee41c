"""The one place that turns app-command errors into answers.

Known errors (domain errors, missing permissions, checks) become a short ephemeral message. Anything
else is logged with its traceback, counted, sent to Sentry, and the user gets an apology with a
reference id they can quote to the bot's admins. The answer goes where the interaction allows: the
first response, a follow-up when already answered, or the channel when the token has expired.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import discord
from discord import app_commands

from services.errors import UserFacingError

from .storage.database import DatabaseUnavailableError as DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

_PERMISSION_NAMES = {
    "manage_guild": "Manage Server",
    "manage_messages": "Manage Messages",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "view_channel": "View Channel",
    "read_message_history": "Read Message History",
}


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What to tell the user, and whether the error was expected."""

    message: str
    expected: bool
    reference: str | None = None


def permission_names(permissions: list[str]) -> str:
    """``["manage_guild"]`` → ``"Manage Server"``, in Discord's own words."""
    return ", ".join(
        _PERMISSION_NAMES.get(p, p.replace("_", " ").title()) for p in sorted(permissions)
    )


def explain(error: BaseException) -> ErrorAnswer:
    """Map an error to the answer a player should see."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        inner = error.__cause__ if isinstance(error, app_commands.TransformerError) else None
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else inner
        if isinstance(original, UserFacingError):
            return ErrorAnswer(str(original), expected=True)
        if isinstance(error, app_commands.TransformerError):
            return ErrorAnswer(
                f"“{error.value}” is not a valid value for this option.", expected=True
            )
    if isinstance(error, UserFacingError):
        return ErrorAnswer(str(error), expected=True)
    if isinstance(error, app_commands.MissingPermissions):
        return ErrorAnswer(
            f"You need the {permission_names(error.missing_permissions)} permission to do that.",
            expected=True,
        )
    if isinstance(error, app_commands.BotMissingPermissions):
        return ErrorAnswer(
            f"I need the {permission_names(error.missing_permissions)} permission here. "
            "Ask a server admin to grant it to my role.",
            expected=True,
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return ErrorAnswer("This command only works in a server.", expected=True)
    if isinstance(error, app_commands.CommandOnCooldown):
        return ErrorAnswer(
            f"Slow down a little: try again in {error.retry_after:.0f} s.", expected=True
        )
    if isinstance(error, app_commands.CheckFailure):
        return ErrorAnswer("You can't use this command here.", expected=True)
    reference = uuid.uuid4().hex[:8].upper()
    if isinstance(getattr(error, "original", error), DATABASE_UNAVAILABLE):
        # Cluster mode: PostgreSQL is lost for now (logged and counted like any fault).
        return ErrorAnswer(
            "The bot's database is temporarily unavailable: try again in a minute.",
            expected=False,
            reference=reference,
        )
    return ErrorAnswer(
        "Sorry, something went wrong on our side. It has been reported; "
        f"if it keeps happening, give the bot's admins this reference: `{reference}`.",
        expected=False,
        reference=reference,
    )


async def send_error(interaction: discord.Interaction[discord.Client], message: str) -> None:
    """Answer with ``message`` whatever state the interaction is in; never raises."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
        else:
            await interaction.followup.send(message, ephemeral=True)
        return
    except discord.NotFound:
        # The interaction token expired (15 minutes) or the interaction is unknown.
        pass
    except discord.HTTPException:
        log.warning("Could not send an error message for an interaction", exc_info=True)
        return
    channel = interaction.channel
    if isinstance(channel, discord.abc.Messageable):
        try:
            await channel.send(f"{interaction.user.mention} {message}")
        except discord.HTTPException:
            log.warning("Could not tell the user about an error in the channel either")
