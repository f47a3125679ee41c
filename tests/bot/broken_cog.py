"""A cog whose commands fail on purpose, for the central error handler's tests."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands


class Broken(commands.Cog):
    @app_commands.command(name="broken")
    async def broken(self, interaction: discord.Interaction) -> None:
        """Fails before answering."""
        raise KeyError("internal detail")

    @app_commands.command(name="broken-late")
    async def broken_late(self, interaction: discord.Interaction) -> None:
        """Fails after deferring."""
        await interaction.response.defer(ephemeral=True)
        raise KeyError("internal detail")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Broken())
