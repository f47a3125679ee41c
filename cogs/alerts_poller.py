"""One alert poll: read each distinct match once, diff it, store the events, deliver per channel.

A poll (:meth:`AlertPoller.poll`):

1. reads the enabled subscriptions and fetches each distinct match once through the GW2 client
   (teams grouped by the match they played at the last poll; the client caches a match under
   every team in it and honours the API's ``Cache-Control``, so a poll inside ``max-age`` costs
   nothing upstream);
2. diffs each fresh match against its stored snapshot (``services.alerts``) and stores the new
   snapshot with the derived events in one transaction. A match seen for the first time, or a new
   week (rollover), is a baseline: no events. A gap longer than ``CATCH_UP_AFTER`` (the bot was
   offline, or the GW2 API was down) folds everything into one "while offline: N changes" event;
3. gives each channel one message with the events past each of its subscriptions' marks (a new
   subscription's first poll only sets its mark), paced under Discord's global limit by the
   process's one pacer, and then moves the marks.

Faults stay with one channel: a deleted channel or lost permission stops its subscriptions with
the reason and one DM to the admin who set them up; other errors leave the marks where they were,
so the next poll sends the same events again. A GW2 outage gives one note per subscription and no
events until the API answers again. A send that has started is finished and recorded even when
the loop is stopped (``drain``), and carries a nonce Discord uses to drop a repeat.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import discord

from bot.sentry import capture_exception
from bot.storage.alerts import AlertRepository, AlertSubscription, PollRecord, StoredEvent
from cogs.alerts_render import (
    RESUMED_NOTE,
    AlertBlock,
    admin_dm,
    outage_note,
    render_batch,
)
from cogs.common.locale import guild_locale
from cogs.common.stopped import (
    UNKNOWN_CHANNEL_CODE,
    channel_deleted,
    channel_label,
    forbidden_reason,
    tell_admin,
)
from services.alerts import AlertEvent, AlertMetrics, LastSeen, colour_of, derive
from services.gw2 import Fetched, GW2APIError, NotFoundError, UnavailableError
from services.gw2.models import COLOURS, Match
from services.i18n import Message
from services.stored_messages import dump_message
from services.teams import team_name
from services.updates import RequestPacer, fetch_by_plan, match_key

if TYPE_CHECKING:
    from bot.client import GW2Bot

log = logging.getLogger(__name__)

GW2_BUDGET = 10.0
GUILD_BUDGET = 2.0
DELIVERY_CONCURRENCY = 32
DELIVERY_TIMEOUT = 120.0  # real seconds for one channel, 429 waits included
DRAIN_TIMEOUT = 15.0
PERMISSIONS = ("view_channel", "send_messages")

Outcome = Literal["sent", "quiet", "disabled", "error"]
TeamResult = Fetched[Match] | GW2APIError


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll did (for tests, logs and the benchmark)."""

    subscriptions: int
    matches: int
    events: int
    outcomes: Mapping[str, int]
    seconds: float


@dataclass(slots=True)
class _Poll:
    now: datetime
    horizon: int
    teams: Mapping[int, TeamResult]
    events: Mapping[tuple[str, str], Sequence[StoredEvent]]
    objective_names: Mapping[str, str]
    stopped: list[tuple[AlertSubscription, Message, Message | str]] = field(default_factory=list)


class AlertPoller:
    """Owns what a poll needs between polls: last known match per team, guild names."""

    def __init__(
        self, bot: GW2Bot, repository: AlertRepository, metrics: AlertMetrics, pacer: RequestPacer
    ) -> None:
        self.bot = bot
        self.repository = repository
        self.metrics = metrics
        self.pacer = pacer
        self._team_match: dict[int, tuple[str, str]] = {}
        self._seen_this_run: set[str] = set()
        # Matches whose data was missing (error or stale) at a poll and not fresh since.
        self._down: set[str] = set()
        self._guilds: dict[str, tuple[str, str]] = {}
        self._in_flight: set[asyncio.Task[Outcome]] = set()
        self._lock = asyncio.Lock()

    async def poll(self) -> PollReport:
        """Run one poll (polls never overlap)."""
        async with self._lock:
            started = time.perf_counter()
            now = self.bot.services.clock.now()
            subscriptions = await self.repository.active()
            if not subscriptions:
                return PollReport(0, 0, 0, {}, time.perf_counter() - started)
            teams = await self._fetch_teams(subscriptions)
            fresh = {
                match_key(r.value): r.value
                for r in teams.values()
                if isinstance(r, Fetched) and not r.stale
            }
            self.metrics.matches_fetched.set(len(fresh))
            records = await self._derive(list(fresh.values()), now)
            self._down = (self._down | self._missing(teams)) - {m.id for m in fresh.values()}
            await self.repository.record_poll(records, now)
            derived = sum(len(r.events) for r in records)
            horizon = await self.repository.last_event_id()
            marks = [s.last_event_id for s in subscriptions if s.last_event_id is not None]
            stored = await self.repository.events_between(min(marks, default=horizon), horizon)
            by_match: dict[tuple[str, str], list[StoredEvent]] = defaultdict(list)
            for event in stored:
                by_match[(event.match_id, event.start_time)].append(event)
            names = await self._objective_names() if stored or derived else {}
            poll = _Poll(now, horizon, teams, by_match, names)

            by_channel: dict[int, list[AlertSubscription]] = defaultdict(list)
            for subscription in subscriptions:
                by_channel[subscription.channel_id].append(subscription)
            gate = asyncio.Semaphore(DELIVERY_CONCURRENCY)

            async def serve(channel_subscriptions: list[AlertSubscription]) -> Outcome:
                async with gate:
                    return await self._serve_channel(channel_subscriptions, poll)

            outcomes = await asyncio.gather(*(serve(subs) for subs in by_channel.values()))
            await self._tell_admins(poll.stopped)
            seconds = time.perf_counter() - started
            self.metrics.poll_seconds.observe(seconds)
            self.metrics.polls.labels(outcome="ok").inc()
            report = PollReport(
                len(subscriptions), len(fresh), derived, dict(Counter(outcomes)), seconds
            )
            log.debug("Alert poll: %s", report)
            return report

    async def drain(self) -> None:
        """Let sends already on the wire finish and be recorded (the loop is stopping)."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=DRAIN_TIMEOUT)

    # Fetch and derive ------------------------------------------------------------------------

    async def _fetch_teams(
        self, subscriptions: Sequence[AlertSubscription]
    ) -> dict[int, TeamResult]:
        known = ((s.team_id, self._known_match(s.team_id)) for s in subscriptions)
        return await fetch_by_plan(known, self._fetch_team)

    def _missing(self, teams: Mapping[int, TeamResult]) -> set[str]:
        """Matches (as last known) of the teams that got no fresh data in this poll."""
        missing: set[str] = set()
        for team_id, result in teams.items():
            known = self._team_match.get(team_id)
            if known is None or isinstance(result, NotFoundError):
                continue
            if isinstance(result, GW2APIError) or result.stale:
                missing.add(known[0])
        return missing

    def _known_match(self, team_id: int) -> str | None:
        known = self._team_match.get(team_id)
        return known[0] if known else None

    async def _fetch_team(self, team_id: int) -> TeamResult:
        try:
            result = await self.bot.services.gw2.match_for_team(team_id, budget=GW2_BUDGET)
        except GW2APIError as error:
            return error
        except Exception as error:  # a bug must not stop the other teams' alerts
            log.exception("Fetching the match of team %d failed", team_id)
            capture_exception(error, where="alert_fetch")
            return UnavailableError(family="matches", upstream_text=type(error).__name__)
        self._team_match[team_id] = match_key(result.value)
        return result

    async def _derive(self, matches: Sequence[Match], now: datetime) -> list[PollRecord]:
        stored = await self.repository.matches(m.id for m in matches)
        records: list[PollRecord] = []
        for match in matches:
            match_id, start = match_key(match)
            last = stored.get(match_id)
            derived = derive(
                match,
                start,
                LastSeen(last.start_time, last.snapshot, last.seen_at) if last else None,
                now=now,
                first_look=match_id not in self._seen_this_run,
                had_no_data=match_id in self._down,
            )
            self._seen_this_run.add(match_id)
            events = await self._with_guild_names(derived.changes) + derived.others
            for event in events:
                self.metrics.events.labels(kind=event.kind).inc()
            records.append(PollRecord(match_id, start, derived.snapshot, events))
        return records

    async def _with_guild_names(self, events: list[AlertEvent]) -> list[AlertEvent]:
        wanted = {e.guild_id for e in events if e.guild_id and e.guild_id not in self._guilds}

        async def look_up(guild_id: str) -> None:
            try:
                guild = await self.bot.services.gw2.guild(guild_id, budget=GUILD_BUDGET)
            except GW2APIError:
                return  # shown as "a guild"; asked again next time
            self._guilds[guild_id] = (guild.value.name, guild.value.tag)

        await asyncio.gather(*(look_up(g) for g in sorted(wanted)))
        named: list[AlertEvent] = []
        for event in events:
            known = self._guilds.get(event.guild_id or "")
            if known is not None:
                event = event.model_copy(update={"guild_name": known[0], "guild_tag": known[1]})
            named.append(event)
        return named

    async def _objective_names(self, lang: str | None = None) -> dict[str, str]:
        try:
            fetched = await self.bot.services.gw2.objectives(budget=GUILD_BUDGET, lang=lang)
        except GW2APIError:
            return {}
        return {o.id: o.name for o in fetched.value if o.name}

    # One channel -----------------------------------------------------------------------------

    async def _serve_channel(
        self, subscriptions: list[AlertSubscription], poll: _Poll, *, checked: bool = False
    ) -> Outcome:
        """One message for a channel's subscriptions; never raises."""
        marks = {s.id: s.last_event_id for s in subscriptions}
        blocks: list[AlertBlock] = []
        advance: list[int] = []
        paused: list[int] = []
        for subscription in subscriptions:
            if subscription.last_event_id is None:
                advance.append(subscription.id)  # the first poll sets the baseline
                continue
            block, moves, pauses = self._block(subscription, poll)
            if block is not None:
                blocks.append(block)
            if moves:
                advance.append(subscription.id)
            if pauses:
                paused.append(subscription.id)
        rendered = None
        if blocks:
            guild_id = subscriptions[0].guild_id
            locale = await guild_locale(self.bot, self.bot.get_guild(guild_id), guild_id)
            names = poll.objective_names
            if locale != "en" and names:
                names = await self._objective_names(locale) or names
            rendered = render_batch(blocks, names, locale)
        if rendered is None:
            moved = [i for i in advance if marks.get(i) != poll.horizon]
            if moved:  # nothing new for anyone here: no write either
                await self.repository.advance(moved, poll.horizon, None)
                self.metrics.delivery("filtered")
            return "quiet"
        if not checked:
            # An admin may have turned one off while this poll ran: only the others get it.
            live = await self.repository.enabled_ids(s.id for s in subscriptions)
            if len(live) < len(subscriptions):
                remaining = [s for s in subscriptions if s.id in live]
                if not remaining:
                    return "quiet"
                return await self._serve_channel(remaining, poll, checked=True)

        async def send_and_record() -> Outcome:
            channel = self.bot.get_partial_messageable(
                subscriptions[0].channel_id, guild_id=subscriptions[0].guild_id
            )
            mentions = (
                discord.AllowedMentions(
                    everyone=False,
                    users=False,
                    roles=[discord.Object(id=r) for r in rendered.role_ids],
                    replied_user=False,
                )
                if rendered.role_ids
                else discord.AllowedMentions.none()
            )
            await channel.send(
                rendered.content,
                allowed_mentions=mentions,
                nonce=_nonce(subscriptions[0].channel_id, poll.horizon, advance),
            )
            await self.repository.advance(advance, poll.horizon, poll.now)
            if paused:
                await self.repository.set_paused(paused, poll.now)
            self.metrics.delivery("sent")
            return "sent"

        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await self.pacer.acquire()
                task = asyncio.create_task(send_and_record())
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
                return await asyncio.shield(task)
        except discord.NotFound as error:
            if error.code == UNKNOWN_CHANNEL_CODE:
                return await self._stop(subscriptions, poll, channel_deleted(), "channel_gone")
            return self._failed(subscriptions, error)
        except discord.Forbidden:
            reason = self._forbidden_reason(subscriptions[0])
            return await self._stop(subscriptions, poll, reason, "forbidden")
        except Exception as error:
            return self._failed(subscriptions, error)

    def _block(
        self, subscription: AlertSubscription, poll: _Poll
    ) -> tuple[AlertBlock | None, bool, bool]:
        """The subscription's block, whether its mark moves, whether it is now paused."""
        result = poll.teams.get(subscription.team_id)
        known = self._team_match.get(subscription.team_id)
        if isinstance(result, NotFoundError) or result is None:
            return None, True, False  # the team plays no match right now
        outage = isinstance(result, GW2APIError) or result.stale
        match = None if isinstance(result, GW2APIError) else result.value
        notes: list[str | Message] = []
        if outage and subscription.paused_since is None:
            since = result.fetched_at if isinstance(result, Fetched) else poll.now
            notes.append(outage_note(since))
        elif not outage and subscription.paused_since is not None:
            notes.append(RESUMED_NOTE)
        if known is None:
            # Never fetched in this run (outage since start): keep the mark, events wait.
            block = AlertBlock(subscription.team_id, None, None, (), subscription.filter, None)
            return (block if notes else None), False, bool(notes)
        mark = subscription.last_event_id or 0
        events = [s.event for s in poll.events.get(known, ()) if s.id > mark]
        colour = colour_of(match, subscription.team_id) if match is not None else None
        block = AlertBlock(
            subscription.team_id,
            known[0],
            colour,
            events,
            subscription.filter,
            subscription.role_id,
            _colour_names(match),
            notes,
        )
        return block, True, outage and bool(notes)

    async def _stop(
        self,
        subscriptions: Sequence[AlertSubscription],
        poll: _Poll,
        reason: Message,
        kind: Literal["channel_gone", "forbidden"],
    ) -> Outcome:
        """Turn the channel's subscriptions off; ``kind`` (the metrics label) comes from the
        error's type, ``reason`` is stored without a language (``/alerts show`` translates it)."""
        channel_id = subscriptions[0].channel_id
        log.info("Stopping alerts in channel %d: %s", channel_id, reason)
        self.metrics.delivery(kind)
        self.metrics.disabled.labels(reason=kind).inc(len(subscriptions))
        stored = dump_message(reason)
        await self.repository.disable([s.id for s in subscriptions], stored, poll.now)
        label = channel_label(self.bot, channel_id)
        poll.stopped.extend((s, reason, label) for s in subscriptions)
        return "disabled"

    def _failed(self, subscriptions: Sequence[AlertSubscription], error: BaseException) -> Outcome:
        log.warning(
            "Alerts for channel %d failed; the same events go out at the next poll",
            subscriptions[0].channel_id,
            exc_info=(type(error), error, error.__traceback__),
        )
        if not isinstance(error, discord.HTTPException | TimeoutError):
            capture_exception(error, where="alert_delivery")
        self.metrics.delivery("error")
        return "error"

    def _forbidden_reason(self, subscription: AlertSubscription) -> Message:
        channel = self.bot.get_channel(subscription.channel_id)
        missing: list[str] = []
        if isinstance(channel, discord.abc.GuildChannel):
            permissions = channel.permissions_for(channel.guild.me)
            missing = [name for name in PERMISSIONS if not getattr(permissions, name)]
        return forbidden_reason(missing, PERMISSIONS)

    async def _tell_admins(
        self, stopped: Sequence[tuple[AlertSubscription, Message, Message | str]]
    ) -> None:
        """DM each admin once per stopped channel (nobody if unknown or DMs closed)."""
        told: set[tuple[int, int]] = set()
        for subscription, reason, label in stopped:
            admin_id = subscription.created_by
            if admin_id is None or (admin_id, subscription.channel_id) in told:
                continue
            told.add((admin_id, subscription.channel_id))
            told_them = await tell_admin(
                self.bot,
                self.pacer,
                admin_dm,
                admin_id=admin_id,
                guild_id=subscription.guild_id,
                channel_label=label,
                reason=reason,
            )
            self.metrics.delivery("admin_dm" if told_them else "admin_dm_failed")


def _colour_names(match: Match | None) -> dict[str, str]:
    if match is None:
        return {}
    names: dict[str, str] = {}
    for colour in COLOURS:
        name = team_name(match.worlds.of(colour))
        if name:
            names[colour] = name
    return names


def _nonce(channel_id: int, horizon: int, subscription_ids: Sequence[int]) -> str:
    """The same message for the same channel and events gets the same nonce (Discord then
    returns the first message instead of posting a second one)."""
    seed = f"{channel_id}:{horizon}:{','.join(map(str, sorted(subscription_ids)))}"
    return hashlib.sha256(seed.encode()).hexdigest()[:25]


__all__ = ["AlertPoller", "PollReport"]
