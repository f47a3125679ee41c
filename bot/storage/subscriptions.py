"""Match-update subscriptions: which channel gets which team's match, how often, and what was sent.

Times are stored as ISO-8601 UTC text in one format (``2026-11-20T18:00:00+00:00``), so the due
query can compare them as text. A guild the bot has left (``guild_settings.left_at``) keeps its
subscriptions for the grace period but none of them is due.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from services.updates import UpdateMode, WeekResult

from .database import Database, db_time, parse_db_time

_COLUMNS = (
    "id, guild_id, channel_id, team_id, interval_minutes, mode, last_message_id, last_match_id, "
    "last_match_start, last_posted_hash, last_posted_at, next_due_at, enabled, last_error, "
    "disabled_at, stale_since, created_by, created_at, pending_nonce, pending_since"
)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    guild_id: int
    channel_id: int
    team_id: int
    interval_minutes: int
    mode: UpdateMode
    last_message_id: int | None
    last_match_id: str | None
    last_match_start: str | None
    last_posted_hash: str | None
    last_posted_at: datetime | None
    next_due_at: datetime | None
    enabled: bool
    last_error: str | None
    disabled_at: datetime | None
    stale_since: datetime | None
    created_by: int | None
    # A post about to be sent (its nonce, when recorded): set means a crash may have left it.
    pending_nonce: str | None = None
    pending_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """What to remember after a message was posted or edited."""

    message_id: int
    match_id: str
    match_start: str
    content_hash: str
    posted_at: datetime
    next_due_at: datetime


class SubscriptionLimitError(Exception):
    """The guild already has the maximum number of subscriptions."""


class SubscriptionRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Settings commands -----------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        guild_id: int,
        channel_id: int,
        team_id: int,
        interval_minutes: int,
        mode: UpdateMode,
        created_by: int,
        now: datetime,
        limit: int,
    ) -> Subscription:
        """Create or change the (channel, team) subscription; it is due at once and enabled.

        Raises :class:`SubscriptionLimitError` when a new one would exceed ``limit``.
        """
        async with self.db.transaction() as tx:
            existing = await tx.fetchone(
                "SELECT id FROM update_subscriptions WHERE channel_id = ? AND team_id = ?",
                (channel_id, team_id),
            )
            if existing is None:
                row = await tx.fetchone(
                    "SELECT COUNT(*) FROM update_subscriptions WHERE guild_id = ?", (guild_id,)
                )
                if row is not None and row[0] >= limit:
                    raise SubscriptionLimitError
            # The guild needs a settings row so leaving the guild can be recorded (grace period).
            await tx.execute(
                "INSERT INTO guild_settings (guild_id) VALUES (?) "
                "ON CONFLICT (guild_id) DO NOTHING",
                (guild_id,),
            )
            await tx.execute(
                "INSERT INTO update_subscriptions (guild_id, channel_id, team_id, "
                "interval_minutes, mode, next_due_at, enabled, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, ?) "
                "ON CONFLICT (channel_id, team_id) DO UPDATE SET "
                "interval_minutes = excluded.interval_minutes, mode = excluded.mode, "
                "next_due_at = excluded.next_due_at, enabled = 1, last_error = NULL, "
                "disabled_at = NULL, stale_since = NULL, created_by = excluded.created_by",
                (guild_id, channel_id, team_id, interval_minutes, mode, db_time(now), created_by),
            )
            row = await tx.fetchone(
                f"SELECT {_COLUMNS} FROM update_subscriptions "  # noqa: S608
                "WHERE channel_id = ? AND team_id = ?",
                (channel_id, team_id),
            )
        assert row is not None
        return _subscription(row)

    async def for_guild(self, guild_id: int) -> list[Subscription]:
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM update_subscriptions WHERE guild_id = ? "  # noqa: S608
            "ORDER BY channel_id, team_id",
            (guild_id,),
        )
        return [_subscription(row) for row in rows]

    async def unsubscribe(self, guild_id: int, channel_id: int) -> int:
        """Remove every subscription of a channel; returns how many there were."""
        return await self.db.execute(
            "DELETE FROM update_subscriptions WHERE guild_id = ? AND channel_id = ?",
            (guild_id, channel_id),
        )

    # The update loop -------------------------------------------------------------------------

    async def is_enabled(self, subscription_id: int) -> bool:
        """Still subscribed and not stopped (an admin may turn it off while a cycle runs)."""
        return bool(
            await self.db.fetchval(
                "SELECT enabled FROM update_subscriptions WHERE id = ?", (subscription_id,)
            )
        )

    async def due(self, now: datetime) -> list[Subscription]:
        """Enabled subscriptions due at ``now`` in guilds the bot is still in, earliest first."""
        rows = await self.db.fetchall(
            f"SELECT {', '.join('s.' + c.strip() for c in _COLUMNS.split(','))} "  # noqa: S608
            "FROM update_subscriptions AS s "
            "LEFT JOIN guild_settings AS g ON g.guild_id = s.guild_id "
            "WHERE s.enabled = 1 AND s.next_due_at <= ? AND g.left_at IS NULL "
            "ORDER BY s.next_due_at, s.id",
            (db_time(now),),
        )
        return [_subscription(row) for row in rows]

    async def claim_due(
        self, now: datetime, owner: str, until: datetime, limit: int
    ) -> list[Subscription]:
        """Claim up to ``limit`` due subscriptions no other process holds, until ``until``.

        The rows are locked while claimed (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so processes
        claiming at once take different rows; SQLite: one writer at a time), earliest first.
        A claim ends with :meth:`release` or when ``until`` passes (its holder died).
        """
        due = (
            "FROM update_subscriptions AS s "
            "LEFT JOIN guild_settings AS g ON g.guild_id = s.guild_id "
            "WHERE s.enabled = 1 AND s.next_due_at <= ? AND g.left_at IS NULL "
            "AND (s.lease_until IS NULL OR s.lease_until <= ?) "
        )
        params = (db_time(now), db_time(now))
        # A plain read first: a cycle with nothing (more) due takes no write lock.
        if await self.db.fetchone("SELECT 1 " + due + "LIMIT 1", params) is None:
            return []
        async with self.db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT s.id "
                + due
                + "ORDER BY s.next_due_at, s.id LIMIT ?"
                + self.db.skip_locked("s"),
                (*params, limit),
            )
            ids = [row["id"] for row in rows]
            if not ids:
                return []
            marks = ", ".join("?" for _ in ids)
            await tx.execute(
                "UPDATE update_subscriptions SET lease_owner = ?, lease_until = ? "  # noqa: S608
                f"WHERE id IN ({marks})",
                (owner, db_time(until), *ids),
            )
            claimed = await tx.fetchall(
                f"SELECT {_COLUMNS} FROM update_subscriptions "  # noqa: S608
                f"WHERE id IN ({marks}) ORDER BY next_due_at, id",
                tuple(ids),
            )
        return [_subscription(row) for row in claimed]

    async def release(self, owner: str, subscription_ids: Iterable[int]) -> None:
        """End this owner's claims (served or given back)."""
        await self.db.executemany(
            "UPDATE update_subscriptions SET lease_owner = NULL, lease_until = NULL "
            "WHERE id = ? AND lease_owner = ?",
            [(subscription_id, owner) for subscription_id in subscription_ids],
        )

    async def next_due_at(self) -> datetime | None:
        """When the earliest enabled subscription is due (``None`` without any).

        A subscription claimed by another process counts from its lease's end.
        """
        value = await self.db.fetchval(
            "SELECT MIN(CASE WHEN s.lease_until > s.next_due_at THEN s.lease_until "
            "ELSE s.next_due_at END) FROM update_subscriptions AS s "
            "LEFT JOIN guild_settings AS g ON g.guild_id = s.guild_id "
            "WHERE s.enabled = 1 AND g.left_at IS NULL"
        )
        return parse_db_time(value)

    async def record_intent(self, subscription_id: int, nonce: str, now: datetime) -> None:
        """A post with ``nonce`` is about to be sent (saved first: a crash before its id is
        recorded then finds the message instead of sending it twice)."""
        await self.db.execute(
            "UPDATE update_subscriptions SET pending_nonce = ?, pending_since = ? WHERE id = ?",
            (nonce, db_time(now), subscription_id),
        )

    async def record_delivery(self, subscription_id: int, delivered: Delivered) -> None:
        await self.db.execute(
            "UPDATE update_subscriptions SET last_message_id = ?, last_match_id = ?, "
            "last_match_start = ?, last_posted_hash = ?, last_posted_at = ?, next_due_at = ?, "
            "stale_since = NULL, pending_nonce = NULL, pending_since = NULL WHERE id = ?",
            (
                delivered.message_id,
                delivered.match_id,
                delivered.match_start,
                delivered.content_hash,
                db_time(delivered.posted_at),
                db_time(delivered.next_due_at),
                subscription_id,
            ),
        )

    async def record_week_result_posted(
        self, subscription_id: int, match_id: str, match_start: str
    ) -> None:
        """The last week's result is out: follow the new match, with a fresh message next.

        Saved before the new match is posted, so a failure there cannot post the result again.
        """
        await self.db.execute(
            "UPDATE update_subscriptions SET last_match_id = ?, last_match_start = ?, "
            "last_message_id = NULL, last_posted_hash = NULL WHERE id = ?",
            (match_id, match_start, subscription_id),
        )

    async def reschedule(self, schedule: Iterable[tuple[int, datetime]]) -> None:
        """Move subscriptions to their next slot without touching what was posted."""
        await self.db.executemany(
            "UPDATE update_subscriptions SET next_due_at = ? WHERE id = ?",
            [(db_time(when), subscription_id) for subscription_id, when in schedule],
        )

    async def mark_stale(self, subscription_id: int, since: datetime, next_due: datetime) -> None:
        """The outage note was sent for data last fetched at ``since``."""
        await self.db.execute(
            "UPDATE update_subscriptions SET stale_since = ?, next_due_at = ? WHERE id = ?",
            (db_time(since), db_time(next_due), subscription_id),
        )

    async def disable(self, subscription_id: int, reason: str, now: datetime) -> None:
        await self.db.execute(
            "UPDATE update_subscriptions SET enabled = 0, last_error = ?, disabled_at = ? "
            "WHERE id = ?",
            (reason, db_time(now), subscription_id),
        )

    # Week results ----------------------------------------------------------------------------

    async def save_week_results(self, results: Iterable[WeekResult], now: datetime) -> None:
        await self.db.executemany(
            "INSERT INTO update_week_results (match_id, start_time, result, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (match_id, start_time) DO UPDATE SET "
            "result = excluded.result, updated_at = excluded.updated_at",
            [(r.match_id, db_time(r.start_time), r.to_json(), db_time(now)) for r in results],
        )

    async def week_result(self, match_id: str, start_time: str) -> WeekResult | None:
        value = await self.db.fetchval(
            "SELECT result FROM update_week_results WHERE match_id = ? AND start_time = ?",
            (match_id, start_time),
        )
        return None if value is None else WeekResult.from_json(value)

    async def purge_week_results_before(self, cutoff: datetime) -> int:
        return await self.db.execute(
            "DELETE FROM update_week_results WHERE updated_at < ?", (db_time(cutoff),)
        )


def _subscription(row: aiosqlite.Row | Any) -> Subscription:
    return Subscription(
        id=row["id"],
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        team_id=row["team_id"],
        interval_minutes=row["interval_minutes"],
        mode=row["mode"],
        last_message_id=row["last_message_id"],
        last_match_id=row["last_match_id"],
        last_match_start=row["last_match_start"],
        last_posted_hash=row["last_posted_hash"],
        last_posted_at=parse_db_time(row["last_posted_at"]),
        next_due_at=parse_db_time(row["next_due_at"]),
        enabled=bool(row["enabled"]),
        last_error=row["last_error"],
        disabled_at=parse_db_time(row["disabled_at"]),
        stale_since=parse_db_time(row["stale_since"]),
        created_by=row["created_by"],
        pending_nonce=row["pending_nonce"],
        pending_since=parse_db_time(row["pending_since"]),
    )
