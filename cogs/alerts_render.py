"""Pure renderers of the live alerts (values in, text/embed out).

One message per channel per poll: :func:`render_batch` turns every block (one per subscription
of the channel) into the message text and says which roles it may mention. Text is used rather
than an embed because a role mention in an embed does not ping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import discord
from babel.dates import format_timedelta

from bot.storage.alerts import AlertSubscription
from cogs.common.formatting import (
    COLOUR_MARKS,
    COLOUR_NAMES,
    MAP_SHORT_NAMES,
    map_name,
    match_title,
    objective_type_name,
)
from services.alerts import AlertEvent, AlertFilter, held_for, pings_role
from services.i18n import N_, Message, format_compact_duration, format_number, tr, trn
from services.stored_messages import render_message, render_stored
from services.teams import team_name
from services.updates import stale_since_text

MESSAGE_LIMIT = 2000
ALERTS_COLOUR = discord.Colour(0xB4232B)
SCOPE_WORDS = {"ours": N_("our objectives"), "match": N_("the whole match")}
OWNER_COLOUR = {"Red": "red", "Blue": "blue", "Green": "green"}


@dataclass(frozen=True, slots=True)
class AlertBlock:
    """What one subscription gets in this poll's message for its channel."""

    team_id: int
    match_id: str | None
    colour: str | None
    events: Sequence[AlertEvent]
    alert_filter: AlertFilter
    role_id: int | None = None
    colour_names: Mapping[str, str] = field(default_factory=dict)
    notes: Sequence[str | Message] = ()


@dataclass(frozen=True, slots=True)
class RenderedBatch:
    content: str
    role_ids: tuple[int, ...]


def render_batch(
    blocks: Sequence[AlertBlock], objective_names: Mapping[str, str], locale: str = "en"
) -> RenderedBatch | None:
    """The channel's message (in the server's ``locale``), or ``None`` when there is nothing."""
    sections: list[list[str]] = []
    roles: list[int] = []
    for block in blocks:
        lines = [n.render(locale) if isinstance(n, Message) else n for n in block.notes]
        lines += [
            event_line(e, block, objective_names, locale)
            for e in block.events
            if block.alert_filter.wants(e, block.colour)
        ]
        if not lines:
            continue
        pings = any(
            pings_role(e, block.colour) and block.alert_filter.wants(e, block.colour)
            for e in block.events
        )
        if block.role_id is not None and pings and block.role_id not in roles:
            roles.append(block.role_id)
        sections.append([block_title(block, locale), *lines])
    if not sections:
        return None
    head = [tr(locale, "{role} our keep or castle fell!", role=f"<@&{r}>") for r in roles]
    return RenderedBatch(_fit(head, sections, locale), tuple(roles))


def block_title(block: AlertBlock, locale: str = "en") -> str:
    name = team_name(block.team_id) or tr(locale, "team {id}", id=block.team_id)
    where = f" · {match_title(block.match_id, locale)}" if block.match_id else ""
    mark = COLOUR_MARKS.get(block.colour or "", "")
    title = tr(locale, "WvW alerts — {server}", server=f"{mark} {name}")
    return f"**{title}**{where}".replace("  ", " ")


def event_line(
    event: AlertEvent,
    block: AlertBlock,
    objective_names: Mapping[str, str],
    locale: str = "en",
) -> str:
    """One line per event, in the players' words (and language)."""
    if event.kind == "reset_reminder":
        reset_at = event.at + timedelta(minutes=event.minutes_left or 0)
        return "⏰ " + tr(
            locale,
            "Weekly reset in {time} ({clock})",
            time=_minutes(event.minutes_left, locale),
            clock=discord.utils.format_dt(reset_at, "t"),
        )
    if event.kind == "skirmish_reminder":
        standing = event.standing or {}
        ranked = sorted(standing.items(), key=lambda item: item[1], reverse=True)
        scores = " · ".join(
            f"{COLOUR_MARKS.get(c, '')} {_colour_name(c, block, locale)} {format_number(locale, s)}"
            for c, s in ranked
        )
        return "⏰ " + tr(
            locale,
            "Skirmish {number} ends in {time}: {scores}",
            number=event.skirmish,
            time=_minutes(event.minutes_left, locale),
            scores=scores,
        )
    if event.kind == "catch_up":
        count = block.alert_filter.count_wanted(event.changes, block.colour)
        if event.reason == "outage":
            text = trn(
                locale,
                "While the GW2 API was down: {count} change (not listed one by one).",
                "While the GW2 API was down: {count} changes (not listed one by one).",
                count,
            )
        else:
            text = trn(
                locale,
                "While offline: {count} change (not listed one by one).",
                "While offline: {count} changes (not listed one by one).",
                count,
            )
        return f"↻ {text}"
    where = objective_label(event, objective_names, locale)
    if event.kind == "flip":
        new = OWNER_COLOUR.get(event.owner or "", "")
        old = OWNER_COLOUR.get(event.previous_owner or "", "")
        held = held_for(event)
        held_text = (
            " " + tr(locale, "after {duration}", duration=format_compact_duration(locale, held))
            if held is not None
            else ""
        )
        if old and old == block.colour:
            lead = "🚨" if pings_role(event, block.colour) else "⚠"
            lost = tr(
                locale,
                "{objective} lost to {side}",
                objective=where,
                side=_side(new, block, locale),
            )
            return f"{lead} {lost}{held_text}"
        if new and new == block.colour:
            if old:
                return (
                    "✅ "
                    + tr(
                        locale,
                        "{objective} taken from {side}",
                        objective=where,
                        side=_side(old, block, locale),
                    )
                    + held_text
                )
            return "✅ " + tr(locale, "{objective} taken", objective=where)
        took = tr(
            locale,
            "{objective}: {new} took it from {old}",
            objective=where,
            new=_side(new, block, locale),
            old=_side(old, block, locale),
        )
        return f"🔁 {took}{held_text}"
    if event.kind == "claim":
        return "🏳 " + tr(
            locale, "{objective} claimed by {guild}", objective=where, guild=_guild(event, locale)
        )
    if event.kind == "unclaim":
        return "🏳 " + tr(
            locale,
            "{objective} no longer claimed by {guild}",
            objective=where,
            guild=_guild(event, locale),
        )
    # The one kind left: an upgrade tier reached.
    return "⬆ " + tr(locale, "{objective} reached tier {tier}", objective=where, tier=event.tier)


def objective_label(
    event: AlertEvent, objective_names: Mapping[str, str], locale: str = "en"
) -> str:
    fallback = event.objective_id or tr(locale, "objective")
    name = objective_names.get(event.objective_id or "", fallback)
    kind = objective_type_name(event.objective_type or "", locale=locale)
    map_type = event.map_type or ""
    where = tr(locale, MAP_SHORT_NAMES[map_type]) if map_type in MAP_SHORT_NAMES else map_type
    # "(Red BL keep)"; German keeps the noun's capital, French and Spanish put the type first.
    kind = kind if locale == "de" else kind.lower()
    label = tr(locale, "({map} {kind})", map=where, kind=kind)
    return f"**{discord.utils.escape_markdown(name)}** {label}"


def outage_note(since: datetime) -> Message:
    return Message(
        "⚠ The GW2 API is not answering — alerts paused since {since}. "
        "They resume by themselves when it is back.",
        since=stale_since_text(since),
    )


RESUMED_NOTE = Message("✅ The GW2 API answers again — alerts resumed.")


def admin_dm(
    guild_name: str | None, channel_label: Message | str, reason: Message, locale: str = "en"
) -> str:
    """What the admin who set up a stopped alert subscription is told (once), in the server's
    language; without ``guild_name`` (the bot left) the server is "your server"."""
    return tr(
        locale,
        "I stopped posting WvW alerts in {channel} on **{server}**: {reason} "
        "Fix it, then run `/alerts set` there again to restart them.",
        channel=channel_label,
        server=guild_name if guild_name is not None else Message("your server"),
        reason=render_message(reason, locale),
    )


def render_alert_list(
    subscriptions: Sequence[AlertSubscription],
    *,
    guild_name: str,
    limit: int,
    locale: str = "en",
) -> discord.Embed:
    """``/alerts show``: every alert subscription of the server and its filters."""
    title = tr(locale, "WvW alerts — {server}", server=guild_name)
    embed = discord.Embed(title=title[:256], colour=ALERTS_COLOUR)
    if not subscriptions:
        embed.description = tr(locale, "No alerts yet. Add one with `/alerts set`.")
        return embed
    embed.description = trn(
        locale,
        "{count} of {limit} alert subscriptions.",
        "{count} of {limit} alert subscriptions.",
        len(subscriptions),
        limit=limit,
    )
    for subscription in subscriptions[:25]:
        name = team_name(subscription.team_id) or tr(locale, "team {id}", id=subscription.team_id)
        types = ", ".join(
            sorted(objective_type_name(t, locale=locale) for t in subscription.objective_types)
        )
        maps = ", ".join(map_name(m, locale) for m in sorted(subscription.map_types))
        reminders = tr(locale, "on") if subscription.reminders else tr(locale, "off")
        lines = [
            tr(
                locale,
                "In {channel} · {scope}",
                channel=f"<#{subscription.channel_id}>",
                scope=tr(locale, SCOPE_WORDS[subscription.scope]),
            ),
            tr(locale, "Types: {types}", types=types),
            tr(locale, "Maps: {maps}", maps=maps),
            tr(locale, "Reminders: {state}", state=reminders)
            + (
                " · " + tr(locale, "pings {role}", role=f"<@&{subscription.role_id}>")
                if subscription.role_id
                else ""
            ),
        ]
        if not subscription.enabled:
            # A stored message (older rows: English text), see services.stored_messages.
            reason = (
                render_stored(subscription.last_error, locale)
                if subscription.last_error
                else tr(locale, "unknown reason")
            )
            lines.append(tr(locale, "**Stopped:** {reason}", reason=reason))
        elif subscription.paused_since is not None:
            lines.append(tr(locale, "Paused: the GW2 API is not answering."))
        embed.add_field(name=name[:256], value="\n".join(lines)[:1024], inline=False)
    return embed


# ------------------------------------------------------------------------------ helpers
def _fit(head: list[str], sections: list[list[str]], locale: str = "en") -> str:
    """Join within Discord's 2,000 characters; what does not fit is counted, not cut mid-line."""
    lines = [*head]
    left = sum(len(section) - 1 for section in sections)
    for section in sections:
        if lines:
            lines.append("")
        lines.append(section[0])
        for line in section[1:]:
            tail = tr(locale, "… and {count} more", count=left)
            if len("\n".join([*lines, line, tail])) > MESSAGE_LIMIT:
                lines.append(tail)
                return "\n".join(lines)
            lines.append(line)
            left -= 1
    return "\n".join(lines)


def _minutes(minutes: int | None, locale: str = "en") -> str:
    if minutes is None:
        return tr(locale, "a moment")
    if locale != "en":  # the language's own narrow units ("5 Min.", "1 Std.")
        return format_timedelta(
            timedelta(minutes=minutes),
            granularity="hour" if minutes % 60 == 0 else "minute",
            threshold=10**9,  # never round up to a larger unit
            format="narrow",
            locale=locale,
        )
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def _colour_name(colour: str, block: AlertBlock, locale: str = "en") -> str:
    """The team's name, else its colour in the reader's language."""
    name = block.colour_names.get(colour)
    if name:
        return discord.utils.escape_markdown(name)
    known = COLOUR_NAMES.get(colour.lower())
    return tr(locale, known) if known is not None else colour.title()


def _side(colour: str, block: AlertBlock, locale: str = "en") -> str:
    if not colour:
        return tr(locale, "nobody")
    return f"{COLOUR_MARKS.get(colour, '')} {_colour_name(colour, block, locale)}"


def _guild(event: AlertEvent, locale: str = "en") -> str:
    if event.guild_name:
        name = discord.utils.escape_mentions(discord.utils.escape_markdown(event.guild_name))
        tag = discord.utils.escape_mentions(discord.utils.escape_markdown(event.guild_tag or ""))
        return f"**{name}** [{tag}]" if tag else f"**{name}**"
    return tr(locale, "a guild")
