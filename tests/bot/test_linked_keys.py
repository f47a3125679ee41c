from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import Database
from bot.storage.keys import LinkedKeyStore
from services.keys import KeyFailureState, KeyVault, generate_key
from tests.bot.test_redaction import make_gw2_key

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database) -> LinkedKeyStore:
    return LinkedKeyStore(db, KeyVault([generate_key()]))


async def _link(store: LinkedKeyStore, user: int, account: str, key: str, when: datetime = NOW):
    return await store.link(
        user_id=user,
        key=key,
        account_id=f"id-{account}",
        account_name=account,
        key_name="GW2OPT-7KQ4 bot",
        key_type="APIKey",
        permissions=["wvw", "account", "characters", "builds"],
        ownership_verified=True,
        now=when,
    )


async def test_the_database_file_holds_no_plaintext_key(
    store: LinkedKeyStore, db: Database, tmp_path: Path
) -> None:
    key = make_gw2_key()
    linked = await _link(store, 1, "Alice.1234", key)
    if db.backend == "sqlite":
        await db.connection.execute("PRAGMA wal_checkpoint(FULL)")
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("test.sqlite3*"))
    else:  # PostgreSQL: every stored value of the row, as the server returns it
        row = await db.fetchone("SELECT * FROM linked_keys")
        assert row is not None
        raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert key.encode() not in raw
    assert key[9:30].encode() not in raw
    assert linked.masked == key[:8] + "…"
    assert linked.permissions == ("account", "builds", "characters", "wvw")


async def test_the_last_linked_account_is_active_and_switch_changes_it(
    store: LinkedKeyStore,
) -> None:
    first, second = make_gw2_key(), make_gw2_key()
    await _link(store, 1, "Alice.1234", first)
    await _link(store, 1, "Alt.5678", second, NOW + timedelta(minutes=1))
    active = await store.active_key(1)
    assert active is not None
    assert active.key == second
    assert second not in repr(active)
    switched = await store.switch(1, "alice.1234")
    assert switched is not None
    assert switched.is_active
    assert [k.account_name for k in await store.list_for_user(1)] == ["Alice.1234", "Alt.5678"]
    assert await store.switch(1, "Nobody.0000") is None


async def test_removing_the_active_account_activates_another(store: LinkedKeyStore) -> None:
    await _link(store, 1, "Alice.1234", make_gw2_key())
    await _link(store, 1, "Alt.5678", make_gw2_key(), NOW + timedelta(minutes=1))
    assert await store.remove(1, "id-Alt.5678")
    active = await store.active(1)
    assert active is not None
    assert active.account_name == "Alice.1234"
    assert await store.remove_all(1) == 1
    assert await store.active(1) is None


async def test_relinking_an_account_replaces_its_key_and_clears_failures(
    store: LinkedKeyStore,
) -> None:
    linked = await _link(store, 1, "Alice.1234", make_gw2_key())
    await store.save_failure_state(
        linked.id, KeyFailureState(consecutive_invalid=3, invalid=True, notified=True)
    )
    assert not (await store.get(1, "id-Alice.1234")).valid  # type: ignore[union-attr]
    new_key = make_gw2_key()
    relinked = await _link(store, 1, "Alice.1234", new_key)
    assert relinked.valid
    assert relinked.failure == KeyFailureState()
    assert (await store.decrypt(relinked)) == new_key


async def test_rotation_re_encrypts_every_row_with_the_new_key(db: Database) -> None:
    old, new = generate_key(), generate_key()
    key = make_gw2_key()
    await _link(LinkedKeyStore(db, KeyVault([old])), 1, "Alice.1234", key)
    rotating = LinkedKeyStore(db, KeyVault([new, old]))
    assert await rotating.rotate_encryption() == (1, 0)
    assert await rotating.rotate_encryption() == (0, 1)
    active = await LinkedKeyStore(db, KeyVault([new])).active_key(1)  # old key dropped
    assert active is not None
    assert active.key == key
