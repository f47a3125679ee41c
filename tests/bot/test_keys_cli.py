"""``python -m bot.keys``: generate prints a usable key; rotate re-encrypts, prints counts only."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.keys import main
from bot.storage import Database
from bot.storage.keys import LinkedKeyStore
from services.keys import KeyVault, generate_key
from tests.bot.test_redaction import make_gw2_key

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


async def store_keys(path: Path, encryption_key: str, keys: list[str]) -> None:
    db = await Database.open(path)
    try:
        store = LinkedKeyStore(db, KeyVault([encryption_key]))
        for index, key in enumerate(keys):
            await store.link(
                user_id=index + 1,
                key=key,
                account_id=f"id-{index}",
                account_name=f"Player.{index:04d}",
                key_name="",
                key_type="APIKey",
                permissions=["account"],
                ownership_verified=False,
                now=NOW,
            )
    finally:
        await db.close()


async def stored_tokens(path: Path) -> list[bytes]:
    db = await Database.open(path)
    try:
        rows = await db.fetchall("SELECT encrypted_key FROM linked_keys ORDER BY id")
        return [bytes(row[0]) for row in rows]
    finally:
        await db.close()


def test_generate_prints_a_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate"]) == 0
    printed = capsys.readouterr().out.strip()
    assert KeyVault([printed]).key_count == 1


async def test_rotate_re_encrypts_every_row_with_the_new_key_and_prints_counts_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = generate_key(), generate_key()
    database = tmp_path / "bot.sqlite3"
    keys = [make_gw2_key(), make_gw2_key()]
    await store_keys(database, old, keys)
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.setenv("KEY_ENCRYPTION_KEY", f"{new},{old}")

    # asyncio.run can't nest in the test's loop: run the CLI in a worker thread.
    status = await asyncio.to_thread(main, ["rotate"])
    again = await asyncio.to_thread(main, ["rotate"])
    out = capsys.readouterr().out

    assert status == 0
    assert again == 0
    assert "Re-encrypted 2 stored key(s); 0 already used the current key." in out
    assert "Re-encrypted 0 stored key(s); 2 already used the current key." in out
    for key in keys:
        assert key not in out
    assert old not in out
    assert new not in out
    tokens = await stored_tokens(database)
    only_new = KeyVault([new])
    assert sorted(only_new.decrypt(token) for token in tokens) == sorted(keys)


async def test_rotate_with_the_wrong_key_fails_clearly_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = generate_key()
    database = tmp_path / "bot.sqlite3"
    await store_keys(database, old, [make_gw2_key()])
    before = await stored_tokens(database)
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.setenv("KEY_ENCRYPTION_KEY", generate_key())

    status = await asyncio.to_thread(main, ["rotate"])

    err = capsys.readouterr().err
    assert status == 1
    assert "cannot be decrypted" in err or "could not be decrypted" in err
    assert await stored_tokens(database) == before


def test_rotate_without_any_key_refuses_instead_of_generating_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"")
    monkeypatch.setenv("DATABASE_PATH", str(database))
    assert main(["rotate"]) == 1
    assert "nothing to rotate with" in capsys.readouterr().err
    assert not (tmp_path / "key_encryption.key").exists()


def test_the_module_runs_as_a_documented_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEY_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.keys", "generate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 44
