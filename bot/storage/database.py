"""The bot's one SQLite connection: WAL, foreign keys, a busy timeout, and one writer at a time.

Cogs and repositories write short, explicit, parameterised SQL through ``Database``; writes go
through ``transaction()`` so concurrent commands never interleave half-finished changes, and
``close()`` waits for the write in progress before closing the file.

A write the file refuses (disk full, read-only file or folder, a lock held too long elsewhere)
rolls back and raises :class:`StorageWriteError`, whose text tells the user nothing was saved;
``write_problem()`` is the cheap write probe behind ``/readyz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.tracing import db_span
from services.clock import parse_stored_time, stored_time
from services.errors import UserFacingError

from .migrations import MIGRATIONS_DIR, discover, migrate

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
QueryTimer = Any  # a prometheus Histogram with an ``operation`` label, or None


# The one stored time format lives in services (the domain compares stored keys too).
db_time = stored_time
parse_db_time = parse_stored_time


class StorageWriteError(UserFacingError):
    """The database refused a write; the transaction was rolled back, so nothing was stored."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "I couldn't save that: the bot's storage can't be written right now, so nothing was "
            "stored. Try again in a few minutes; if it keeps happening, tell the bot's admins."
        )
        self.reason = reason


def write_failure_reason(error: BaseException) -> str | None:
    """A short, secret-free reason when ``error`` means the file cannot be written, else None.

    Constraint violations and programming errors are bugs, not storage faults: those stay None.
    """
    if not isinstance(error, sqlite3.DatabaseError) or isinstance(
        error, sqlite3.IntegrityError | sqlite3.ProgrammingError | sqlite3.DataError
    ):
        return None
    text = str(error).lower()
    for needle, reason in _WRITE_FAILURES:
        if needle in text:
            return reason
    return "write failed"


_WRITE_FAILURES = (
    ("full", "disk full"),
    ("readonly", "read-only"),
    ("read-only", "read-only"),
    ("locked", "locked by another writer"),
    ("busy", "locked by another writer"),
    ("i/o", "disk I/O error"),
)


class DatabaseUnavailableError(Exception):
    """The database server cannot be reached right now (PostgreSQL lost); ``str()`` is safe."""


class Database:
    """Owns the connection. Create with ``await Database.open(path)``.

    The SQLite backend and the interface every repository uses; ``bot.storage.postgres`` has the
    PostgreSQL one (``open_database`` picks by ``DATABASE_URL``).
    """

    backend = "sqlite"

    def __init__(
        self, connection: aiosqlite.Connection, path: Path, *, busy_timeout_ms: int = 5000
    ) -> None:
        self._connection = connection
        self.path = path
        self._write_lock = asyncio.Lock()
        self.query_seconds: QueryTimer = None
        self._busy_timeout_ms = busy_timeout_ms

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
        return cls(connection, path, busy_timeout_ms=busy_timeout_ms)

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

    async def write_problem(self, *, wait_s: float = 1.0) -> str | None:
        """Why the database cannot be written now, or None: a one-row write probe (``/readyz``).

        Waits at most about ``wait_s`` for a lock, ours or another process's.
        """
        try:
            async with asyncio.timeout(wait_s):
                await self._write_lock.acquire()
        except TimeoutError:
            return "a write is taking too long"
        try:
            await self._connection.execute(f"PRAGMA busy_timeout={int(wait_s * 1000)}")
            try:
                await self._connection.execute("BEGIN IMMEDIATE")
                await self._connection.execute(
                    "INSERT INTO health_probe (id, probed_at) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                    (db_time(datetime.now(UTC)),),
                )
                await self._connection.commit()
            finally:
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.shield(self._connection.rollback())
                await self._connection.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        except (sqlite3.Error, ValueError) as error:
            return write_failure_reason(error) or "write failed"
        finally:
            self._write_lock.release()
        return None

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
                await self._connection.commit()
            except BaseException as error:
                with contextlib.suppress(sqlite3.Error):
                    await asyncio.shield(self._connection.rollback())
                reason = write_failure_reason(error)
                if reason is None:
                    raise
                log.warning("A database write failed and was rolled back: %s", reason)
                raise StorageWriteError(reason) from error

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
        return _Timer(self.query_seconds, sql, self.backend)


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

    __slots__ = ("_backend", "_histogram", "_operation", "_span", "_sql", "_started")

    def __init__(self, histogram: QueryTimer, sql: str, backend: str = "sqlite") -> None:
        self._backend = backend
        self._histogram = histogram
        self._operation = sql.lstrip().split(None, 1)[0].lower() if sql.strip() else "other"
        self._sql = sql
        self._span: Any = None
        self._started = 0.0

    def __enter__(self) -> None:
        # A Sentry span inside a traced transaction, else None.
        self._span = db_span(self._sql, self._backend)
        self._started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if self._span is not None:
            self._span.finish()
        if self._histogram is not None:
            operation = self._operation if self._operation in _OPERATIONS else "other"
            self._histogram.labels(operation=operation).observe(time.perf_counter() - self._started)


_OPERATIONS = frozenset({"select", "insert", "update", "delete", "with", "replace"})
