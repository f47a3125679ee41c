"""The user's last seen language: kept on their keys (linked_keys.locale), written on change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.storage import Database
from bot.storage.keys import LinkedKeyStore
from bot.user_locales import REMEMBERED_S, UserLocales
from services.clock import ManualClock
from services.keys import KeyVault, generate_key
from tests.bot.test_redaction import make_gw2_key

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(db: Database) -> LinkedKeyStore:
    return LinkedKeyStore(db, KeyVault([generate_key()]))


async def link(store: LinkedKeyStore, user: int, account: str, locale: str | None = None) -> None:
    await store.link(
        user_id=user,
        key=make_gw2_key(),
        account_id=f"id-{account}",
        account_name=account,
        key_name="bot",
        key_type="APIKey",
        permissions=["account"],
        ownership_verified=False,
        now=NOW,
        locale=locale,
    )


async def test_the_language_of_a_link_is_kept_for_every_key_of_the_user(
    store: LinkedKeyStore,
) -> None:
    await link(store, 1, "Alice.1234")
    assert await store.locale_of(1) is None
    await link(store, 1, "Alt.5678", locale="fr")
    assert [k.locale for k in await store.list_for_user(1)] == ["fr", "fr"]
    await link(store, 1, "Alt.5678")  # relinked without a language: the known one stays
    assert await store.locale_of(1) == "fr"


async def test_a_user_without_keys_is_not_stored(store: LinkedKeyStore) -> None:
    assert not await store.remember_locale(2, "de")
    assert await store.locale_of(2) is None


async def test_remembering_writes_only_when_the_language_changed(store: LinkedKeyStore) -> None:
    await link(store, 1, "Alice.1234", locale="en")
    assert await store.remember_locale(1, "de")
    assert not await store.remember_locale(1, "de")
    assert await store.locale_of(1) == "de"


class CountingStore:
    def __init__(self, *, broken: bool = False) -> None:
        self.writes: list[tuple[int, str]] = []
        self.stored: dict[int, str] = {}
        self.broken = broken

    async def remember_locale(self, user_id: int, locale: str) -> bool:
        if self.broken:
            raise ConnectionError("database lost")
        self.writes.append((user_id, locale))
        self.stored[user_id] = locale
        return True

    async def locale_of(self, user_id: int) -> str | None:
        if self.broken:
            raise ConnectionError("database lost")
        return self.stored.get(user_id)


async def test_a_process_writes_a_users_language_once_until_it_changes_or_ages() -> None:
    clock = ManualClock()
    store = CountingStore()
    locales = UserLocales(store, clock)
    for _ in range(3):
        await locales.remember(7, "fr")
    await locales.remember(7, "de")
    await locales.remember(7, "de")
    clock.advance(REMEMBERED_S + 1)
    await locales.remember(7, "de")  # another process may have written since: write again
    assert store.writes == [(7, "fr"), (7, "de"), (7, "de")]
    assert await locales.of(7) == "de"


async def test_unknown_and_unsupported_languages_are_english() -> None:
    locales = UserLocales(CountingStore(), ManualClock())
    assert await locales.of(8) == "en"
    await locales.remember(8, "ja")
    assert await locales.of(8) == "en"
    await locales.remember(8, "es-419")
    assert await locales.of(8) == "es"


async def test_a_database_fault_never_fails_the_command() -> None:
    locales = UserLocales(CountingStore(broken=True), ManualClock())
    await locales.remember(9, "fr")  # logged, not raised
    assert await locales.of(9) == "en"
