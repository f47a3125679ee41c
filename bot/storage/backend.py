"""Open the database ``DATABASE_URL`` names: SQLite (one process) or PostgreSQL (cluster mode)."""

from __future__ import annotations

from pathlib import Path

from .database import Database
from .migrations import MIGRATIONS_DIR
from .urls import DatabaseTarget


async def open_database(
    target: DatabaseTarget, *, schema: str | None = None, migrations_dir: Path | None = None
) -> Database:
    """Connect and apply pending migrations; the caller closes it."""
    if target.backend == "postgresql":
        from .postgres import POSTGRES_MIGRATIONS_DIR, PostgresDatabase

        assert target.url is not None
        return await PostgresDatabase.connect(
            target.url, schema=schema, migrations_dir=migrations_dir or POSTGRES_MIGRATIONS_DIR
        )
    assert target.path is not None
    return await Database.open(target.path, migrations_dir=migrations_dir or MIGRATIONS_DIR)
