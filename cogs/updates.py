"""Scheduled WvW match-update posts: one loop serves every subscribed channel.

One channel's delivery is in ``updates_delivery``, rendering in ``updates_render``, scheduling
rules in ``services.updates``, matches in ``services.matches``.

A cycle (:meth:`Updates.run_cycle`):

1. finds the due subscriptions (in guilds the bot is still in);
2. fetches each distinct match once through the GW2 client (teams grouped by their last known
   match; the client caches a match under every team in it, see ``services.updates.fetch_by_plan``);
3. analyses and renders each match once per focus team with ``cogs.wvw_render.render_match``, the
   renderer of ``/wvw match``;
4. posts or edits per channel (:class:`cogs.updates_delivery.Delivery`), concurrently but paced
   under Discord's global limit.

Faults stay local to one channel (see ``updates_delivery``). A GW2 API outage gives one
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from discord.ext import commands

from bot.sentry import capture_exception
from bot.storage.database import DatabaseUnavailableError
from bot.storage.leases import new_owner
from bot.storage.subscriptions import Subscription
from bot.tracing import cycle_transaction
from cogs.updates_delivery import Cycle, Delivery, MatchView, Outcome
from services.gw2 import Fetched, GW2APIError, UnavailableError
from services.gw2.models import Match
from services.updates import (
    GW2_BUDGET,
    WORLDS_BUDGET,
    UpdateMetrics,
    WeekResult,
    fetch_by_plan,
    match_key,
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


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What one cycle did (for tests, logs and the benchmark)."""

    due: int
    matches: int
    outcomes: Mapping[str, int]
    seconds: float


class Updates(commands.Cog):
    """The update loop. Started when the cog loads, stopped when it unloads."""

    def __init__(self, bot: GW2Bot) -> None:
        self.bot = bot
        self.clock = bot.services.clock
        self.subscriptions = bot.services.subscriptions
        self.metrics = bot.services.metric_set(UpdateMetrics)
        self.pacer = bot.services.discord_pacer  # shared: Discord's limit is per bot
        self.delivery = Delivery(bot, self.subscriptions, self.pacer, self.metrics)
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

        cycle = Cycle(now=now, teams=teams, views=views)
        gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def serve(subscription: Subscription) -> Outcome:
            async with gate:
                return await self.delivery.serve(subscription, cycle)

        outcomes = await asyncio.gather(*(serve(s) for s in due))
        if cycle.reschedule:
            await self.subscriptions.reschedule(cycle.reschedule)
        await self.delivery.tell_admins(cycle.stopped)
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


async def setup(bot: GW2Bot) -> None:
    await bot.add_cog(Updates(bot))
