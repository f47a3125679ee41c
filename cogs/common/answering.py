"""Answering interactions: the deferral helper and the one error wrapper for buttons and modals.

Slash-command errors reach the command tree's ``on_error``; discord.py does not route errors of
buttons, dynamic items and modals there, so every component answers its errors through
:func:`answer_component_error` (directly, or via :func:`component_errors` / :class:`Responder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import discord
from discord.ext import commands

from bot.errors import PUBLIC_THINKING
from services.errors import UserFacingError

log = logging.getLogger(__name__)

DEFER_AFTER = 1.0

C = TypeVar("C", bound=commands.Cog)


async def answer_component_error(
    interaction: discord.Interaction[Any], error: BaseException, *, name: str | None = None
) -> None:
    """Answer a failed button or modal like a failed command (logged, counted, reported)."""
    await interaction.client.answer_interaction_error(
        interaction, error, where="component", name=name or custom_id_of(interaction)
    )


@contextlib.asynccontextmanager
async def component_errors(
    interaction: discord.Interaction[Any], *, name: str | None = None
) -> AsyncIterator[None]:
    """``async with component_errors(interaction): ...`` answers any error raised inside."""
    try:
        yield
    except Exception as error:
        await answer_component_error(interaction, error, name=name)


def cog_of(interaction: discord.Interaction[Any], name: str, kind: type[C], off: str) -> C:
    """The running cog ``name`` for a component callback; ``off`` is the text shown when it is
    not loaded (a dynamic item outlives its cog across a reload or restart)."""
    client = interaction.client
    # AutoShardedBot is not a subclass of commands.Bot: both share BotBase.
    cog = client.get_cog(name) if isinstance(client, commands.bot.BotBase) else None
    if not isinstance(cog, kind):
        raise UserFacingError(off)
    return cog


async def send_quietly(
    channel: Any,
    *,
    content: str | None = None,
    embed: discord.Embed | None = None,
    allowed_mentions: discord.AllowedMentions | None = None,
) -> None:
    """Post in ``channel``; a failure (closed DMs, missing permission) is logged, not raised."""
    kwargs: dict[str, Any] = {}
    if embed is not None:
        kwargs["embed"] = embed
    if allowed_mentions is not None:
        kwargs["allowed_mentions"] = allowed_mentions
    try:
        await channel.send(content, **kwargs)
    except discord.HTTPException as error:
        log.info("Could not post a message (HTTP %s)", error.status)


def custom_id_of(interaction: discord.Interaction[Any]) -> str:
    """The clicked component's custom id (for logs and metrics names), ``?`` when absent."""
    data: Mapping[str, Any] = interaction.data or {}
    return str(data.get("custom_id", "?"))


class Responder:
    """Answers an interaction directly when the work is quick, or defers after ``after`` seconds.

    Use as ``async with Responder(interaction) as responder: ... await responder.send(...)``.
    A timer (not a task) watches the work, so the fast path costs no extra round trip. With
    ``update=True`` (buttons) the answer edits the clicked message. Errors raised inside the block
    propagate after any pending defer finished, so the error handler sees the right state; for
    buttons (outside the command tree) they are answered here.
    """

    def __init__(
        self,
        interaction: discord.Interaction[Any],
        *,
        after: float = DEFER_AFTER,
        update: bool = False,
    ) -> None:
        self.interaction = interaction
        self.after = after
        self.update = update
        self.deferred = False
        self._timer: asyncio.TimerHandle | None = None
        self._deferring: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Responder:
        self._timer = asyncio.get_running_loop().call_later(self.after, self._defer_now)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: object
    ) -> bool:
        self._stop_timer()
        if self._deferring is not None:
            with contextlib.suppress(discord.HTTPException):
                await self._deferring
        if error is None or not self.update or not isinstance(error, Exception):
            return False
        # Component callbacks do not go through the command tree's error handler.
        await answer_component_error(self.interaction, error)
        return True

    async def send(
        self,
        *,
        content: str | None = None,
        embed: discord.Embed,
        view: discord.ui.View | None = None,
        private_note: str | None = None,
    ) -> None:
        """Send (or, for buttons, edit in) the answer; ``private_note`` follows it as an ephemeral
        message: what concerns only the caller (their key, their account) is never public."""
        await self._send(content=content, embed=embed, view=view)
        self.interaction.extras.pop(PUBLIC_THINKING, None)  # answered: errors follow it
        if private_note:
            await self.interaction.followup.send(private_note, ephemeral=True)

    async def _send(
        self,
        *,
        content: str | None,
        embed: discord.Embed,
        view: discord.ui.View | None,
    ) -> None:
        self._stop_timer()
        response = self.interaction.response
        if self._deferring is not None:
            await self._deferring
        if self.update:
            if self.deferred:
                await self.interaction.edit_original_response(
                    content=content, embed=embed, view=view
                )
            else:
                await response.edit_message(content=content, embed=embed, view=view)
            return
        if self.deferred:
            if view is None:
                await self.interaction.followup.send(content=content or "", embed=embed)
            else:
                await self.interaction.followup.send(content=content or "", embed=embed, view=view)
        elif view is None:
            await response.send_message(content=content, embed=embed)
        else:
            await response.send_message(content=content, embed=embed, view=view)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _defer_now(self) -> None:
        self._timer = None
        if not self.interaction.response.is_done():
            self._deferring = asyncio.create_task(self._defer())

    async def _defer(self) -> None:
        if self.update:
            await self.interaction.response.defer()
        else:
            await self.interaction.response.defer(thinking=True)
            # An error from here on must not replace the public "thinking" message: send_error
            # deletes it and answers privately.
            self.interaction.extras[PUBLIC_THINKING] = True
        self.deferred = True
