"""Baseline commands for ``benchmarks/wvw_commands.py``, loaded only by the benchmark.

- ``/ping``: the trivial command, an immediate one-line embed reply with no I/O.
- ``/ping-embed`` and ``/ping-rich`` (with ``--breakdown``): reply with ``/wvw match``'s cached
  embed, without and with its five buttons, skipping the command's own logic; they split the
  difference between ``/ping`` and ``/wvw match`` into "a bigger message" and "the command".
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

TEAM = 11005


class Trivial(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="ping")
    async def ping(self, interaction: discord.Interaction[Any]) -> None:
        """Pong, at once."""
        await interaction.response.send_message(embed=discord.Embed(title="Pong"))

    @app_commands.command(name="ping-embed")
    async def ping_embed(self, interaction: discord.Interaction[Any]) -> None:
        """The /wvw match embed without buttons."""
        embed, _ = await self.bot.get_cog("WvW").match_answer(TEAM, None)  # type: ignore[union-attr]
        await interaction.response.send_message(embed=embed)

    @app_commands.command(name="ping-rich")
    async def ping_rich(self, interaction: discord.Interaction[Any]) -> None:
        """The /wvw match embed and buttons."""
        embed, view = await self.bot.get_cog("WvW").match_answer(TEAM, None)  # type: ignore[union-attr]
        await interaction.response.send_message(embed=embed, view=view)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Trivial(bot))
