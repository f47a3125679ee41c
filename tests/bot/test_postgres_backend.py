"""The PostgreSQL backend itself: dialect translation, DATABASE_URL, migrations under a lock."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from bot.config import ConfigError, load_settings
from bot.storage import DatabaseUrlError, MigrationError, mask_url
from bot.storage.postgres import POSTGRES_MIGRATIONS_DIR, PostgresDatabase, translate
from bot.storage.urls import parse_database_url
from tests.backends import drop_schema, new_schema, require_postgres
from tests.bot.test_startup import _env, _failure_line, _run
from tests.harness import TEST_TOKEN, free_port

SECRET = "s3cr3t-Pa55word"


def test_placeholders_and_now_are_translated_but_quoted_text_is_not() -> None:
    sql = (
        "UPDATE t SET a = ?, b = '?', updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
        'WHERE c = ? AND d = "x?"'
    )
    assert translate(sql) == (
        "UPDATE t SET a = $1, b = '?', updated_at = to_char(now() AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') WHERE c = $2 AND d = "x?"'
    )


def test_database_url_picks_the_backend() -> None:
    default = Path("data/bot.sqlite3")
    assert parse_database_url(None, default).path == default
    assert parse_database_url("", default).backend == "sqlite"
    assert parse_database_url("sqlite:///var/lib/bot.db", default).path == Path("var/lib/bot.db")
    assert parse_database_url("sqlite:////var/lib/bot.db", default).path == Path("/var/lib/bot.db")
    target = parse_database_url(f"postgresql://bot:{SECRET}@db:5432/bot", default)
    assert target.backend == "postgresql"
    assert target.masked == "postgresql://bot:***@db:5432/bot"
    with pytest.raises(DatabaseUrlError) as error:
        parse_database_url(f"mysql://bot:{SECRET}@db/bot", default)
    assert SECRET not in str(error.value)


def test_a_password_is_masked_wherever_it_sits() -> None:
    assert mask_url(f"postgresql://u:{SECRET}@h/db") == "postgresql://u:***@h/db"
    assert mask_url("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db"
    assert SECRET not in mask_url(f"postgres://u@h/db?sslmode=require&password={SECRET}")
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"


def test_a_bad_database_url_names_the_variable_not_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"mongodb://bot:{SECRET}@db/bot")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "DATABASE_URL" in str(error.value)
    assert SECRET not in str(error.value)


@pytest.mark.e2e
async def test_an_unreachable_postgresql_is_one_line_naming_database_url_masked(
    tmp_path: Path,
) -> None:
    url = f"postgresql://bot:{SECRET}@127.0.0.1:{free_port()}/bot"
    env = _env(tmp_path, DISCORD_TOKEN=TEST_TOKEN, METRICS_PORT="0", DATABASE_URL=url)
    status, log = await _run(tmp_path, env)
    assert status == 1, log
    line = _failure_line(log)
    assert "DATABASE_URL=postgresql://bot:***@127.0.0.1:" in line
    assert SECRET not in log
    assert "Traceback" not in log


async def test_processes_starting_at_once_apply_each_migration_once() -> None:
    url = await require_postgres()
    schema = new_schema()
    try:
        dbs = await asyncio.gather(
            *(PostgresDatabase.connect(url, schema=schema) for _ in range(3))
        )
        rows = await dbs[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(
            range(1, len(list(POSTGRES_MIGRATIONS_DIR.glob("*.sql"))) + 1)
        )
        for db in dbs:
            await db.close()
    finally:
        await drop_schema(url, schema)


async def test_an_applied_postgresql_migration_that_was_edited_stops_start_up(
    tmp_path: Path,
) -> None:
    url = await require_postgres()
    schema = new_schema()
    migrations = tmp_path / "postgresql"
    shutil.copytree(POSTGRES_MIGRATIONS_DIR, migrations)
    try:
        await (
            await PostgresDatabase.connect(url, schema=schema, migrations_dir=migrations)
        ).close()
        first = sorted(migrations.glob("0001_*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match="was changed after it was applied"):
            await PostgresDatabase.connect(url, schema=schema, migrations_dir=migrations)
    finally:
        await drop_schema(url, schema)


async def test_constraints_hold_on_postgresql_as_on_sqlite() -> None:
    url = await require_postgres()
    schema = new_schema()
    try:
        db = await PostgresDatabase.connect(url, schema=schema)
        try:
            with pytest.raises(asyncpg.CheckViolationError):
                await db.execute(
                    "INSERT INTO guild_settings (guild_id, key_ownership_policy) VALUES (?, ?)",
                    (1, "sometimes"),
                )
            await db.execute("INSERT INTO guild_settings (guild_id) VALUES (?)", (2**62,))
            row = await db.fetchone("SELECT guild_id, created_at FROM guild_settings")
            assert row is not None
            assert row["guild_id"] == 2**62  # snowflakes are 64-bit
            assert row["created_at"].endswith("Z")
            assert "T" in row["created_at"]
        finally:
            await db.close()
    finally:
        await drop_schema(url, schema)


def test_connection_url_passwords_are_redacted_from_logs() -> None:
    from pydantic import SecretStr

    from bot.config import DatabaseSettings, RedisSettings, Settings
    from services.secrets import SecretRedactor

    settings = Settings(
        database=DatabaseSettings(url=SecretStr(f"postgresql://bot:{SECRET}@db:5432/bot")),
        redis=RedisSettings(url=SecretStr("redis://:redis-Pa55word@cache:6379/0")),
    )
    redactor = SecretRedactor(settings.secrets())
    line = f"connect failed: password={SECRET} (redis-Pa55word)"
    redacted = redactor.redact(line)
    assert SECRET not in redacted
    assert "redis-Pa55word" not in redacted
