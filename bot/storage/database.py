"""The bot's one SQLite connection: WAL, foreign keys, a busy timeout, and one writer at a time.

Cogs and repositories write short, explicit, parameterised SQL through ``Database``; writes go
through ``transaction()`` so concurrent commands never interleave half-finished changes, and
``close()`` waits for the write in progress before closing the file.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.tracing import db_span
from services.clock import parse_stored_time, stored_time

from .migrations import MIGRATIONS_DIR, discover, migrate

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
QueryTimer = Any  # a prometheus Histogram with an ``operation`` label, or None


# The one stored time format lives in services (the domain compares stored keys too).
db_time = stored_time
parse_db_time = parse_stored_time


class DatabaseUnavailableError(Exception):
    """The database server cannot be reached right now (PostgreSQL lost); ``str()`` is safe."""


class Database:
    """Owns the connection. Create with ``await Database.open(path)``.

    The SQLite backend and the interface every repository uses; ``bot.storage.postgres`` has the
    PostgreSQL one (``open_database`` picks by ``DATABASE_URL``).
    """

    backend = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()
        self.query_seconds: QueryTimer = None

    def skip_locked(self, table: str) -> str:
        """Row locks for a claim query: none on SQLite (``BEGIN IMMEDIATE`` holds the database)."""
        del table
        return ""

    @classmethod
    async def open(
        cls, path: Path, *, migrations_dir: Path = MIGRATIONS_DIR, busy_timeout_ms: int = 5000
    ) -> Database:
        """Open (creating the folder and file), set pragmas and apply pending migrations."""
        migrations = discover(migrations_dir)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path, isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            await connection.execute("PRAGMA synchronous=NORMAL")
            await migrate(connection, migrations)
        except BaseException:
            await connection.close()
            raise
        return cls(connection, path)

    async def close(self) -> None:
        """Wait for the write in progress, then close the connection."""
        async with self._write_lock:
            await self._connection.close()

    async def ping(self) -> bool:
        """True when the database answers a trivial query (for ``/readyz``)."""
        try:
            async with asyncio.timeout(2):
                await self.fetchval("SELECT 1")
        except (aiosqlite.Error, TimeoutError, ValueError):
            return False
        return True

    # Reads -----------------------------------------------------------------------------------

    # Reads wait for a write transaction in progress: on the one shared connection they would
    # otherwise see its uncommitted (perhaps rolled back) changes.

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self._write_lock:
            return await self._fetchall(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self._write_lock:
            return await self._fetchone(sql, params)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    # Writes ----------------------------------------------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write in its own transaction; returns the number of rows changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """``async with db.transaction() as tx:`` — all or nothing, one writer at a time."""
        async with self._write_lock:
            try:
                # Inside the try: a task cancelled while BEGIN is queued still gets its
                # transaction rolled back (aiosqlite runs the queued BEGIN, then the ROLLBACK).
                await self._connection.execute("BEGIN IMMEDIATE")
                yield Transaction(self)
            except BaseException:
                await asyncio.shield(self._connection.rollback())
                raise
            else:
                await self._connection.commit()

    # Internals -------------------------------------------------------------------------------

    async def _fetchall(self, sql: str, params: Params) -> list[aiosqlite.Row]:
        with self._timed(sql):
            async with self._connection.execute(sql, params) as cursor:
                return list(await cursor.fetchall())

    async def _fetchone(self, sql: str, params: Params) -> aiosqlite.Row | None:
        with self._timed(sql):
            async with self._connection.execute(sql, params) as cursor:
                row: aiosqlite.Row | None = await cursor.fetchone()
                return row

    @property
    def connection(self) -> aiosqlite.Connection:
        return self._connection

    def _timed(self, sql: str) -> _Timer:
        return _Timer(self.query_seconds, sql)


class Transaction:
    """Statements inside ``Database.transaction()``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def execute(self, sql: str, params: Params = ()) -> int:
        with self._db._timed(sql):
            async with self._db.connection.execute(sql, params) as cursor:
                return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._db._timed(sql):
            await self._db.connection.executemany(sql, rows)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT and return the new row id."""
        with self._db._timed(sql):
            async with self._db.connection.execute(sql, params) as cursor:
                return int(cursor.lastrowid or 0)

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        return await self._db._fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return await self._db._fetchall(sql, params)


class _Timer:
    """Observes a query's duration in the ``gw2opt_db_query_seconds`` histogram, by operation."""

    __slots__ = ("_histogram", "_operation", "_span", "_sql", "_started")

    def __init__(self, histogram: QueryTimer, sql: str) -> None:
        self._histogram = histogram
        self._operation = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else "other"
        self._sql = sql
        self._span: Any = None
        self._started = 0.0

    def __enter__(self) -> None:
        self._span = db_span(self._sql)  # a Sentry span inside a traced transaction, else None
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if self._span is not None:
            self._span.finish()
        if self._histogram is not None:
            operation = self._operation if self._operation in _OPERATIONS else "other"
            self._histogram.labels(operation=operation).observe(time.perf_counter() - self._started)


_OPERATIONS = frozenset({"select", "insert", "update", "delete", "with", "replace"})
