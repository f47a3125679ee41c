"""Scheduled WvW match-update posts: one loop serves every subscribed channel.

(Over ~450 lines: the loop and its per-channel delivery paths read best together; rendering is
in ``updates_render``, scheduling rules in ``services.updates``, matches in ``services.matches``.
Next split when it grows: the delivery of one channel.)

A cycle (:meth:`Updates.run_cycle`):

1. finds the due subscriptions (in guilds the bot is still in);
2. fetches each distinct match once through the GW2 client (teams grouped by their last known
   match; the client caches a match under every team in it, see ``services.updates.fetch_by_plan``);
3. analyses and renders each match once per focus team with ``cogs.wvw_render.render_match``, the
   renderer of ``/wvw match``;
4. posts or edits per channel, concurrently but paced under Discord's global limit. Unchanged data
   (same content hash) is not re-sent; a deleted message is replaced by a new post; after the
   weekly reset the previous week's result is posted and a fresh message starts the new match.

Faults stay local to one channel: a deleted channel or lost permission stops that subscription
(the reason is stored and shown in ``/settings show``; the admin who set it up is told once by
DM), anything else is logged, counted and retried at the next slot. A GW2 API outage gives one
"data stale since HH:MM" note per channel. The loop itself never dies: an exception in a cycle is
logged, counted and sent to Sentry, and the next cycle runs on schedule.

Schedules are stored (``next_due_at``), so after a restart posts resume on their own grid without
repeating what was already posted. Time comes from the injected clock; pacing of Discord requests
uses real time, since Discord counts real seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import discord
from discord.ext import commands

from bot.sentry import capture_exception
from bot.storage.database import DatabaseUnavailableError
from bot.storage.leases import new_owner
from bot.storage.subscriptions import Delivered, Subscription, SubscriptionRepository
from bot.tracing import cycle_transaction
from cogs.common.checks import PERMISSIONS_EDIT, PERMISSIONS_POST, missing_channel_permissions
from cogs.common.locale import guild_locale
from cogs.common.stopped import (
    MISSING_ACCESS_CODE,
    UNKNOWN_CHANNEL_CODE,
    cannot_see_channel,
    channel_deleted,
    channel_label,
    forbidden_reason,
    send_admin_dm,
)
from cogs.updates_once import post_once
from cogs.updates_render import (
    admin_dm,
    outage_note,
    render_update_post,
    render_week_result,
    stale_note,
)
from services.gw2 import Fetched, GW2APIError, NotFoundError, UnavailableError
from services.gw2.models import Match
from services.i18n import Message
from services.matches import LiveMatch
from services.stored_messages import dump_message
from services.updates import (
    GW2_BUDGET,
    WORLDS_BUDGET,
    UpdateMetrics,
    WeekResult,
    content_hash,
    fetch_by_plan,
    is_new_week,
    match_key,
    next_due,
    post_nonce,
)

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

LEFT_GUILD_GRACE = timedelta(days=7)
PURGE_EVERY = timedelta(hours=1)
WEEK_RESULTS_KEPT = timedelta(days=30)
# Between cycles the loop sleeps until the next due subscription, within these bounds (seconds).
MIN_SLEEP = 1.0
MAX_SLEEP = 300.0
DELIVERY_CONCURRENCY = 32
DELIVERY_TIMEOUT = 120.0  # real seconds for one channel, 429 waits included
# Due subscriptions claimed at a time: at Discord's 50 requests/s a batch takes about 5 s, well
# inside a lease.
CLAIM_BATCH = 250
DATABASE_RETRY = 5.0  # seconds between cycles while the database does not answer

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
class CycleReport:
    """What one cycle did (for tests, logs and the benchmark)."""

    due: int
    matches: int
    outcomes: Mapping[str, int]
    seconds: float


@dataclass(frozen=True, slots=True)
class _Stopped:
    subscription: Subscription
    reason: Message
    channel_label: Message | str


class Updates(commands.Cog):
    """The update loop. Started when the cog loads, stopped when it unloads."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.clock = bot.services.clock
        self.subscriptions = bot.services.subscriptions
        self.metrics = bot.services.metric_set(UpdateMetrics)
        self.pacer = bot.services.discord_pacer  # shared: Discord's limit is per bot
        self._cycle_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_purge: datetime | None = None
        # Claims on due subscriptions (cluster mode): who this loop is and how long a claim lasts.
        self._owner = new_owner("updates")
        self.lease = timedelta(seconds=bot.services.settings.database.lease_seconds)

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self._run(), name="match-update-loop")

    async def cog_unload(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """A subscription changed: look at the schedule again now."""
        self._wake.set()

    @commands.Cog.listener()
    async def on_match_updates_changed(self) -> None:
        # Dispatched by /settings (bot.dispatch("match_updates_changed")): cogs talk through
        # events, never by importing each other's extension modules.
        self.wake()

    # The loop --------------------------------------------------------------------------------

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while True:
            self._wake.clear()
            delay: float | None = MAX_SLEEP
            try:
                with cycle_transaction("match updates"):
                    await self.run_cycle()
                delay = await self._seconds_until_next_due()
            except DatabaseUnavailableError as error:
                # PostgreSQL lost: nothing was claimed or recorded; look again soon.
                log.warning("Match update cycle paused: %s", error)
                self.metrics.cycles.labels(outcome="error").inc()
                delay = DATABASE_RETRY
            except Exception as error:
                self._loop_failed(error)
            await self._sleep(delay)

    async def _seconds_until_next_due(self) -> float | None:
        when = await self.subscriptions.next_due_at()
        if when is None:
            return None
        return (when - self.clock.now()).total_seconds()

    async def _sleep(self, delay: float | None) -> None:
        """Until the next due time (bounded) or a wake-up, whichever comes first."""
        waiters: list[asyncio.Task[object]] = [asyncio.create_task(self._wake.wait())]
        if delay is not None:
            bounded = min(MAX_SLEEP, max(MIN_SLEEP, delay))
            waiters.append(asyncio.create_task(self.clock.sleep(bounded)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _loop_failed(self, error: BaseException) -> None:
        log.error("Match update cycle failed", exc_info=(type(error), error, error.__traceback__))
        self.metrics.cycles.labels(outcome="error").inc()
        self.bot.services.metrics.errors.labels(where="update_loop").inc()
        capture_exception(error, where="update_loop")

    # One cycle -------------------------------------------------------------------------------

    async def run_cycle(self) -> CycleReport:
        """Serve every due subscription once. Safe to call at any time (cycles never overlap).

        Due subscriptions are claimed in batches as leases (``claim_due``): in a cluster any
        process may deliver any of them (posting is plain REST), none delivers one another holds,
        and what a process that died had claimed is taken over once its lease runs out.
        """
        async with self._cycle_lock:
            started = time.perf_counter()
            now = self.clock.now()
            await self._purge(now)
            due_total = 0
            matches = 0
            outcomes: Counter[str] = Counter()
            seen: set[int] = set()
            teams: dict[int, Fetched[Match] | GW2APIError] = {}
            views: dict[tuple[str, str], MatchView] = {}
            while True:
                until = self.clock.now() + self.lease
                claimed = await self.subscriptions.claim_due(now, self._owner, until, CLAIM_BATCH)
                # Served ones are rescheduled; one that is still due is not served twice a cycle.
                due = [s for s in claimed if s.id not in seen]
                if len(due) < len(claimed):
                    await self.subscriptions.release(
                        self._owner, [s.id for s in claimed if s.id in seen]
                    )
                if not due:
                    break
                seen.update(s.id for s in due)
                if not due_total:
                    earliest = min(s.next_due_at or now for s in due)
                    self.metrics.lag.set(max(0.0, (now - earliest).total_seconds()))
                due_total += len(due)
                self.metrics.due.set(due_total)
                try:
                    served_matches, served = await self._serve_claimed(due, now, teams, views)
                finally:
                    # Served ones are rescheduled by now; others are given back for the next try.
                    await asyncio.shield(
                        self.subscriptions.release(self._owner, [s.id for s in due])
                    )
                matches = max(matches, served_matches)
                outcomes.update(served)
            if not due_total:
                self.metrics.due.set(0)
                return CycleReport(0, 0, {}, time.perf_counter() - started)
            seconds = time.perf_counter() - started
            self.metrics.cycle_seconds.observe(seconds)
            self.metrics.cycles.labels(outcome="ok").inc()
            report = CycleReport(due_total, matches, dict(outcomes), seconds)
            log.info(
                "Update cycle: %d due, %d matches, %s in %.2fs",
                report.due,
                report.matches,
                dict(report.outcomes),
                seconds,
            )
            return report

    async def _serve_claimed(
        self,
        due: Sequence[Subscription],
        now: datetime,
        teams: dict[int, Fetched[Match] | GW2APIError],
        views: dict[tuple[str, str], MatchView],
    ) -> tuple[int, list[Outcome]]:
        """One claimed batch: deliver per channel, with the cycle's match data.

        ``teams`` and ``views`` hold what earlier batches of this cycle fetched: each distinct
        match is fetched and analysed once per cycle, not once per batch.
        """
        missing = [s for s in due if s.team_id not in teams]
        if missing:
            fetched = await self._fetch_teams(missing)
            new_views = {k: v for k, v in (await self._analyse(fetched)).items() if k not in views}
            teams.update(fetched)
            views.update(new_views)
            self.metrics.matches_fetched.set(len(views))
            self.metrics.matches_fetched_total.inc(len(new_views))
            fresh = [
                WeekResult.from_summary(v.live.summary)
                for v in new_views.values()
                if not v.live.stale
            ]
            if fresh:
                await self.subscriptions.save_week_results(fresh, now)

        cycle = _Cycle(now=now, teams=teams, views=views)
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def serve(subscription: Subscription) -> Outcome:
            async with gate:
                return await self._serve(subscription, cycle)

        outcomes = await asyncio.gather(*(serve(s) for s in due))
        if cycle.reschedule:
            await self.subscriptions.reschedule(cycle.reschedule)
        await self._tell_admins(cycle.stopped)
        return len(views), list(outcomes)

    async def _purge(self, now: datetime) -> None:
        if self._last_purge is not None and now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        purged = await self.bot.services.guild_settings.purge_left_before(now - LEFT_GUILD_GRACE)
        if purged:
            log.info("Deleted the settings of %d guilds the bot left over a week ago", len(purged))
        await self.subscriptions.purge_week_results_before(now - WEEK_RESULTS_KEPT)

    async def _fetch_teams(
        self, due: Sequence[Subscription]
    ) -> dict[int, Fetched[Match] | GW2APIError]:
        """Each due team's match: one upstream request per distinct match (see module doc)."""
        return await fetch_by_plan(((s.team_id, s.last_match_id) for s in due), self._fetch_team)

    async def _fetch_team(self, team_id: int) -> Fetched[Match] | GW2APIError:
        try:
            return await self.bot.services.gw2.match_for_team(team_id, budget=GW2_BUDGET)
        except GW2APIError as error:
            return error
        except Exception as error:  # a bug must not stop the other teams' posts
            log.exception("Fetching the match of team %d failed", team_id)
            capture_exception(error, where="update_fetch")
            return UnavailableError(family="matches", upstream_text=type(error).__name__)

    async def _analyse(
        self, teams: Mapping[int, Fetched[Match] | GW2APIError]
    ) -> dict[tuple[str, str], MatchView]:
        """Each distinct match analysed once, through the match service (freeze rule included)."""
        matches = self.bot.services.matches
        views: dict[tuple[str, str], MatchView] = {}
        for result in teams.values():
            if not isinstance(result, Fetched):
                continue
            key = match_key(result.value)
            if key not in views:
                views[key] = MatchView(await matches.analyse(result, worlds_budget=WORLDS_BUDGET))
        return views

    # One channel -----------------------------------------------------------------------------

    async def _serve(self, subscription: Subscription, cycle: _Cycle) -> Outcome:
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
        self, subscription: Subscription, view: MatchView, next_at: datetime, cycle: _Cycle
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
        cycle: _Cycle,
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
        cycle: _Cycle,
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
        cycle.stopped.append(_Stopped(subscription, reason, label))
        return "disabled"

    def _failed(
        self,
        subscription: Subscription,
        cycle: _Cycle,
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

    async def _tell_admins(self, stopped: Sequence[_Stopped]) -> None:
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
            guild = self.bot.get_guild(subscription.guild_id)
            # The server's language: the admin set the updates up for that server.
            locale = await self._locale(subscription.guild_id)
            text = admin_dm(guild.name if guild else None, item.channel_label, item.reason, locale)
            told_them = await send_admin_dm(self.bot, self.pacer, admin_id, text)
            self.metrics.delivery("admin_dm", "ok" if told_them else "forbidden")


@dataclass(slots=True)
class _Cycle:
    """Shared state of one cycle."""

    now: datetime
    teams: Mapping[int, Fetched[Match] | GW2APIError]
    views: Mapping[tuple[str, str], MatchView]
    reschedule: list[tuple[int, datetime]] = field(default_factory=list)
    stopped: list[_Stopped] = field(default_factory=list)
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


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Updates(bot))
