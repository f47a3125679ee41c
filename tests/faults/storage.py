"""Storage faults for tests: a disk that is full, a read-only database, a lock held elsewhere."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from bot.storage import Database

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT")


class FullDisk:
    """Wraps the bot's aiosqlite connection: every write fails as SQLite does on a full disk."""

    def __init__(self, inner: aiosqlite.Connection) -> None:
        self._inner = inner
        self.refused = 0

    def execute(self, sql: str, params: Any = ()) -> Any:
        self._check(sql)
        return self._inner.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> Any:
        self._check(sql)
        return self._inner.executemany(sql, rows)

    async def commit(self) -> None:
        self._check("COMMIT")
        await self._inner.commit()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _check(self, sql: str) -> None:
        if sql.lstrip().upper().startswith(_WRITES):
            self.refused += 1
            raise sqlite3.OperationalError("database or disk is full")


@asynccontextmanager
async def full_disk(db: Database) -> AsyncIterator[FullDisk]:
    """The disk is full inside the block; writable again after it."""
    inner = db._connection
    wrapper = FullDisk(inner)
    db._connection = wrapper  # type: ignore[assignment]
    try:
        yield wrapper
    finally:
        db._connection = inner


@asynccontextmanager
async def read_only(db: Database) -> AsyncIterator[None]:
    """SQLite refuses writes ("attempt to write a readonly database") inside the block."""
    await db.connection.execute("PRAGMA query_only=ON")
    try:
        yield
    finally:
        await db.connection.execute("PRAGMA query_only=OFF")


@asynccontextmanager
async def lock_held_elsewhere(db: Database) -> AsyncIterator[None]:
    """Another process-like connection holds the write lock inside the block."""
    other = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
    try:
        # In a thread: the bot may be inside a write of its own (the update loop claims due
        # subscriptions), which can only finish while the event loop keeps running.
        await asyncio.to_thread(other.execute, "BEGIN IMMEDIATE")
        yield
    finally:
        other.rollback()
        other.close()
