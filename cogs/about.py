"""``/about``: what this bot is, how long it has run, and which services it can reach."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from cogs.common.formatting import ARENANET_RED
from services.gw2 import GW2APIError
from services.i18n import N_, format_compact_duration, tr

from .common.locale import user_locale

if TYPE_CHECKING:
    from bot.client import GW2Bot

README_URL = "https://github.com/gw2optimizer/gw2optimizer#readme"
EMBED_COLOUR = ARENANET_RED
NOT_CONFIGURED = N_("not configured (optimizer only)")
# Why the GW2 API did not answer /about's build request, by the error's outcome label.
GW2_OUTCOMES = {
    "rate_limited": N_("rate limited"),
    "endpoint_disabled": N_("endpoint disabled"),
    "unavailable": N_("not answering"),
    "bad_response": N_("unexpected answer"),
    "error": N_("error"),
}


class About(commands.Cog):
    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot

    @app_commands.command(name="about")
    async def about(self, interaction: discord.Interaction[GW2Bot]) -> None:
        """Version, uptime and the services this bot uses."""
        bot = self.bot
        locale = user_locale(interaction)
        embed = render_about(
            version=bot.version,
            uptime=timedelta(seconds=int(bot.uptime_seconds)),
            guild_count=len(bot.guilds),
            shard_count=bot.shard_count or 1,
            shard_id=interaction.guild.shard_id if interaction.guild is not None else None,
            gw2_status=await gw2_status(bot, locale),
            mistral_status=await mistral_status(bot, locale),
            locale=locale,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def gw2_status(bot: GW2Bot, locale: str = "en") -> str:
    """The API's build id when it answers quickly (cached), else why not."""
    try:
        build = await bot.services.gw2.build(budget=1.5)
    except GW2APIError as error:
        reason = tr(locale, GW2_OUTCOMES.get(error.outcome, GW2_OUTCOMES["error"]))
        return tr(locale, "unreachable ({outcome})", outcome=reason)
    status = tr(locale, "online (build {build})", build=build.value.id)
    return status + " — " + tr(locale, "cached") if build.stale else status


async def mistral_status(bot: GW2Bot, locale: str = "en") -> str:
    """Whether Mistral answers right now (a cached, time-boxed probe), or that it is not set up.

    The probe gives a message (state and detail), shown in ``locale``."""
    probe = bot.services.mistral_probe
    if probe is None:
        return tr(locale, NOT_CONFIGURED)
    return (await probe.status()).message.render(locale)


def render_about(
    *,
    version: str,
    uptime: timedelta,
    guild_count: int,
    gw2_status: str,
    mistral_status: str,
    shard_count: int = 1,
    shard_id: int | None = None,
    locale: str = "en",
) -> discord.Embed:
    """The ``/about`` embed (pure: values in, embed out)."""
    embed = discord.Embed(
        title="GW2Optimizer",
        description=tr(
            locale,
            "Live World-vs-World match info, account linking and squad composition "
            "for Guild Wars 2 guilds.",
        ),
        colour=EMBED_COLOUR,
        url=README_URL,
    )
    embed.add_field(name=tr(locale, "Version"), value=version)
    embed.add_field(name=tr(locale, "Uptime"), value=format_compact_duration(locale, uptime))
    embed.add_field(name=tr(locale, "Servers"), value=str(guild_count))
    # Shards are numbered from 0 as Discord does, so operators can match /readyz and metrics.
    shards = (
        f"{shard_count}"
        if shard_id is None
        else tr(locale, "{count} (this server: {shard})", count=shard_count, shard=shard_id)
    )
    embed.add_field(name=tr(locale, "Shards"), value=shards)
    embed.add_field(name="GW2 API", value=gw2_status)
    embed.add_field(name="Mistral AI", value=mistral_status)
    embed.add_field(name=tr(locale, "Help"), value=f"[README]({README_URL})")
    return embed


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(About(bot))
