"""`python -m bot.copy_to_postgres`: every table copied, row counts and decryption verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.copy_to_postgres import main
from bot.storage import Database
from bot.storage.keys import LinkedKeyStore
from bot.storage.postgres import PostgresDatabase
from bot.storage.subscriptions import SubscriptionRepository
from services.clock import ManualClock
from services.keys import KeyVault, generate_key
from tests.backends import postgres_url_in_new_schema
from tests.bot.test_redaction import make_gw2_key


async def _bot_database(path: Path, key_material: str, api_key: str) -> None:
    """An SQLite database as a one-process bot leaves it: settings, a key, updates, alerts."""
    clock = ManualClock()
    db = await Database.open(path)
    try:
        vault = KeyVault.from_config(key_material, path.parent).vault
        await LinkedKeyStore(db, vault).link(
            user_id=42,
            key=api_key,
            account_id="id-alice",
            account_name="Alice.1234",
            key_name="bot",
            key_type="APIKey",
            permissions=["account", "wvw"],
            ownership_verified=True,
            now=clock.now(),
        )
        for index in range(3):
            await SubscriptionRepository(db).subscribe(
                guild_id=7,
                channel_id=100 + index,
                team_id=11001,
                interval_minutes=15,
                mode="edit",
                created_by=42,
                now=clock.now(),
                limit=10,
            )
        await db.execute(
            "INSERT INTO alert_events (match_id, start_time, event, created_at) "
            "VALUES (?, ?, ?, ?)",
            ("1-1", "2026-11-20T18:00:00+00:00", "{}", "2026-11-20T18:00:00+00:00"),
        )
    finally:
        await db.close()


async def test_every_table_is_copied_and_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_material = generate_key()
    api_key = make_gw2_key()
    sqlite_path = tmp_path / "data" / "bot.sqlite3"
    sqlite_path.parent.mkdir()
    await _bot_database(sqlite_path, key_material, api_key)
    monkeypatch.setenv("KEY_ENCRYPTION_KEY", key_material)
    async with postgres_url_in_new_schema() as url:
        status = await _main_in_thread(["--sqlite", str(sqlite_path), "--postgres", url])
        out = capsys.readouterr().out
        db = await PostgresDatabase.connect(url)
        try:
            store = LinkedKeyStore(db, KeyVault.from_config(key_material, tmp_path).vault)
            linked = await store.active(42)
            assert linked is not None
            decrypted = await store.decrypt(linked)
            subscriptions = await SubscriptionRepository(db).for_guild(7)
            async with db.transaction() as tx:  # ids go on after the copied ones
                new_id = await tx.insert(
                    "INSERT INTO alert_events (match_id, start_time, event, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    ("1-1", "2026-11-20T18:00:00+00:00", "{}", "2026-11-20T18:00:00+00:00"),
                )
        finally:
            await db.close()
    assert status == 0, out
    assert "update_subscriptions: 3 row(s) copied, 3 in PostgreSQL" in out
    assert "linked_keys: 1 row(s) copied, 1 in PostgreSQL" in out
    assert "Verified: row counts equal, 1 linked key(s) decrypt." in out
    assert api_key not in out
    assert decrypted == api_key
    assert [s.channel_id for s in subscriptions] == [100, 101, 102]
    assert new_id == 2


async def test_a_wrong_encryption_key_fails_the_verification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_path = tmp_path / "bot.sqlite3"
    await _bot_database(sqlite_path, generate_key(), make_gw2_key())
    monkeypatch.setenv("KEY_ENCRYPTION_KEY", generate_key())  # not the one the keys use
    async with postgres_url_in_new_schema() as url:
        status = await _main_in_thread(["--sqlite", str(sqlite_path), "--postgres", url])
    assert status == 1
    assert "do not decrypt" in capsys.readouterr().err


async def _main_in_thread(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)
