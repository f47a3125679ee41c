"""One channel's scheduled match update: post, edit, an outage note, last week's result, or stop.

:class:`Delivery` serves one claimed subscription of a cycle (``cogs.updates`` runs the loop,
claims the due subscriptions and fetches each distinct match once). Unchanged data (same content
hash, language included) is not re-sent; a deleted message is replaced by a new post; after the
weekly reset the previous week's result is posted first. A deleted channel or a lost permission
stops the subscription (the reason is stored without a language) and the admin who set it up is
told once by DM; anything else is logged, counted and retried at the next slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import discord

from bot.sentry import capture_exception
from bot.storage.subscriptions import Delivered, Subscription, SubscriptionRepository
from cogs.common.checks import PERMISSIONS_EDIT, PERMISSIONS_POST, missing_channel_permissions
from cogs.common.locale import guild_locale
from cogs.common.stopped import (
    MISSING_ACCESS_CODE,
    UNKNOWN_CHANNEL_CODE,
    cannot_see_channel,
    channel_deleted,
    channel_label,
    forbidden_reason,
    tell_admin,
)
from cogs.updates_once import post_once
from cogs.updates_render import (
    admin_dm,
    outage_note,
    render_update_post,
    render_week_result,
    stale_note,
)
from services.gw2 import Fetched, GW2APIError, NotFoundError
from services.gw2.models import Match
from services.i18n import Message
from services.matches import LiveMatch
from services.stored_messages import dump_message
from services.updates import (
    RequestPacer,
    UpdateMetrics,
    WeekResult,
    content_hash,
    is_new_week,
    match_key,
    next_due,
    post_nonce,
)

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

DELIVERY_TIMEOUT = 120.0  # real seconds for one channel, 429 waits included

Outcome = Literal[
    "posted", "edited", "unchanged", "stale_note", "no_match", "disabled", "unsubscribed", "error"
]


@dataclass(slots=True)
class MatchView:
    """One fetched match: analysed once, rendered once per focus team."""

    live: LiveMatch
    embeds: dict[tuple[int, str], discord.Embed] = field(default_factory=dict)

    def embed_for(self, team_id: int, locale: str = "en") -> discord.Embed:
        embed = self.embeds.get((team_id, locale))
        if embed is None:
            embed = self.embeds[(team_id, locale)] = render_update_post(
                self.live, team_id, locale=locale
            )[1]
        return embed

    def content(self, locale: str = "en") -> str | None:
        return stale_note(self.live.fetched_at, locale) if self.live.stale else None


@dataclass(frozen=True, slots=True)
class Stopped:
    """A subscription this cycle turned off, and why (for the admin's DM)."""

    subscription: Subscription
    reason: Message
    channel_label: Message | str


@dataclass(slots=True)
class Cycle:
    """Shared state of one cycle."""

    now: datetime
    teams: Mapping[int, Fetched[Match] | GW2APIError]
    views: Mapping[tuple[str, str], MatchView]
    reschedule: list[tuple[int, datetime]] = field(default_factory=list)
    stopped: list[Stopped] = field(default_factory=list)
    _week_results: dict[tuple[str, str], asyncio.Task[WeekResult | None]] = field(
        default_factory=dict
    )

    async def week_result(
        self,
        repository: SubscriptionRepository,
        match_id: str | None,
        match_start: str | None,
    ) -> WeekResult | None:
        """The previous week's result, read once per match however many channels post it."""
        if match_id is None or match_start is None:
            return None
        key = (match_id, match_start)
        task = self._week_results.get(key)
        if task is None:
            task = self._week_results[key] = asyncio.ensure_future(
                repository.week_result(match_id, match_start)
            )
        return await asyncio.shield(task)


class Delivery:
    """Delivers one subscription's update at a time; shared by every channel of a cycle."""

    def __init__(
        self,
        bot: GW2Bot,
        subscriptions: SubscriptionRepository,
        pacer: RequestPacer,
        metrics: UpdateMetrics,
    ) -> None:
        self.bot = bot
        self.subscriptions = subscriptions
        self.pacer = pacer
        self.metrics = metrics

    async def serve(self, subscription: Subscription, cycle: Cycle) -> Outcome:
        """Deliver one subscription's update; never raises (faults stay with this channel)."""
        if not await self.subscriptions.is_enabled(subscription.id):
            return "unsubscribed"  # turned off (or the guild purged) since the cycle began
        now = cycle.now
        next_at = next_due(subscription.next_due_at or now, subscription.interval_minutes, now)
        action: Literal["post", "edit", "week_result", "stale_note"] = "post"
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                data = cycle.teams.get(subscription.team_id)
                if data is None or isinstance(data, GW2APIError):
                    action = "stale_note"
                    return await self._serve_without_data(subscription, data, next_at, cycle)
                view = cycle.views[match_key(data.value)]
                return await self._serve_match(subscription, view, next_at, cycle)
        except discord.NotFound as error:
            if error.code == UNKNOWN_CHANNEL_CODE:
                return await self._stop(
                    subscription, cycle, channel_deleted(), action, "channel_gone"
                )
            return self._failed(subscription, cycle, next_at, action, error)
        except discord.Forbidden as error:
            reason = self._forbidden_reason(subscription, error)
            return await self._stop(subscription, cycle, reason, action, "forbidden")
        except Exception as error:
            return self._failed(subscription, cycle, next_at, action, error)

    async def _serve_match(
        self, subscription: Subscription, view: MatchView, next_at: datetime, cycle: Cycle
    ) -> Outcome:
        match = view.live.match
        locale = await self._locale(subscription.guild_id)
        digest = content_hash(
            match,
            team_id=subscription.team_id,
            stale=view.live.stale,
            locale=locale,
            fetched_at=view.live.fetched_at,
        )
        new_week = is_new_week(subscription.last_match_id, subscription.last_match_start, match)
        has_message = subscription.mode == "post" or subscription.last_message_id is not None
        # After an outage note the channel shows the note, not the data: send the data again even
        # if it did not change (this also clears ``stale_since``, so the next outage gets a note).
        unchanged = digest == subscription.last_posted_hash and subscription.stale_since is None
        if not new_week and unchanged and has_message:
            cycle.reschedule.append((subscription.id, next_at))
            self.metrics.delivery("edit" if subscription.mode == "edit" else "post", "unchanged")
            return "unchanged"

        channel = self.bot.get_partial_messageable(
            subscription.channel_id, guild_id=subscription.guild_id
        )
        embed = view.embed_for(subscription.team_id, locale)
        content = view.content(locale)
        outcome: Outcome = "posted"
        message: discord.Message | None = None
        match_id, match_start = match_key(match)
        if new_week:
            result = await cycle.week_result(
                self.subscriptions, subscription.last_match_id, subscription.last_match_start
            )
            if result is not None:
                await self.pacer.acquire()
                await channel.send(
                    embed=render_week_result(result, team_id=subscription.team_id, locale=locale),
                    nonce=post_nonce("week_result", subscription.id, subscription.next_due_at),
                )
                self.metrics.delivery("week_result", "ok")
            await self.subscriptions.record_week_result_posted(
                subscription.id, match_id, match_start
            )
        elif subscription.mode == "edit" and subscription.last_message_id is not None:
            try:
                await self.pacer.acquire()
                message = await channel.get_partial_message(subscription.last_message_id).edit(
                    content=content, embed=embed
                )
                outcome = "edited"
                self.metrics.delivery("edit", "ok")
            except discord.NotFound as error:
                if error.code != 10008:
                    raise
                self.metrics.delivery("edit", "message_missing")
        if message is None:
            message = await post_once(
                channel,
                subscription,
                self.subscriptions,
                self.pacer,
                now=cycle.now,
                bot_user_id=self.bot.user.id if self.bot.user else None,
                content=content,
                embed=embed,
            )
            self.metrics.delivery("post", "ok")
        await self.subscriptions.record_delivery(
            subscription.id,
            Delivered(message.id, match_id, match_start, digest, cycle.now, next_at),
        )
        return outcome

    async def _serve_without_data(
        self,
        subscription: Subscription,
        error: GW2APIError | None,
        next_at: datetime,
        cycle: Cycle,
    ) -> Outcome:
        """No match data at all: one outage note per outage, or quietly wait (team not playing)."""
        if isinstance(error, NotFoundError):
            cycle.reschedule.append((subscription.id, next_at))
            return "no_match"
        if subscription.stale_since is not None:
            cycle.reschedule.append((subscription.id, next_at))
            self.metrics.delivery("stale_note", "unchanged")
            return "unchanged"
        since = subscription.last_posted_at
        note = outage_note(since, await self._locale(subscription.guild_id))
        channel = self.bot.get_partial_messageable(
            subscription.channel_id, guild_id=subscription.guild_id
        )
        sent = False
        if subscription.mode == "edit" and subscription.last_message_id is not None:
            with contextlib.suppress(discord.NotFound):
                await self.pacer.acquire()
                await channel.get_partial_message(subscription.last_message_id).edit(content=note)
                sent = True
        if not sent:
            await self.pacer.acquire()
            await channel.send(
                note, nonce=post_nonce("stale_note", subscription.id, subscription.next_due_at)
            )
        self.metrics.delivery("stale_note", "ok")
        await self.subscriptions.mark_stale(subscription.id, since or cycle.now, next_at)
        return "stale_note"

    async def _locale(self, guild_id: int) -> str:
        """The server's language for its scheduled posts."""
        return await guild_locale(self.bot, self.bot.get_guild(guild_id), guild_id)

    async def _stop(
        self,
        subscription: Subscription,
        cycle: Cycle,
        reason: Message,
        action: Literal["post", "edit", "week_result", "stale_note"],
        kind: Literal["channel_gone", "forbidden"],
    ) -> Outcome:
        """Turn the subscription off; ``kind`` (the metrics label) comes from the error's type,
        ``reason`` is the text for the admin, stored without a language (shown in the reader's
        by ``/settings show``)."""
        log.info("Stopping match updates in channel %d: %s", subscription.channel_id, reason)
        self.metrics.delivery(action, kind)
        self.metrics.disabled.labels(reason=kind).inc()
        await self.subscriptions.disable(subscription.id, dump_message(reason), cycle.now)
        label = channel_label(self.bot, subscription.channel_id)
        cycle.stopped.append(Stopped(subscription, reason, label))
        return "disabled"

    def _failed(
        self,
        subscription: Subscription,
        cycle: Cycle,
        next_at: datetime,
        action: Literal["post", "edit", "week_result", "stale_note"],
        error: BaseException,
    ) -> Outcome:
        log.warning(
            "Match update for channel %d failed; retrying at the next slot",
            subscription.channel_id,
            exc_info=(type(error), error, error.__traceback__),
        )
        if not isinstance(error, discord.HTTPException | TimeoutError):
            capture_exception(error, where="update_delivery")
        self.metrics.delivery(action, "error")
        cycle.reschedule.append((subscription.id, next_at))
        return "error"

    def _forbidden_reason(self, subscription: Subscription, error: discord.Forbidden) -> Message:
        if error.code == MISSING_ACCESS_CODE:
            return cannot_see_channel()
        channel = self.bot.get_channel(subscription.channel_id)
        missing: list[str] = []
        if isinstance(channel, discord.abc.GuildChannel):
            missing = missing_channel_permissions(channel, channel.guild.me, subscription.mode)
        needed = PERMISSIONS_EDIT if subscription.mode == "edit" else PERMISSIONS_POST
        return forbidden_reason(missing, needed)

    async def tell_admins(self, stopped: Sequence[Stopped]) -> None:
        """DM the admin who set up each stopped subscription, once (nobody if unknown/closed)."""
        told: set[tuple[int, int, str]] = set()
        for item in stopped:
            subscription = item.subscription
            admin_id = subscription.created_by
            # Several teams in one channel stop together: one message about the channel.
            key = (admin_id or 0, subscription.channel_id, dump_message(item.reason))
            if admin_id is None or key in told:
                continue
            told.add(key)
            told_them = await tell_admin(
                self.bot,
                self.pacer,
                admin_dm,
                admin_id=admin_id,
                guild_id=subscription.guild_id,
                channel_label=item.channel_label,
                reason=item.reason,
            )
            self.metrics.delivery("admin_dm", "ok" if told_them else "forbidden")
