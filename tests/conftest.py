"""Fixtures shared by the whole suite: a temporary data folder, a migrated database, a clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import Database
from services.clock import ManualClock

_ENV_PREFIXES = (
    "DISCORD_",
    "DATABASE_",
    "KEY_ENCRYPTION_KEY",
    "LEAK_GUARD_ENABLED",
    "ROLES_STRICT_MODE_ENABLED",
    "GW2_API_",
    "MISTRAL_",
    "METRICS_",
    "SENTRY_",
    "LOG_",
    "REDIS_",
)


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's own environment or ``.env`` file."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database on each backend (PostgreSQL: its own schema, see tests/backends.py)."""
    if request.param == "postgresql":
        from tests.backends import postgres_database

        async with postgres_database() as pg:
            yield pg
        return
    database = await Database.open(tmp_path / "test.sqlite3")
    try:
        yield database
    finally:
        await database.close()
