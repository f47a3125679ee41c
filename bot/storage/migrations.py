"""Applies ``migrations/NNNN_name.sql`` in order, each in its own transaction.

Applied files are recorded in ``schema_migrations`` with a checksum. Start-up stops with a clear
message when an applied file was edited afterwards or when the database was migrated by newer code.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


class MigrationError(Exception):
    """The database and the code disagree; ``str()`` says what happened and what to do."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in ``directory``, ordered by version; rejects gaps and duplicates."""
    if not directory.is_dir():
        raise MigrationError(f"Migrations folder {directory} does not exist.")
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _FILE_RE.match(path.name)
        if match is None:
            raise MigrationError(f"Migration file {path.name} must be named NNNN_name.sql.")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(
            f"Migration versions must run 1, 2, 3… without gaps; found {versions}."
        )
    return found


async def migrate(connection: aiosqlite.Connection, migrations: list[Migration]) -> list[int]:
    """Apply what is missing; return the versions applied now (empty when up to date)."""
    await connection.execute(_CREATE_TABLE)
    async with connection.execute(
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    ) as cursor:
        applied = {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}

    check_applied(applied, migrations)

    done: list[int] = []
    for migration in migrations:
        if migration.version in applied:
            continue
        await _apply(connection, migration)
        done.append(migration.version)
        log.info("Applied migration %04d_%s", migration.version, migration.name)
    return done


def check_applied(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    """Refuse a database migrated by newer code or with an applied file edited since."""
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise MigrationError(
            f"The database is at schema version {max(applied)} but this code only knows up to "
            f"{max(known, default=0)}: it was used by a newer GW2Optimizer. Upgrade the bot, or "
            "restore a backup made for this version."
        )
    for version, (name, checksum) in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"Migration {version:04d}_{name}.sql was changed after it was applied. Applied "
                "migrations must never be edited: restore the file and add a new migration instead."
            )


async def _apply(connection: aiosqlite.Connection, migration: Migration) -> None:
    await connection.execute("BEGIN IMMEDIATE")
    try:
        for statement in split_statements(migration.sql):
            await connection.execute(statement)
        await connection.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
            "VALUES (?, ?, ?, ?)",
            (
                migration.version,
                migration.name,
                migration.checksum,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        await connection.commit()
    except Exception as error:
        await connection.rollback()
        raise MigrationError(
            f"Migration {migration.version:04d}_{migration.name}.sql failed and was rolled back: "
            f"{error}"
        ) from error


def split_statements(script: str) -> list[str]:
    """Split a SQL script into complete statements (triggers' BEGIN…END blocks stay whole)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement.rstrip(";").strip():
                statements.append(statement)
            pending = ""
    if pending.strip() and not _only_comments(pending):
        raise MigrationError(f"Unterminated SQL statement: {pending.strip()[:80]}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
