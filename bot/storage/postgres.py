"""The PostgreSQL backend (``DATABASE_URL=postgresql://...``) behind the ``Database`` interface.

Repositories write one SQL dialect (SQLite's ``?`` placeholders); :func:`translate` turns it into
PostgreSQL's (``$1``…, ``now`` as text) here, so neither the repositories' callers nor the cogs and
services know which backend runs. Connections come from an asyncpg pool; every transaction holds
one connection, so several processes and tasks write at the same time and PostgreSQL's own locks
keep them apart (``SELECT … FOR UPDATE SKIP LOCKED`` for leases).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from .database import (
    Database,
    DatabaseUnavailableError,
    Params,
    StorageWriteError,
    Transaction,
    db_time,
)
from .migrations import MIGRATIONS_DIR, Migration, MigrationError, check_applied, discover
from .urls import mask_url

log = logging.getLogger(__name__)

POSTGRES_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"
# One advisory lock id for the migration runner: processes starting at once apply each file once.
MIGRATION_LOCK_ID = int.from_bytes(hashlib.sha256(b"gw2optimizer:migrations").digest()[:7], "big")

_NOW_SQLITE = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
_NOW_POSTGRES = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
_STATUS_COUNT = re.compile(r"(\d+)$")

# What a lost or refused PostgreSQL connection raises (the caller says "temporarily unavailable").
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    TimeoutError,
)

# PostgreSQL's own "the connection is gone" errors (a command answers "temporarily unavailable").
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)
# Everything a PostgreSQL read or write may raise besides a bug (for callers that degrade).
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    *UNAVAILABLE_ERRORS,
    asyncpg.PostgresError,
    DatabaseUnavailableError,
)


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """SQLite-dialect SQL as the repositories write it → PostgreSQL (placeholders, ``now``)."""
    sql = sql.replace(_NOW_SQLITE, _NOW_POSTGRES)
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """A lost or refused connection becomes :class:`DatabaseUnavailableError`."""
    try:
        yield
    except UNAVAILABLE_ERRORS as error:
        raise DatabaseUnavailableError(
            f"PostgreSQL is not answering ({type(error).__name__})"
        ) from error


# PostgreSQL refusing a write for a reason of its own storage, not a bug: the user is told nothing
# was stored (as on SQLite), and /readyz says why.
_WRITE_FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (asyncpg.DiskFullError, "disk full"),
    (asyncpg.ReadOnlySQLTransactionError, "read-only"),
    (asyncpg.LockNotAvailableError, "locked by another writer"),
    (asyncpg.InsufficientResourcesError, "out of resources"),
)


def write_failure_reason(error: BaseException) -> str | None:
    """A short, secret-free reason when PostgreSQL refused a write for storage reasons."""
    for kind, reason in _WRITE_FAILURES:
        if isinstance(error, kind):
            return reason
    return None


def _positional(params: Params) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("the PostgreSQL backend takes positional (?) parameters only")
    return params


def _count(status: str) -> int:
    match = _STATUS_COUNT.search(status or "")
    return int(match[1]) if match else 0


class PostgresDatabase(Database):
    """A pool of asyncpg connections. Create with ``await PostgresDatabase.connect(url)``."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str, schema: str | None = None) -> None:
        # The SQLite attributes are not used; ``path`` names the (masked) URL for messages.
        self._pool = pool
        self.url = url
        self.schema = schema
        self.path = Path(mask_url(url))
        self._write_lock = asyncio.Lock()  # only close() waits on it here
        self.query_seconds = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        schema: str | None = None,
        migrations_dir: Path = POSTGRES_MIGRATIONS_DIR,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
    ) -> PostgresDatabase:
        """Open the pool (in ``schema`` when given, created if missing) and apply migrations."""
        migrations = discover(migrations_dir)
        settings = {"search_path": schema} if schema else {}
        if schema:
            conn = await asyncpg.connect(url, timeout=connect_timeout)
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_identifier(schema)}"')
            except asyncpg.UniqueViolationError:
                pass  # another process created it at the same moment
            finally:
                await conn.close()
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            command_timeout=30,
            server_settings=settings,
        )
        try:
            async with pool.acquire() as conn:
                await migrate_postgres(conn, migrations)
        except BaseException:
            await pool.close()
            raise
        return cls(pool, url, schema)

    def skip_locked(self, table: str) -> str:
        """Claimed rows stay locked to this transaction; other processes skip, never wait."""
        return f" FOR UPDATE OF {table} SKIP LOCKED"

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(2):
                await self._pool.fetchval("SELECT 1")
        except (*UNAVAILABLE_ERRORS, asyncpg.PostgresError):
            return False
        return True

    async def write_problem(self, *, wait_s: float = 1.0) -> str | None:
        """Why the database cannot be written now, or None: a one-row write probe (``/readyz``)."""
        try:
            async with asyncio.timeout(wait_s):
                await self.execute(
                    "INSERT INTO health_probe (id, probed_at) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
                    (db_time(datetime.now(UTC)),),
                )
        except TimeoutError:
            return "a write is taking too long"
        except StorageWriteError as error:
            return error.reason
        except DatabaseUnavailableError:
            return "not answering"
        except asyncpg.PostgresError as error:
            return f"write failed ({type(error).__name__})"
        return None

    # Reads (each on a pooled connection: they see committed data only) -------------------------

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        with self._timed(sql), _unavailable():
            return list(await self._pool.fetch(translate(sql), *_positional(params)))

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        with self._timed(sql), _unavailable():
            return await self._pool.fetchrow(translate(sql), *_positional(params))

    # Writes ------------------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        with _unavailable():
            conn = await self._pool.acquire()
        try:
            with _unavailable():
                tx = conn.transaction()
                await tx.start()
            try:
                yield PostgresTransaction(self, conn)
                with _unavailable():
                    await tx.commit()
            except BaseException as error:
                with contextlib.suppress(*DATABASE_ERRORS):
                    await asyncio.shield(tx.rollback())
                reason = write_failure_reason(error)
                if reason is None:
                    raise
                log.warning("A database write failed and was rolled back: %s", reason)
                raise StorageWriteError(reason) from error
        finally:
            with contextlib.suppress(*DATABASE_ERRORS):
                await self._pool.release(conn)


class PostgresTransaction(Transaction):
    """Statements on the transaction's own connection."""

    def __init__(self, db: PostgresDatabase, conn: Any) -> None:
        self._db = db
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        with self._db._timed(sql), _unavailable():
            return _count(await self._conn.execute(translate(sql), *_positional(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._db._timed(sql), _unavailable():
            await self._conn.executemany(translate(sql), [_positional(r) for r in rows])

    async def insert(self, sql: str, params: Params = ()) -> int:
        with self._db._timed(sql), _unavailable():
            value = await self._conn.fetchval(
                translate(sql.rstrip().rstrip(";")) + " RETURNING id", *_positional(params)
            )
        return int(value or 0)

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        with self._db._timed(sql), _unavailable():
            return await self._conn.fetchrow(translate(sql), *_positional(params))

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        with self._db._timed(sql), _unavailable():
            return list(await self._conn.fetch(translate(sql), *_positional(params)))


async def migrate_postgres(conn: Any, migrations: list[Migration]) -> list[int]:
    """Apply what is missing under an advisory lock, each file in its own transaction."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        applied = {row[0]: (row[1], row[2]) for row in rows}
        check_applied(applied, migrations)
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                        "VALUES ($1, $2, $3, $4)",
                        migration.version,
                        migration.name,
                        migration.checksum,
                        datetime.now(UTC).isoformat(timespec="seconds"),
                    )
            except asyncpg.PostgresError as error:
                raise MigrationError(
                    f"Migration postgresql/{migration.version:04d}_{migration.name}.sql failed "
                    f"and was rolled back: {error}"
                ) from error
            done.append(migration.version)
            log.info("Applied migration postgresql/%04d_%s", migration.version, migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)


def _identifier(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain schema name: {name!r}")
    return name
