"""Scheduled match-update posts: the pure parts (no Discord, no database, no network).

- When a subscription is due next (:func:`next_due`), keeping its phase after a restart.
- Which teams to fetch in what order so that a cycle costs one upstream request per distinct match
  (:func:`fetch_plan`): teams whose match is known from the last cycle are grouped by that match;
  the GW2 client stores a fetched match under every team in it, so only the first team of a group
  reaches the API and the others are served from the cache.
- What a post would show, reduced to a stable hash (:func:`content_hash`): unchanged data is not
  re-sent. The hash covers the data and the language it is shown in, not the rendered text, whose
  "time left" moves every minute.
- Week reset detection (:func:`is_new_week`) and the week's final standings (:class:`WeekResult`).
- A request pacer (:class:`RequestPacer`) that keeps the whole fan-out under Discord's global
  limit, so a large cycle takes the time the limit allows instead of collecting 429s.
- :class:`UpdateMetrics`, the feature's Prometheus metrics (``gw2opt_update_*``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.clock import parse_stored_time, stored_time
from services.gw2.models import COLOURS, Match
from services.i18n import DEFAULT_LOCALE
from services.match_analysis import MatchSummary, kdr

R = TypeVar("R")

MIN_INTERVAL_MINUTES = 5
MAX_INTERVAL_MINUTES = 120
MAX_SUBSCRIPTIONS_PER_GUILD = 10
# Seconds a scheduled post (or its preview) may wait for match data, and for legacy world names
# (a nicety, cached a day).
GW2_BUDGET = 10.0
WORLDS_BUDGET = 1.0
DEFAULT_INTERVAL_MINUTES = 15
# Bump when the rendered post changes shape, so every channel gets the new look once.
RENDER_VERSION = 1

UpdateMode = Literal["edit", "post"]


# ------------------------------------------------------------------------------ schedule
def next_due(due_at: datetime, interval_minutes: int, now: datetime) -> datetime:
    """The first slot after ``now`` on the subscription's own grid (``due_at + k * interval``).

    A cycle that ran late, or a bot that was down for a while, does not shift the schedule nor
    catch up on missed slots: the next post comes at the next slot.
    """
    interval = timedelta(minutes=interval_minutes)
    if due_at > now:
        return due_at
    missed = math.floor((now - due_at) / interval) + 1
    return due_at + missed * interval


# ------------------------------------------------------------------------------ fetch plan
@dataclass(frozen=True, slots=True)
class FetchPlan:
    """Teams to fetch: ``groups`` may run concurrently (each in order), ``unknown`` runs after
    them, one team at a time, so every team of an already fetched match is a cache hit."""

    groups: tuple[tuple[int, ...], ...]
    unknown: tuple[int, ...]


def fetch_plan(known_match: Iterable[tuple[int, str | None]]) -> FetchPlan:
    """Group ``(team id, last known match id or None)`` pairs by match id."""
    by_match: dict[str, list[int]] = {}
    unknown: list[int] = []
    seen: set[int] = set()
    for team_id, match_id in known_match:
        if team_id in seen:
            continue
        seen.add(team_id)
        if match_id is None:
            unknown.append(team_id)
        else:
            by_match.setdefault(match_id, []).append(team_id)
    groups = tuple(tuple(sorted(teams)) for _, teams in sorted(by_match.items()))
    return FetchPlan(groups, tuple(sorted(unknown)))


async def fetch_by_plan(
    known_match: Iterable[tuple[int, str | None]], fetch_team: Callable[[int], Awaitable[R]]
) -> dict[int, R]:
    """Each team's result of ``fetch_team``, one upstream request per distinct match.

    Teams known to share a match are fetched one after another (the first request caches the
    match under every team in it, so the others are cache hits); different matches in parallel;
    teams whose match is not known yet last, when the cache knows most matches.
    """
    plan = fetch_plan(known_match)
    results: dict[int, R] = {}

    async def fetch_in_order(team_ids: Sequence[int]) -> None:
        for team_id in team_ids:
            results[team_id] = await fetch_team(team_id)

    await asyncio.gather(*(fetch_in_order(group) for group in plan.groups))
    await fetch_in_order(plan.unknown)
    return results


# ------------------------------------------------------------------------------ content
def match_key(match: Match) -> tuple[str, str]:
    """Identifies one week of one match: the id ("1-3") and the start time (ISO)."""
    return match.id, stored_time(match.start_time)


def content_hash(
    match: Match,
    *,
    team_id: int,
    stale: bool,
    locale: str,
    fetched_at: datetime | None = None,
) -> str:
    """A stable hash of everything a post shows (independent of the process: no ``hash()``).

    ``locale`` is the language of the post: after /settings language the same data is shown
    again in the new one. English adds nothing to the hash, so the hashes stored before the
    language counted stay valid (no channel gets its post again for nothing).
    ``fetched_at`` counts only for stale data ("stale since HH:MM" is part of what is shown).
    """
    digest = hashlib.sha256()
    digest.update(f"v{RENDER_VERSION}|{team_id}|{int(stale)}|".encode())
    if locale != DEFAULT_LOCALE:
        digest.update(f"{locale}|".encode())
    if stale and fetched_at is not None:
        digest.update(stored_time(fetched_at).encode())
    digest.update(match.model_dump_json().encode())
    return digest.hexdigest()[:32]


PostKind = Literal["update", "week_result", "stale_note"]
_NONCE_PREFIX: dict[PostKind, str] = {"update": "u", "week_result": "w", "stale_note": "n"}
# Discord returns the message already created for a repeated nonce for "a few minutes"; an
# intent older than this is looked up in the channel instead.
NONCE_TRUST_SECONDS = 120


def post_nonce(kind: PostKind, subscription_id: int, due_at: datetime | None) -> str:
    """The nonce of one scheduled post: the same for the same subscription, slot and kind, so a
    post repeated after a crash is recognised as the same message (at most 25 characters)."""
    slot = int(due_at.timestamp()) if due_at is not None else 0
    return f"{_NONCE_PREFIX[kind]}{subscription_id}.{slot}"[:25]


def is_new_week(last_match_id: str | None, last_match_start: str | None, match: Match) -> bool:
    """The team plays a newer match than the one last posted (the weekly reset happened)."""
    if last_match_id is None or last_match_start is None:
        return False
    if (last_match_id, last_match_start) == match_key(match):
        return False
    previous_start = parse_stored_time(last_match_start)
    return previous_start is None or match.start_time > previous_start


# ------------------------------------------------------------------------------ week result
@dataclass(frozen=True, slots=True)
class Standing:
    """One colour's final numbers for the week."""

    colour: str
    team_names: tuple[str, ...]
    team_ids: tuple[int, ...]
    victory_points: int
    score: int
    kills: int
    deaths: int

    @property
    def kdr(self) -> float | None:
        return kdr(self.kills, self.deaths)

    @property
    def display_name(self) -> str:
        return " / ".join(self.team_names) if self.team_names else self.colour.title()


@dataclass(frozen=True, slots=True)
class WeekResult:
    """A match's standings as last seen: posted as the week's result after the reset."""

    match_id: str
    region: str | None
    start_time: datetime
    end_time: datetime
    standings: tuple[Standing, ...]  # best first: victory points, then score

    @classmethod
    def from_summary(cls, summary: MatchSummary) -> WeekResult:
        standings = tuple(
            Standing(
                colour=colour,
                team_names=tuple(summary.colours[colour].team_names),
                team_ids=tuple(summary.colours[colour].team_ids),
                victory_points=summary.colours[colour].victory_points,
                score=summary.colours[colour].score,
                kills=summary.colours[colour].kills,
                deaths=summary.colours[colour].deaths,
            )
            for colour in summary.ranking()
        )
        return cls(
            summary.match_id, summary.region, summary.start_time, summary.end_time, standings
        )

    def rank_of(self, team_id: int) -> int | None:
        """1, 2 or 3 for a team in this match, else ``None``."""
        for rank, standing in enumerate(self.standings, start=1):
            if team_id in standing.team_ids:
                return rank
        return None

    def to_json(self) -> str:
        return json.dumps(
            {
                "match_id": self.match_id,
                "region": self.region,
                "start_time": stored_time(self.start_time),
                "end_time": stored_time(self.end_time),
                "standings": [
                    {
                        "colour": s.colour,
                        "team_names": list(s.team_names),
                        "team_ids": list(s.team_ids),
                        "victory_points": s.victory_points,
                        "score": s.score,
                        "kills": s.kills,
                        "deaths": s.deaths,
                    }
                    for s in self.standings
                ],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> WeekResult:
        data: dict[str, Any] = json.loads(text)
        return cls(
            match_id=str(data["match_id"]),
            region=data.get("region"),
            start_time=_required_time(data["start_time"]),
            end_time=_required_time(data["end_time"]),
            standings=tuple(
                Standing(
                    colour=str(s["colour"]),
                    team_names=tuple(s["team_names"]),
                    team_ids=tuple(int(i) for i in s["team_ids"]),
                    victory_points=int(s["victory_points"]),
                    score=int(s["score"]),
                    kills=int(s["kills"]),
                    deaths=int(s["deaths"]),
                )
                for s in data["standings"]
                if s["colour"] in COLOURS
            ),
        )


# ------------------------------------------------------------------------------ pacing
class RequestPacer:
    """A token bucket: ``await acquire()`` before each Discord request.

    Discord allows a bot 50 requests per second across all routes; discord.py honours 429s but
    does not pace. Sending a large fan-out at full speed and letting 429s push back wastes
    requests and, past 10,000 invalid requests in 10 minutes, gets the bot banned by Cloudflare.
    Discord counts real seconds, so the pacer runs on real time (``monotonic``/``sleep`` can be
    replaced in tests).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = burst
        self._updated = monotonic()
        self.waited = 0.0

    async def acquire(self) -> None:
        while True:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            # The tolerance keeps float rounding from turning a full token into a busy wait.
            if self._tokens >= 1.0 - 1e-9:
                self._tokens = max(0.0, self._tokens - 1.0)
                return
            delay = (1.0 - self._tokens) / self.rate
            self.waited += delay
            await self._sleep(delay)


# Discord allows 50 requests/s per bot; the rest is headroom for everything else the bot sends.
DISCORD_REQUESTS_PER_SECOND = 48.0
# Two tokens let the pacer catch up after a scheduling hiccup and still stay within 50 per second.
DISCORD_BURST = 2.0


def discord_pacer() -> RequestPacer:
    """The process's one pacer for Discord requests (the global limit is per bot, not per cog)."""
    return RequestPacer(rate=DISCORD_REQUESTS_PER_SECOND, burst=DISCORD_BURST)


# ------------------------------------------------------------------------------ metrics
DeliveryAction = Literal["post", "edit", "week_result", "stale_note", "admin_dm"]
DeliveryOutcome = Literal[
    "ok", "unchanged", "message_missing", "channel_gone", "forbidden", "error"
]
DisableReason = Literal["channel_gone", "forbidden"]


class UpdateMetrics:
    """Metrics of the update loop, registered on the shared registry (no ids as labels)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "gw2opt_update_deliveries",
            "Scheduled update messages, by action (post, edit, ...) and outcome.",
            ["action", "outcome"],
            registry=registry,
        )
        self.cycle_seconds = Histogram(
            "gw2opt_update_cycle_duration_seconds",
            "Time to run one update cycle (fetch, render, deliver to every due channel).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
            registry=registry,
        )
        self.due = Gauge(
            "gw2opt_update_due_subscriptions",
            "Subscriptions that were due in the last cycle.",
            registry=registry,
        )
        self.matches_fetched = Gauge(
            "gw2opt_update_matches_fetched",
            "Distinct matches fetched in the last cycle.",
            registry=registry,
        )
        self.matches_fetched_total = Counter(
            "gw2opt_update_match_fetches",
            "Distinct matches fetched, summed over cycles.",
            registry=registry,
        )
        self.lag = Gauge(
            "gw2opt_update_loop_lag_seconds",
            "How late the last cycle started after its earliest due subscription.",
            registry=registry,
        )
        self.cycles = Counter(
            "gw2opt_update_cycles",
            "Update cycles, by outcome (ok, error).",
            ["outcome"],
            registry=registry,
        )
        self.disabled = Counter(
            "gw2opt_update_subscriptions_disabled",
            "Subscriptions stopped because of the channel, by reason.",
            ["reason"],
            registry=registry,
        )
        for action in get_args(DeliveryAction):
            for outcome in get_args(DeliveryOutcome):
                self.deliveries.labels(action=action, outcome=outcome)
        for reason in get_args(DisableReason):
            self.disabled.labels(reason=reason)
        for cycle_outcome in ("ok", "error"):
            self.cycles.labels(outcome=cycle_outcome)

    def delivery(self, action: DeliveryAction, outcome: DeliveryOutcome) -> None:
        self.deliveries.labels(action=action, outcome=outcome).inc()


# ------------------------------------------------------------------------------ helpers
def stale_since_text(moment: datetime) -> str:
    """``18:05 UTC`` — the "data stale since" time, in UTC so every reader sees the same."""
    return moment.strftime("%H:%M UTC")


def _required_time(value: str) -> datetime:
    moment = parse_stored_time(value)
    if moment is None:
        raise ValueError(f"not a stored time: {value!r}")
    return moment


__all__ = [
    "DEFAULT_INTERVAL_MINUTES",
    "MAX_INTERVAL_MINUTES",
    "MIN_INTERVAL_MINUTES",
    "FetchPlan",
    "RequestPacer",
    "Standing",
    "UpdateMetrics",
    "UpdateMode",
    "WeekResult",
    "content_hash",
    "discord_pacer",
    "fetch_plan",
    "is_new_week",
    "match_key",
    "next_due",
    "stale_since_text",
]
