"""The real PostgreSQL and Redis the cluster tests use (TEST_DATABASE_URL / TEST_REDIS_URL).

Each test gets its own PostgreSQL schema (dropped afterwards) or Redis key prefix, so tests never
see each other's data. Unreachable: skipped with the reason, except with ``CI=true`` where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from redis import asyncio as redis_asyncio

from bot.storage import Database, mask_url
from bot.storage.postgres import PostgresDatabase

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def postgres_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_DATABASE_URL


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS_URL


def _unavailable(what: str, reason: str) -> None:
    message = f"{what} unreachable ({reason}); set the TEST_* URL or start it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " — CI=true: a missing service is a failure, not a skip")
    pytest.skip(message)


_PROBED: dict[str, str | None] = {}


async def _postgres_problem() -> str | None:
    url = postgres_url()
    if url not in _PROBED:
        try:
            conn = await asyncpg.connect(url, timeout=3)
            await conn.close()
        except Exception as error:  # any failure to connect means "not here"
            _PROBED[url] = f"{mask_url(url)}: {type(error).__name__}"
        else:
            _PROBED[url] = None
    return _PROBED[url]


async def require_postgres() -> str:
    problem = await _postgres_problem()
    if problem is not None:
        _unavailable("PostgreSQL", problem)
    return postgres_url()


_REDIS_PROBED: dict[str, str | None] = {}


async def require_redis() -> str:
    url = redis_url()
    if url not in _REDIS_PROBED:
        client = redis_asyncio.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            await client.ping()
        except Exception as error:  # any failure to answer means "not here"
            _REDIS_PROBED[url] = f"{mask_url(url)}: {type(error).__name__}"
        else:
            _REDIS_PROBED[url] = None
        finally:
            await client.aclose()
    problem = _REDIS_PROBED[url]
    if problem is not None:
        _unavailable("Redis", problem)
    return url


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[tuple[str, str]]:
    """(url, a key prefix of this test's own); its keys are deleted afterwards."""
    url = await require_redis()
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    try:
        yield url, prefix
    finally:
        client = redis_asyncio.from_url(url)
        try:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def new_schema() -> str:
    return "t_" + uuid.uuid4().hex[:16]


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@asynccontextmanager
async def postgres_url_in_new_schema() -> AsyncIterator[str]:
    """A DATABASE_URL whose connections work in a fresh, migrated schema (dropped afterwards).

    asyncpg passes unknown URL query parameters on as server settings: ``search_path`` here.
    """
    url = await require_postgres()
    schema = new_schema()
    db = await PostgresDatabase.connect(url, schema=schema)
    await db.close()
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}search_path={schema}"
    finally:
        await drop_schema(url, schema)


@asynccontextmanager
async def postgres_database(schema: str | None = None) -> AsyncIterator[PostgresDatabase]:
    """A migrated PostgreSQL database in a fresh schema, dropped afterwards."""
    url = await require_postgres()
    schema = schema or new_schema()
    db = await PostgresDatabase.connect(url, schema=schema)
    try:
        yield db
    finally:
        await db.close()
        await drop_schema(url, schema)


__all__ = ["Database", "postgres_database", "postgres_url", "redis_url", "require_postgres"]
