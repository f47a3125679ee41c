"""Profession and specialization names per language (services.gw2.game_names) against the fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from services.gw2 import GW2Client
from services.gw2.game_names import GameNames, game_names, professions
from tests.fakes.gw2_api import FakeGW2API, InstantClock


@pytest.fixture
async def fake() -> AsyncIterator[FakeGW2API]:
    async with FakeGW2API(clock=InstantClock()) as api:
        yield api


@pytest.fixture
async def gw2(fake: FakeGW2API) -> AsyncIterator[GW2Client]:
    async with aiohttp.ClientSession() as session:
        yield GW2Client(session, base_url=fake.base_url, clock=InstantClock())


async def test_names_come_in_the_asked_language_and_are_cached_per_language(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    french = await game_names(gw2, "fr")
    german = await game_names(gw2, "de")
    again = await game_names(gw2, "fr")

    assert french.profession("Guardian") == "Gardien"
    assert german.profession("Guardian") == "Wächter"
    assert french.specialization(62) == "Incendiaire"
    assert german.specialization(62) == "Feuerbrand"
    assert french.is_elite(62) is True
    assert french.is_elite(42) is False
    assert again == french
    assert fake.count("/v2/professions") == 2  # fr, de; the second fr call is cached
    assert fake.count("/v2/specializations") == 2
    langs = [r.query.get("lang") for r in fake.request_log if r.route == "/v2/professions"]
    assert langs == ["fr", "de"]


async def test_a_discord_locale_is_the_apis_language_and_english_asks_no_professions(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    spanish = await game_names(gw2, "es-ES")
    english = await game_names(gw2, "en-GB")

    assert spanish.lang == "es"
    assert spanish.profession("Thief") == "Ladrón"
    assert english.lang == "en"
    assert english.profession("Thief") == "Thief"
    assert english.specialization(62) == "Firebrand"
    assert fake.count("/v2/professions") == 1  # English names are the professions' ids


async def test_an_outage_leaves_the_names_empty_and_the_fallback_answers(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    fake.fail("/v2/professions", 503, "API not active", times=None)
    fake.fail("/v2/specializations", 503, "API not active", times=None)

    names = await game_names(gw2, "fr")

    assert names == GameNames(lang="fr")
    assert names.profession("Guardian") == "Guardian"
    assert names.specialization(62, "Firebrand") == "Firebrand"
    assert names.is_elite(62) is None


async def test_a_stale_copy_is_served_when_the_api_fails_later(
    gw2: GW2Client, fake: FakeGW2API
) -> None:
    first = await professions(gw2, lang="de")
    fake.fail("/v2/professions", 503, "API not active", times=None)

    later = await professions(gw2, lang="de", refresh=True)

    assert later.stale
    assert later.value == first.value
