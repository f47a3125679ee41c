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
from cogs.common.formatting import (
    ARENANET_RED,
    COLOUR_MARKS,
    COLOUR_VALUES,
    NEUTRAL_COLOUR,
    match_title,
)
from cogs.wvw_render import format_kdr, render_match
from services.i18n import LANGUAGE_NAMES, N_, Message, format_number, server_language, tr
from services.matches import LiveMatch
from services.stored_messages import render_message, render_stored
from services.teams import team_name
from services.updates import WeekResult, stale_since_text

SETTINGS_COLOUR = ARENANET_RED
# Message ids: pass through ``tr(locale, ...)`` to show.
MODE_WORDS = {"edit": N_("one message kept up to date"), "post": N_("a new message each time")}
RANK_MARKS = ("🥇", "🥈", "🥉")


def render_week_result(
    result: WeekResult, *, team_id: int | None = None, locale: str = "en"
) -> discord.Embed:
    """The final standings of a week: rank, victory points, score and K/D per team."""
    rank = result.rank_of(team_id) if team_id is not None else None
    winner = result.standings[0] if result.standings else None
    dates = (
        f"{discord.utils.format_dt(result.start_time, 'd')} – "
        f"{discord.utils.format_dt(result.end_time, 'd')}"
    )
    embed = discord.Embed(
        title=tr(locale, "Week result — {match}", match=match_title(result.match_id, locale)),
        description=(
            tr(locale, "{dates} · **{team}** won the week.", dates=dates, team=winner.display_name)
            if winner
            else dates
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
            value=tr(
                locale,
                "**{vp}** VP\nScore {score}\nK/D {kills}/{deaths} ({kdr})",
                vp=format_number(locale, standing.victory_points),
                score=format_number(locale, standing.score),
                kills=format_number(locale, standing.kills),
                deaths=format_number(locale, standing.deaths),
                kdr=format_kdr(standing.kdr, locale),
            ),
            inline=True,
        )
    if rank is not None:
        footer = tr(
            locale,
            "Your team finished #{rank} · Match {match_id} · final standings as last seen "
            "before the reset",
            rank=rank,
            match_id=result.match_id,
        )
    else:
        footer = tr(
            locale,
            "Match {match_id} · final standings as last seen before the reset",
            match_id=result.match_id,
        )
    embed.set_footer(text=footer)
    return embed


def render_update_post(
    live: LiveMatch, team_id: int, *, locale: str = "en"
) -> tuple[str | None, discord.Embed]:
    """An update post for ``team_id``: the ``/wvw match`` embed, plus a note when data is stale."""
    embed = render_match(
        live.summary,
        fetched_at=live.fetched_at,
        stale=live.stale,
        now=live.now,
        focus_team_id=team_id,
        locale=locale,
    )
    return (stale_note(live.fetched_at, locale) if live.stale else None), embed


def stale_note(fetched_at: datetime, locale: str = "en") -> str:
    """Message text above a match embed served from cache."""
    return tr(
        locale,
        "⚠ The GW2 API is not answering — data stale since {since}. "
        "This post updates by itself when it is back.",
        since=stale_since_text(fetched_at),
    )


def outage_note(since: datetime | None, locale: str = "en") -> str:
    """Posted once when the GW2 API is down and no cached match is left to show."""
    if since is None:
        return tr(
            locale,
            "⚠ The GW2 API is not answering — match data stale. "
            "Updates resume by themselves when it is back.",
        )
    return tr(
        locale,
        "⚠ The GW2 API is not answering — match data stale since {since}. "
        "Updates resume by themselves when it is back.",
        since=stale_since_text(since),
    )


def admin_dm(
    guild_name: str | None, channel_label: Message | str, reason: Message, locale: str = "en"
) -> str:
    """What the admin who set up a stopped subscription is told (once), in the server's language.

    ``channel_label`` is ``#name`` or a description such as ``a channel that no longer exists``;
    without ``guild_name`` (the bot left) the server is "your server"."""
    return tr(
        locale,
        "I stopped posting WvW match updates in {channel} on **{server}**: {reason} "
        "Fix it, then run `/settings updates` there again to restart them.",
        channel=channel_label,
        server=guild_name if guild_name is not None else Message("your server"),
        reason=render_message(reason, locale),
    )


def render_settings(
    settings: GuildSettings,
    subscriptions: Sequence[Subscription],
    *,
    guild_name: str,
    limit: int,
    locale: str = "en",
    server_locale: str | None = None,
) -> discord.Embed:
    """``/settings show``: the guild's default team, update posts (and why any stopped), and
    the other guild settings. ``server_locale`` is the server's Discord preferred locale."""
    embed = discord.Embed(
        title=tr(locale, "Settings — {server}", server=guild_name)[:256], colour=SETTINGS_COLOUR
    )
    embed.add_field(
        name=tr(locale, "Default team"),
        value=team_label(settings.default_team_id, locale)
        if settings.default_team_id is not None
        else tr(locale, "not set — use `/settings team`"),
        inline=False,
    )
    lines = [subscription_line(s, locale) for s in subscriptions]
    value = (
        "\n".join(lines) if lines else tr(locale, "none — use `/settings updates` to add a channel")
    )
    if len(value) > 1024:
        value = value[:1000].rsplit("\n", 1)[0] + "\n…"
    embed.add_field(
        name=tr(locale, "Match updates ({count}/{limit})", count=len(subscriptions), limit=limit),
        value=value,
        inline=False,
    )
    embed.add_field(
        name=tr(locale, "Language"), value=language_label(settings, server_locale, locale)
    )
    embed.add_field(
        name=tr(locale, "API key ownership"),
        value=tr(locale, "required")
        if settings.key_ownership_policy == "required"
        else tr(locale, "optional"),
        inline=True,
    )
    embed.add_field(
        name=tr(locale, "Key leak guard"),
        value=tr(locale, "on") if settings.leak_guard_enabled else tr(locale, "off"),
        inline=True,
    )
    return embed


def language_label(settings: GuildSettings, server_locale: str | None, locale: str) -> str:
    """``Français`` or ``Français (the server's Discord language)`` when not chosen."""
    spoken = server_language(settings.language, server_locale)
    if settings.language == "en":  # the column's default: never chosen, follows the server
        return tr(
            locale,
            "{language} (follows the server's Discord language)",
            language=LANGUAGE_NAMES[spoken],
        )
    return LANGUAGE_NAMES[spoken]


def subscription_line(subscription: Subscription, locale: str = "en") -> str:
    """``<#channel> — Team · every 15 min · one message kept up to date`` (+ why it stopped)."""
    line = tr(
        locale,
        "{channel} — {team} · every {interval} min · {mode}",
        channel=f"<#{subscription.channel_id}>",
        team=team_label(subscription.team_id, locale),
        interval=subscription.interval_minutes,
        mode=tr(locale, MODE_WORDS[subscription.mode]),
    )
    if not subscription.enabled:
        # ``last_error`` is a stored message (older rows: English text), see stored_messages.
        reason = (
            render_stored(subscription.last_error, locale)
            if subscription.last_error
            else tr(locale, "stopped")
        )
        if subscription.disabled_at is not None:
            line += "\n  " + tr(
                locale,
                "⛔ Stopped ({when}): {reason}",
                when=discord.utils.format_dt(subscription.disabled_at, "R"),
                reason=reason,
            )
        else:
            line += "\n  " + tr(locale, "⛔ Stopped: {reason}", reason=reason)
    elif subscription.stale_since is not None:
        line += "\n  " + tr(
            locale,
            "⚠ GW2 API down, data stale since {since}",
            since=stale_since_text(subscription.stale_since),
        )
    return line


def team_label(team_id: int, locale: str = "en") -> str:
    name = team_name(team_id)
    return f"{name} ({team_id})" if name else tr(locale, "Team {team_id}", team_id=team_id)
