"""Permission checks shared by the cogs (flag names as in :class:`discord.Permissions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import discord
from discord import app_commands

# What a message with an embed needs in a channel; editing it later also needs the history.
PERMISSIONS_POST = ("view_channel", "send_messages", "embed_links")
PERMISSIONS_EDIT = (*PERMISSIONS_POST, "read_message_history")

# Admin subcommands: checked at run time (see cogs/settings.py for why not at sync time).
manage_server = app_commands.checks.has_permissions(manage_guild=True)


def missing_permissions(permissions: discord.Permissions, needed: Sequence[str]) -> list[str]:
    """The flags of ``needed`` that ``permissions`` lacks, in order."""
    return [name for name in needed if not getattr(permissions, name)]


def missing_post_permissions(
    permissions: discord.Permissions, channel: object, *, mode: Literal["edit", "post"] = "post"
) -> list[str]:
    """What the bot lacks to post an embed in ``channel`` (and edit it later in ``edit`` mode).

    In a thread, posting needs *Send Messages in Threads* instead of *Send Messages*.
    """
    needed = list(PERMISSIONS_EDIT if mode == "edit" else PERMISSIONS_POST)
    if isinstance(channel, discord.Thread):
        needed[needed.index("send_messages")] = "send_messages_in_threads"
    return missing_permissions(permissions, needed)


def missing_channel_permissions(
    channel: discord.abc.GuildChannel, member: discord.Member, mode: Literal["edit", "post"]
) -> list[str]:
    """What ``member`` (the bot) lacks in ``channel`` to run match updates in ``mode``."""
    return missing_post_permissions(channel.permissions_for(member), channel, mode=mode)
