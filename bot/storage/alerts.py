"""Live alert subscriptions, the last objective state seen per match, and the derived events.

Restart safety rests on two facts stored here: a match's snapshot and the events derived from it
are written in one transaction (:meth:`AlertRepository.record_poll`), and each subscription keeps
the id of the last event it dealt with (event ids only grow). After a restart the next poll diffs
against the stored snapshot and each channel gets exactly the events past its own mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from services.alerts import (
    ALERT_EVENT,
    MATCH_SNAPSHOT,
    AlertEvent,
    AlertFilter,
    MatchSnapshot,
    Scope,
)

from .database import Database, db_time, parse_db_time

_COLUMNS = (
    "id, guild_id, channel_id, team_id, scope, objective_types, map_types, role_id, reminders, "
    "last_event_id, last_delivered_at, paused_since, enabled, last_error, disabled_at, created_by"
)
# Events older than this are deleted even if a stopped subscription never read them.
EVENTS_KEPT_HOURS = 24


@dataclass(frozen=True, slots=True)
class AlertSubscription:
    id: int
    guild_id: int
    channel_id: int
    team_id: int
    scope: Scope
    objective_types: frozenset[str]
    map_types: frozenset[str]
    role_id: int | None
    reminders: bool
    last_event_id: int | None
    last_delivered_at: datetime | None
    paused_since: datetime | None
    enabled: bool
    last_error: str | None
    disabled_at: datetime | None
    created_by: int | None

    @property
    def filter(self) -> AlertFilter:
        return AlertFilter(self.scope, self.objective_types, self.map_types, self.reminders)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """The last state of a match the poller saw."""

    match_id: str
    start_time: str
    snapshot: MatchSnapshot
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    match_id: str
    start_time: str
    event: AlertEvent


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll learnt about one match: its new snapshot and the events derived."""

    match_id: str
    start_time: str
    snapshot: MatchSnapshot
    events: Sequence[AlertEvent]


class AlertLimitError(Exception):
    """The guild already has the maximum number of alert subscriptions."""


class AlertRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Commands --------------------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        team_id: int,
        alert_filter: AlertFilter,
        role_id: int | None,
        created_by: int,
        limit: int,
    ) -> tuple[AlertSubscription, bool]:
        """Create or change the (channel, team) subscription; returns it and whether it is new.

        A changed subscription keeps its place in the event stream (no repeat, no new baseline);
        a new one, or one that was stopped, gets its baseline at the next poll. Raises
        :class:`AlertLimitError`."""
        values = (
            alert_filter.scope,
            _join(alert_filter.objective_types),
            _join(alert_filter.map_types),
            role_id,
            int(alert_filter.reminders),
            created_by,
        )
        async with self.db.transaction() as tx:
            existing = await tx.fetchone(
                "SELECT id FROM alert_subscriptions WHERE channel_id = ? AND team_id = ?",
                (channel_id, team_id),
            )
            if existing is None:
                row = await tx.fetchone(
                    "SELECT COUNT(*) FROM alert_subscriptions WHERE guild_id = ?", (guild_id,)
                )
                if row is not None and row[0] >= limit:
                    raise AlertLimitError
                await tx.execute(
                    "INSERT INTO guild_settings (guild_id) VALUES (?) "
                    "ON CONFLICT (guild_id) DO NOTHING",
                    (guild_id,),
                )
                await tx.execute(
                    "INSERT INTO alert_subscriptions (guild_id, channel_id, team_id, scope, "
                    "objective_types, map_types, role_id, reminders, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (guild_id, channel_id, team_id, *values),
                )
            else:
                await tx.execute(
                    "UPDATE alert_subscriptions SET scope = ?, objective_types = ?, "
                    "map_types = ?, role_id = ?, reminders = ?, created_by = ?, enabled = 1, "
                    # A stopped subscription starts again from a new baseline, not a backlog.
                    "last_event_id = CASE WHEN enabled = 1 THEN last_event_id END, "
                    "paused_since = CASE WHEN enabled = 1 THEN paused_since END, "
                    "last_error = NULL, disabled_at = NULL WHERE id = ?",
                    (*values, existing[0]),
                )
            row = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM alert_subscriptions "  # noqa: S608
                "WHERE channel_id = ? AND team_id = ?",
                (channel_id, team_id),
            )
        assert row is not None
        return _subscription(row), existing is None

    async def for_guild(self, guild_id: int) -> list[AlertSubscription]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM alert_subscriptions WHERE guild_id = ? "  # noqa: S608
            "ORDER BY channel_id, team_id",
            (guild_id,),
        )
        return [_subscription(row) for row in rows]

    async def unsubscribe(self, guild_id: int, channel_id: int, team_id: int | None) -> int:
        """Remove a channel's subscriptions (one team's, or all); returns how many there were."""
        if team_id is None:
            return await self.db.execute(
                "DELETE FROM alert_subscriptions WHERE guild_id = ? AND channel_id = ?",
                (guild_id, channel_id),
            )
        return await self.db.execute(
            "DELETE FROM alert_subscriptions WHERE guild_id = ? AND channel_id = ? AND team_id = ?",
            (guild_id, channel_id, team_id),
        )

    # The poller ------------------------------------------------------------------------------

    async def active(self) -> list[AlertSubscription]:
        """Enabled subscriptions in guilds the bot is still in."""
        rows = await self.db.fetchall(
            f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))} "  # noqa: S608
            "FROM alert_subscriptions AS s "
            "JOIN guild_settings AS g ON g.guild_id = s.guild_id "
            "WHERE s.enabled = 1 AND g.left_at IS NULL ORDER BY s.channel_id, s.id"
        )
        return [_subscription(row) for row in rows]

    async def enabled_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are still enabled (an admin may turn one off while a poll runs)."""
        wanted = list(ids)
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = await self.db.fetchall(
                "SELECT id FROM alert_subscriptions WHERE enabled = 1 "  # noqa: S608
                f"AND id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update(int(row[0]) for row in rows)
        return found

    async def matches(self, match_ids: Iterable[str]) -> dict[str, StoredMatch]:
        wanted = sorted(set(match_ids))
        if not wanted:
            return {}
        rows = await self.db.fetchall(
            "SELECT match_id, start_time, snapshot, seen_at FROM alert_match_state "  # noqa: S608
            f"WHERE match_id IN ({', '.join('?' * len(wanted))})",
            wanted,
        )
        stored: dict[str, StoredMatch] = {}
        for row in rows:
            seen_at = parse_db_time(row["seen_at"])
            if seen_at is None:
                continue
            stored[row["match_id"]] = StoredMatch(
                row["match_id"],
                row["start_time"],
                MATCH_SNAPSHOT.validate_json(row["snapshot"]),
                seen_at,
            )
        return stored

    async def record_poll(self, records: Sequence[PollRecord], now: datetime) -> None:
        """Store each match's new snapshot together with the events derived from it."""
        if not records:
            return
        async with self.db.transaction() as tx:
            for record in records:
                await tx.execute(
                    "INSERT INTO alert_match_state (match_id, start_time, snapshot, seen_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (match_id) DO UPDATE SET "
                    "start_time = excluded.start_time, snapshot = excluded.snapshot, "
                    "seen_at = excluded.seen_at",
                    (
                        record.match_id,
                        record.start_time,
                        record.snapshot.model_dump_json(),
                        db_time(now),
                    ),
                )
                await tx.executemany(
                    "INSERT INTO alert_events (match_id, start_time, event, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    [
                        (record.match_id, record.start_time, e.model_dump_json(), db_time(now))
                        for e in record.events
                    ],
                )

    async def last_event_id(self) -> int:
        return int(await self.db.fetchval("SELECT COALESCE(MAX(id), 0) FROM alert_events"))

    async def events_between(self, after: int, upto: int) -> list[StoredEvent]:
        """Events with ``after < id <= upto``, oldest first."""
        rows = await self.db.fetchall(
            "SELECT id, match_id, start_time, event FROM alert_events "
            "WHERE id > ? AND id <= ? ORDER BY id",
            (after, upto),
        )
        return [
            StoredEvent(
                row["id"], row["match_id"], row["start_time"], ALERT_EVENT.validate_json(row[3])
            )
            for row in rows
        ]

    async def advance(
        self, subscription_ids: Iterable[int], event_id: int, delivered_at: datetime | None
    ) -> None:
        """These subscriptions have dealt with every event up to ``event_id``."""
        rows = [(event_id, s) for s in subscription_ids]
        if delivered_at is None:
            await self.db.executemany(
                "UPDATE alert_subscriptions SET last_event_id = ? WHERE id = ?", rows
            )
            return
        await self.db.executemany(
            "UPDATE alert_subscriptions SET last_event_id = ?, last_delivered_at = ?, "
            "paused_since = NULL WHERE id = ?",
            [(event_id, db_time(delivered_at), s) for _, s in rows],
        )

    async def set_paused(self, subscription_ids: Iterable[int], since: datetime | None) -> None:
        """The outage note was sent (``since``), or the API answers again (``None``)."""
        await self.db.executemany(
            "UPDATE alert_subscriptions SET paused_since = ? WHERE id = ?",
            [(None if since is None else db_time(since), s) for s in subscription_ids],
        )

    async def disable(self, subscription_ids: Iterable[int], reason: str, now: datetime) -> None:
        await self.db.executemany(
            "UPDATE alert_subscriptions SET enabled = 0, last_error = ?, disabled_at = ? "
            "WHERE id = ?",
            [(reason, db_time(now), s) for s in subscription_ids],
        )

    async def purge_events(self, cutoff: datetime) -> int:
        """Delete events every enabled subscription has dealt with, and any older than
        ``cutoff``."""
        low = await self.db.fetchval(
            "SELECT MIN(COALESCE(last_event_id, 0)) FROM alert_subscriptions WHERE enabled = 1"
        )
        mark = int(low) if low is not None else await self.last_event_id()
        return await self.db.execute(
            "DELETE FROM alert_events WHERE id <= ? OR created_at < ?", (mark, db_time(cutoff))
        )


def _join(values: Iterable[str]) -> str:
    return ",".join(sorted(values))


def _split(text: str) -> frozenset[str]:
    return frozenset(part for part in text.split(",") if part)


def _subscription(row: aiosqlite.Row | Any) -> AlertSubscription:
    return AlertSubscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        team_id=row["team_id"],
        scope=row["scope"],
        objective_types=_split(row["objective_types"]),
        map_types=_split(row["map_types"]),
        role_id=row["role_id"],
        reminders=bool(row["reminders"]),
        last_event_id=row["last_event_id"],
        last_delivered_at=parse_db_time(row["last_delivered_at"]),
        paused_since=parse_db_time(row["paused_since"]),
        enabled=bool(row["enabled"]),
        last_error=row["last_error"],
        disabled_at=parse_db_time(row["disabled_at"]),
        created_by=row["created_by"],
    )
