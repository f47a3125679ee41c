"""The one place that turns app-command errors into answers.

Known errors (domain errors, missing permissions, checks) become a short ephemeral message. Anything
else is logged with its traceback, counted, sent to Sentry, and the user gets an apology with a
reference id they can quote to the bot's admins. The answer goes where the interaction allows: the
first response or a follow-up when already answered. When the token has expired the error is logged
and dropped: an answer meant for one user never falls back to a public channel post.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import discord
from discord import app_commands

from services.errors import UserFacingError
from services.i18n import N_, Message, tr

from .storage.database import DatabaseUnavailableError as DATABASE_UNAVAILABLE

log = logging.getLogger(__name__)

_PERMISSION_NAMES = {
    "manage_guild": N_("Manage Server"),
    "manage_messages": N_("Manage Messages"),
    "send_messages": N_("Send Messages"),
    "embed_links": N_("Embed Links"),
    "view_channel": N_("View Channel"),
    "read_message_history": N_("Read Message History"),
}


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What to tell the user, and whether the error was expected."""

    message: str
    expected: bool
    reference: str | None = None


def permission_names(permissions: list[str], locale: str = "en") -> str:
    """``["manage_guild"]`` → ``"Manage Server"``, in Discord's own words (and language)."""
    return ", ".join(
        tr(locale, _PERMISSION_NAMES[p]) if p in _PERMISSION_NAMES else p.replace("_", " ").title()
        for p in sorted(permissions)
    )


def permission_messages(permissions: list[str]) -> list[Message | str]:
    """``permission_names`` translated later: for a text stored without a language."""
    return [
        Message(_PERMISSION_NAMES[p]) if p in _PERMISSION_NAMES else p.replace("_", " ").title()
        for p in sorted(permissions)
    ]


UNKNOWN_MESSAGE_CODE = 10008

# ``interaction.extras`` flag: the interaction was deferred publicly and its public "thinking"
# message still waits for the answer (set and cleared by cogs/common/answering.Responder).
PUBLIC_THINKING = "public_thinking"

# Discord's codes for an interaction whose token is gone (unknown webhook / interaction, invalid
# webhook token: a follow-up after 15 minutes answers 401 with 50027).
EXPIRED_INTERACTION_CODES = frozenset({10015, 10062, 50027})


def is_expired_interaction(error: BaseException) -> bool:
    """Whether ``error`` says the interaction's token expired (15 minutes) or is unknown."""
    return isinstance(error, discord.HTTPException) and error.code in EXPIRED_INTERACTION_CODES


def explain(error: BaseException, locale: str = "en") -> ErrorAnswer:
    """Map an error to the answer a player should see, in ``locale``."""
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        inner = error.__cause__ if isinstance(error, app_commands.TransformerError) else None
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else inner
        if isinstance(original, UserFacingError):
            return ErrorAnswer(original.localised(locale), expected=True)
        if isinstance(error, app_commands.TransformerError):
            return ErrorAnswer(
                tr(locale, "“{value}” is not a valid value for this option.", value=error.value),
                expected=True,
            )
    if isinstance(error, UserFacingError):
        return ErrorAnswer(error.localised(locale), expected=True)
    if is_expired_interaction(getattr(error, "original", error)):
        # Not a defect: the player waited past the token's life; send_error drops the answer.
        return ErrorAnswer("This interaction expired. Run the command again.", expected=True)
    if isinstance(error, app_commands.MissingPermissions):
        return ErrorAnswer(
            tr(
                locale,
                "You need the {permissions} permission to do that.",
                permissions=permission_names(error.missing_permissions, locale),
            ),
            expected=True,
        )
    if isinstance(error, app_commands.BotMissingPermissions):
        return ErrorAnswer(
            tr(
                locale,
                "I need the {permissions} permission here. "
                "Ask a server admin to grant it to my role.",
                permissions=permission_names(error.missing_permissions, locale),
            ),
            expected=True,
        )
    if isinstance(error, app_commands.NoPrivateMessage):
        return ErrorAnswer(tr(locale, "This command only works in a server."), expected=True)
    if isinstance(error, app_commands.CommandOnCooldown):
        return ErrorAnswer(
            tr(
                locale,
                "Slow down a little: try again in {seconds} s.",
                seconds=f"{error.retry_after:.0f}",
            ),
            expected=True,
        )
    if isinstance(error, app_commands.CheckFailure):
        return ErrorAnswer(tr(locale, "You can't use this command here."), expected=True)
    reference = uuid.uuid4().hex[:8].upper()
    if isinstance(getattr(error, "original", error), DATABASE_UNAVAILABLE):
        # Cluster mode: PostgreSQL is lost for now (logged and counted like any fault).
        return ErrorAnswer(
            tr(locale, "The bot's database is temporarily unavailable: try again in a minute."),
            expected=False,
            reference=reference,
        )
    return ErrorAnswer(
        tr(
            locale,
            "Sorry, something went wrong on our side. It has been reported; "
            "if it keeps happening, give the bot's admins this reference: `{reference}`.",
            reference=reference,
        ),
        expected=False,
        reference=reference,
    )


async def send_error(interaction: discord.Interaction[discord.Client], message: str) -> None:
    """Answer with ``message`` whatever state the interaction is in; never raises.

    The answer is always private. After a public defer the first follow-up would replace the
    public "thinking" message (and be public), so that message is deleted first."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(message, ephemeral=True)
        else:
            if interaction.extras.pop(PUBLIC_THINKING, False):
                await _delete_thinking(interaction)
            await interaction.followup.send(message, ephemeral=True)
    except discord.HTTPException as error:
        if is_expired_interaction(error) or isinstance(error, discord.NotFound):
            # The token expired (15 minutes) or the interaction is unknown: never fall back to
            # the channel (the answer is for one user only); log it and drop it.
            log.info("An interaction expired before its error could be answered; dropped")
        else:
            log.warning("Could not send an error message for an interaction", exc_info=True)


async def _delete_thinking(interaction: discord.Interaction[discord.Client]) -> None:
    """Delete the public "thinking" message; already gone (10008) is fine, anything else raises
    (while it exists, a follow-up would replace it in public)."""
    try:
        await interaction.delete_original_response()
    except discord.NotFound as error:
        if error.code != UNKNOWN_MESSAGE_CODE:
            raise
