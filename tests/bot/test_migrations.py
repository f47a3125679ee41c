from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import Database, MigrationError
from bot.storage.migrations import MIGRATIONS_DIR, discover, migrate, split_statements


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    return folder


async def test_fresh_database_gets_every_table_and_pragmas(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "fresh.sqlite3")
    try:
        tables = {
            row[0] for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"guild_settings", "linked_keys", "update_subscriptions", "schema_migrations"} <= (
            tables
        )
        assert await db.fetchval("PRAGMA journal_mode") == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
        assert await db.fetchval("PRAGMA busy_timeout") == 5000
        versions = [row[0] for row in await db.fetchall("SELECT version FROM schema_migrations")]
        assert versions == [m.version for m in discover()]
    finally:
        await db.close()


async def test_running_again_applies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "again.sqlite3"
    await (await Database.open(path)).close()
    async with aiosqlite.connect(path, isolation_level=None) as connection:
        assert await migrate(connection, discover()) == []


async def test_a_changed_applied_file_is_refused(tmp_path: Path, migrations_dir: Path) -> None:
    path = tmp_path / "changed.sqlite3"
    await (await Database.open(path, migrations_dir=migrations_dir)).close()
    first = sorted(migrations_dir.glob("0001_*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await Database.open(path, migrations_dir=migrations_dir)


async def test_a_database_newer_than_the_code_is_refused(
    tmp_path: Path, migrations_dir: Path
) -> None:
    path = tmp_path / "newer.sqlite3"
    newest = len(discover(migrations_dir))
    (migrations_dir / f"{newest + 1:04d}_future.sql").write_text("CREATE TABLE future (id INT);")
    await (await Database.open(path, migrations_dir=migrations_dir)).close()
    (migrations_dir / f"{newest + 1:04d}_future.sql").unlink()
    with pytest.raises(MigrationError, match="newer GW2Optimizer"):
        await Database.open(path, migrations_dir=migrations_dir)


async def test_a_failing_migration_is_rolled_back_whole(
    tmp_path: Path, migrations_dir: Path
) -> None:
    path = tmp_path / "broken.sqlite3"
    newest = len(discover(migrations_dir))
    (migrations_dir / f"{newest + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError, match="rolled back"):
        await Database.open(path, migrations_dir=migrations_dir)
    async with aiosqlite.connect(path) as connection:
        async with connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'"
        ) as cursor:
            assert (await cursor.fetchone()) == (0,)
        async with connection.execute("SELECT max(version) FROM schema_migrations") as cursor:
            assert (await cursor.fetchone()) == (newest,)


def test_files_must_be_numbered_without_gaps(migrations_dir: Path) -> None:
    (migrations_dir / "0009_skipped_ahead.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="without gaps"):
        discover(migrations_dir)


def test_split_keeps_trigger_bodies_whole() -> None:
    script = """
    -- a comment
    CREATE TABLE a (id INTEGER);
    CREATE TRIGGER t AFTER INSERT ON a BEGIN
        UPDATE a SET id = id + 1;
    END;
    """
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO guild_settings (guild_id) VALUES (?)", (1,))
            raise RuntimeError("boom")
    assert await db.fetchval("SELECT count(*) FROM guild_settings") == 0


async def test_reads_never_see_a_write_in_progress(db: Database) -> None:
    import asyncio

    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO guild_settings (guild_id) VALUES (?)", (7,))
            started.set()
            await release.wait()
            raise RuntimeError("rolled back")

    writer = asyncio.create_task(slow_write())
    await started.wait()
    reader = asyncio.create_task(db.fetchval("SELECT count(*) FROM guild_settings"))
    await asyncio.sleep(0.05)
    if db.backend == "sqlite":  # one shared connection: the read waits for the transaction
        assert not reader.done()
    release.set()
    with pytest.raises(RuntimeError):
        await writer
    assert await reader == 0


async def test_a_writer_cancelled_while_beginning_leaves_no_transaction_open(
    db: Database,
) -> None:
    import asyncio

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO guild_settings (guild_id) VALUES (?)", (8,))

    for delay in range(4):  # cancel at each await point of the transaction
        task = asyncio.create_task(write())
        for _ in range(delay):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.execute("DELETE FROM guild_settings")  # fails if a transaction was left open
    if db.backend == "sqlite":
        assert not db.connection.in_transaction
    assert await db.fetchval("SELECT count(*) FROM guild_settings") == 0
