"""``fetch_characters`` (/characters): one bulk character request per account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from services.accounts import fetch_characters
from services.gw2 import GW2Client
from tests.fakes.gw2_api import BULK_CHARACTERS_ROUTE, FakeCharacter, FakeGW2API, InstantClock

KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"
TEN = [
    FakeCharacter("Zojja Prime", "Guardian", [None, 62], active_tab=2),
    FakeCharacter("Rytlock Spin", "Revenant", [52]),
    FakeCharacter("Core Ranger", "Ranger", [None], level=42),
    *(FakeCharacter(f"Alt Number {i:02d}", "Necromancer", [60]) for i in range(7)),
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGW2API]:
    async with FakeGW2API(clock=InstantClock()) as api:
        yield api


@pytest.fixture
async def gw2(fake: FakeGW2API) -> AsyncIterator[GW2Client]:
    async with aiohttp.ClientSession() as session:
        yield GW2Client(session, base_url=fake.base_url, clock=InstantClock())


async def test_ten_characters_cost_one_character_request(gw2: GW2Client, fake: FakeGW2API) -> None:
    permissions = ["account", "wvw", "characters", "builds"]
    fake.add_key(KEY, permissions=permissions, characters=TEN)

    roster = await fetch_characters(gw2, KEY, permissions)

    assert roster.total == 10
    assert not roster.builds_hidden
    assert not roster.stale
    summary = {c.name: (c.profession, c.level, c.elite_spec) for c in roster.characters}
    assert summary["Zojja Prime"] == ("Guardian", 80, "Firebrand")
    assert summary["Rytlock Spin"] == ("Revenant", 80, "Herald")
    assert summary["Core Ranger"] == ("Ranger", 42, None)
    assert summary["Alt Number 06"] == ("Necromancer", 80, "Scourge")
    assert all(c.age_seconds == 123_456 and c.created is not None for c in roster.characters)
    assert fake.count(BULK_CHARACTERS_ROUTE) == 1
    assert fake.count("/v2/specializations") == 1  # static data, cached for a day
    assert sum(fake.requests.values()) == 2


async def test_without_builds_elites_are_hidden_and_nothing_else_is_asked(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    permissions = ["account", "wvw", "characters"]
    fake.add_key(KEY, permissions=permissions, characters=TEN)

    roster = await fetch_characters(gw2, KEY, permissions, limit=3)

    assert roster.builds_hidden
    assert roster.total == 10
    assert [(c.name, c.elite_spec) for c in roster.characters] == [
        ("Zojja Prime", None),
        ("Rytlock Spin", None),
        ("Core Ranger", None),
    ]
    assert dict(fake.requests) == {BULK_CHARACTERS_ROUTE: 1}


async def test_builds_the_stored_permissions_lack_are_not_shown(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    # The key gained ``builds`` upstream, but the bot only trusts the permissions it recorded.
    fake.add_key(KEY, characters=TEN[:1])

    roster = await fetch_characters(gw2, KEY, ["account", "characters"])

    assert roster.builds_hidden
    assert roster.characters[0].elite_spec is None
    assert fake.count("/v2/specializations") == 0


async def test_names_are_in_the_asked_language_with_one_request_per_static_endpoint(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    permissions = ["account", "wvw", "characters", "builds"]
    fake.add_key(KEY, permissions=permissions, characters=TEN)

    roster = await fetch_characters(gw2, KEY, permissions, lang="de")
    await fetch_characters(gw2, KEY, permissions, lang="de")

    shown = {c.name: (c.shown_profession, c.elite_spec) for c in roster.characters}
    assert shown["Zojja Prime"] == ("Wächter", "Feuerbrand")
    assert shown["Rytlock Spin"] == ("Widergänger", "Herold")
    assert shown["Core Ranger"] == ("Waldläufer", None)
    assert roster.characters[0].profession == "Guardian"  # the id stays English (icons)
    assert fake.count("/v2/professions") == 1
    assert fake.count("/v2/specializations") == 1


async def test_without_the_names_endpoints_names_are_english_and_elites_still_shown(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    permissions = ["account", "wvw", "characters", "builds"]
    fake.add_key(KEY, permissions=permissions, characters=TEN)
    fake.fail("/v2/professions", 503, "API not active", times=None)
    fake.fail("/v2/specializations", 503, "API not active", times=None)

    roster = await fetch_characters(gw2, KEY, permissions, lang="fr")

    shown = {c.name: (c.shown_profession, c.elite_spec) for c in roster.characters}
    assert shown["Zojja Prime"] == ("Guardian", "Firebrand")
    assert shown["Core Ranger"] == ("Ranger", None)
    assert shown["Alt Number 00"] == ("Necromancer", "Scourge")
