"""Pure renderers for the settings and the scheduled update posts (values in, text/embed out).

The match post itself is ``cogs.wvw_render.render_match`` (the same embed as ``/wvw match``);
this module adds what only the scheduled posts and ``/settings`` need.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import discord

from bot.storage.guilds import GuildSettings
from bot.storage.subscriptions import Subscription
from cogs.common.formatting import ARENANET_RED, COLOUR_MARKS, COLOUR_VALUES, NEUTRAL_COLOUR
from cogs.wvw_render import format_kdr, match_title, render_match
from services.matches import LiveMatch
from services.teams import team_name
from services.updates import WeekResult, stale_since_text

SETTINGS_COLOUR = ARENANET_RED
MODE_WORDS = {"edit": "one message kept up to date", "post": "a new message each time"}
RANK_MARKS = ("🥇", "🥈", "🥉")


def render_week_result(result: WeekResult, *, team_id: int | None = None) -> discord.Embed:
    """The final standings of a week: rank, victory points, score and K/D per team."""
    rank = result.rank_of(team_id) if team_id is not None else None
    winner = result.standings[0] if result.standings else None
    embed = discord.Embed(
        title=f"Week result — {match_title(result.match_id)}",
        description=(
            f"{discord.utils.format_dt(result.start_time, 'd')} – "
            f"{discord.utils.format_dt(result.end_time, 'd')}"
            + (f" · **{winner.display_name}** won the week." if winner else "")
        ),
        colour=COLOUR_VALUES.get(winner.colour, NEUTRAL_COLOUR) if winner else NEUTRAL_COLOUR,
    )
    for index, standing in enumerate(result.standings):
        mark = RANK_MARKS[index] if index < len(RANK_MARKS) else f"{index + 1}."
        star = " ★" if team_id is not None and team_id in standing.team_ids else ""
        embed.add_field(
            name=f"{mark} {COLOUR_MARKS.get(standing.colour, '')} {standing.display_name}{star}"[
                :256
            ],
            value=(
                f"**{standing.victory_points:,}** VP\n"
                f"Score {standing.score:,}\n"
                f"K/D {standing.kills:,}/{standing.deaths:,} ({format_kdr(standing.kdr)})"
            ),
            inline=True,
        )
    footer = f"Match {result.match_id} · final standings as last seen before the reset"
    if rank is not None:
        footer = f"Your team finished #{rank} · " + footer
    embed.set_footer(text=footer)
    return embed


def render_update_post(live: LiveMatch, team_id: int) -> tuple[str | None, discord.Embed]:
    """An update post for ``team_id``: the ``/wvw match`` embed, plus a note when data is stale."""
    embed = render_match(
        live.summary,
        fetched_at=live.fetched_at,
        stale=live.stale,
        now=live.now,
        focus_team_id=team_id,
    )
    return (stale_note(live.fetched_at) if live.stale else None), embed


def stale_note(fetched_at: datetime) -> str:
    """Message text above a match embed served from cache."""
    return (
        f"⚠ The GW2 API is not answering — data stale since {stale_since_text(fetched_at)}. "
        "This post updates by itself when it is back."
    )


def outage_note(since: datetime | None) -> str:
    """Posted once when the GW2 API is down and no cached match is left to show."""
    when = f" since {stale_since_text(since)}" if since is not None else ""
    return (
        f"⚠ The GW2 API is not answering — match data stale{when}. "
        "Updates resume by themselves when it is back."
    )


def admin_dm(guild_name: str, channel_label: str, reason: str) -> str:
    """What the admin who set up a stopped subscription is told (once).

    ``channel_label`` is ``#name`` or a description such as ``a deleted channel``."""
    return (
        f"I stopped posting WvW match updates in {channel_label} on **{guild_name}**: {reason} "
        "Fix it, then run `/settings updates` there again to restart them."
    )


def render_settings(
    settings: GuildSettings,
    subscriptions: Sequence[Subscription],
    *,
    guild_name: str,
    limit: int,
) -> discord.Embed:
    """``/settings show``: the guild's default team, update posts (and why any stopped), and
    the other guild settings."""
    embed = discord.Embed(title=f"Settings — {guild_name}"[:256], colour=SETTINGS_COLOUR)
    embed.add_field(
        name="Default team",
        value=team_label(settings.default_team_id)
        if settings.default_team_id is not None
        else "not set — use `/settings team`",
        inline=False,
    )
    lines = [subscription_line(s) for s in subscriptions]
    value = "\n".join(lines) if lines else "none — use `/settings updates` to add a channel"
    if len(value) > 1024:
        value = value[:1000].rsplit("\n", 1)[0] + "\n…"
    embed.add_field(name=f"Match updates ({len(subscriptions)}/{limit})", value=value, inline=False)
    embed.add_field(name="Language", value=settings.language, inline=True)
    embed.add_field(
        name="API key ownership",
        value="required" if settings.key_ownership_policy == "required" else "optional",
        inline=True,
    )
    embed.add_field(
        name="Key leak guard", value="on" if settings.leak_guard_enabled else "off", inline=True
    )
    return embed


def subscription_line(subscription: Subscription) -> str:
    """``<#channel> — Team · every 15 min · one message kept up to date`` (+ why it stopped)."""
    line = (
        f"<#{subscription.channel_id}> — {team_label(subscription.team_id)} · "
        f"every {subscription.interval_minutes} min · {MODE_WORDS[subscription.mode]}"
    )
    if not subscription.enabled:
        reason = subscription.last_error or "stopped"
        when = (
            f" ({discord.utils.format_dt(subscription.disabled_at, 'R')})"
            if subscription.disabled_at is not None
            else ""
        )
        line += f"\n  ⛔ Stopped{when}: {reason}"
    elif subscription.stale_since is not None:
        line += f"\n  ⚠ GW2 API down, data stale since {stale_since_text(subscription.stale_since)}"
    return line


def team_label(team_id: int) -> str:
    name = team_name(team_id)
    return f"{name} ({team_id})" if name else f"Team {team_id}"
