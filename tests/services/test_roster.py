"""Rosters for /compose: the typed-list parser and the voice roster from linked characters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from services.composer import default_catalogue
from services.gw2 import GW2Client
from services.roster import (
    LinkedAccount,
    RosterError,
    VoiceMember,
    gather_voice_roster,
    parse_roster,
    specs_from_build,
)
from tests.fakes.gw2_api import (
    BULK_CHARACTERS_ROUTE,
    FakeCharacter,
    FakeGW2API,
    Fault,
    InstantClock,
)

KEY_ANN = "AAAAAAAA-0000-0000-0000-000000000000AAAAAAAA-0000-0000-0000-000000000001"
KEY_BOB = "BBBBBBBB-0000-0000-0000-000000000000BBBBBBBB-0000-0000-0000-000000000002"
KEY_NO_BUILDS = "CCCCCCCC-0000-0000-0000-000000000000CCCCCCCC-0000-0000-0000-000000000003"
KEY_UNKNOWN = "DDDDDDDD-0000-0000-0000-000000000000DDDDDDDD-0000-0000-0000-000000000004"


# --------------------------------------------------------------------------------- typed rosters


def test_parse_reads_players_specs_and_flexible_slots() -> None:
    roster = parse_roster("Alice: firebrand, Scrapper; Bob: herald\nCarol; Dave: any")
    assert [(p.name, p.specs) for p in roster.players] == [
        ("Alice", ("firebrand", "scrapper")),
        ("Bob", ("herald",)),
    ]
    assert roster.flexible == ("Carol", "Dave")
    assert roster.headcount == 4


def test_parse_accepts_specialization_ids_and_profession_names() -> None:
    roster = parse_roster("Zoë: 62 / guardian; Max: Necromancer, scourge, Scourge")
    assert roster.players[0].specs == ("firebrand", "guardian")
    assert roster.players[1].specs == ("necromancer", "scourge")


def test_parse_suggests_the_closest_spec_for_a_typo() -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster("Alice: firebrnd; Bob: herald")
    message = str(caught.value)
    assert "firebrnd" in message
    assert "Alice" in message
    assert "Did you mean Firebrand?" in message


def test_parse_explains_an_unknown_spec_without_a_close_match() -> None:
    with pytest.raises(RosterError, match="such as firebrand"):
        parse_roster("Alice: qqqqqq")


def test_parse_rejects_duplicates_empty_input_and_a_spec_given_as_a_name() -> None:
    with pytest.raises(RosterError, match="twice"):
        parse_roster("Alice: herald; alice: scourge")
    with pytest.raises(RosterError, match="empty"):
        parse_roster(" ; \n ")
    with pytest.raises(RosterError, match="name first"):
        parse_roster("firebrand; scrapper")
    with pytest.raises(RosterError, match="no player name"):
        parse_roster(": herald")


# --------------------------------------------------------------------------------- builds


def test_specs_from_build_keeps_core_and_own_elites_only() -> None:
    catalogue = default_catalogue()
    # Zeal (42) and Radiance (16) are core lines; 62 Firebrand; 43 Scrapper is an engineer spec.
    assert specs_from_build("Guardian", [42, 16, 62], catalogue) == ["guardian", "firebrand"]
    assert specs_from_build("Guardian", [42, 16, 43], catalogue) == ["guardian"]
    assert specs_from_build("", [62], catalogue) == []
    assert specs_from_build("Jade Bot", [62], catalogue) == []


# --------------------------------------------------------------------------------- voice rosters


@pytest.fixture
async def gw2_fake() -> AsyncIterator[FakeGW2API]:
    async with FakeGW2API(clock=InstantClock()) as fake:
        fake.add_key(
            KEY_ANN,
            account_name="Ann.1234",
            characters=[
                FakeCharacter("Ann Fire", "Guardian", [62, 27]),
                FakeCharacter("Ann Wrench", "Engineer", [43]),
            ],
        )
        fake.add_key(
            KEY_BOB,
            account_name="Bob.5678",
            characters=[FakeCharacter("Bob Plague", "Necromancer", [60, None])],
        )
        fake.add_key(
            KEY_NO_BUILDS,
            permissions=["account", "characters"],
            account_name="Cid.9999",
            characters=[FakeCharacter("Cid", "Warrior", [61])],
        )
        yield fake


@pytest.fixture
async def gw2(gw2_fake: FakeGW2API) -> AsyncIterator[GW2Client]:
    async with aiohttp.ClientSession() as session:
        yield GW2Client(session, base_url=gw2_fake.base_url, clock=InstantClock())


ACCOUNTS = {
    1: LinkedAccount("Ann.1234", KEY_ANN),
    2: LinkedAccount("Bob.5678", KEY_BOB),
    4: LinkedAccount("Cid.9999", KEY_NO_BUILDS),
    5: LinkedAccount("Dee.0000", KEY_UNKNOWN),
}


async def lookup(user_id: int) -> LinkedAccount | None:
    return ACCOUNTS.get(user_id)


async def test_voice_roster_reads_specs_from_characters(gw2: GW2Client) -> None:
    members = [VoiceMember(1, "Ann"), VoiceMember(2, "Bob"), VoiceMember(3, "Carol")]
    roster = await gather_voice_roster(members, gw2=gw2, key_lookup=lookup)
    assert {p.name: p.specs for p in roster.players} == {
        "Ann": ("dragonhunter", "engineer", "firebrand", "guardian", "scrapper"),
        "Bob": ("necromancer", "scourge"),
    }
    assert roster.flexible == ("Carol",)
    assert [str(note) for note in roster.notes] == ["No linked GW2 account (flexible slot): Carol."]
    assert roster.notes[0].render("fr") == "Aucun compte GW2 lié (place libre) : Carol."


async def test_failing_keys_become_flexible_slots_with_a_note(gw2: GW2Client) -> None:
    members = [VoiceMember(4, "Cid"), VoiceMember(5, "Dee"), VoiceMember(1, "Ann")]
    roster = await gather_voice_roster(members, gw2=gw2, key_lookup=lookup)
    assert [p.name for p in roster.players] == ["Ann"]
    assert roster.flexible == ("Cid", "Dee")
    notes = " ".join(str(note) for note in roster.notes)
    assert "Cid: their API key lacks the characters or builds permission" in notes
    assert "Dee: the GW2 API rejected their key" in notes
    assert KEY_UNKNOWN not in notes


async def test_duplicate_display_names_are_told_apart(gw2: GW2Client) -> None:
    members = [VoiceMember(1, "Sam"), VoiceMember(2, "Sam")]
    roster = await gather_voice_roster(members, gw2=gw2, key_lookup=lookup)
    assert [p.name for p in roster.players] == ["Sam", "Sam (2)"]


async def test_a_slow_api_makes_flexible_slots_within_the_budget(
    gw2: GW2Client, gw2_fake: FakeGW2API
) -> None:
    gw2_fake.script("/v2/characters", Fault.slow(1.0, times=None))
    loop = asyncio.get_running_loop()
    started = loop.time()
    roster = await gather_voice_roster(
        [VoiceMember(1, "Ann")], gw2=gw2, key_lookup=lookup, budget_s=0.3
    )
    assert loop.time() - started < 1.5
    assert roster.flexible == ("Ann",)
    assert "too slow" in str(roster.notes[0])
    assert roster.notes[0].render("de") == "Ann: die GW2-API war zu langsam, freier Platz."


async def test_requests_are_bounded_by_the_concurrency_limit(
    gw2: GW2Client, gw2_fake: FakeGW2API
) -> None:
    in_flight = 0
    peak = 0
    calls = 0
    original = gw2.characters_all

    async def counting(key: str, **kwargs: object) -> object:
        nonlocal in_flight, peak, calls
        calls += 1
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.01)
            return await original(key, **kwargs)  # type: ignore[arg-type]
        finally:
            in_flight -= 1

    gw2.characters_all = counting  # type: ignore[method-assign,assignment]
    members = [VoiceMember(1, f"Ann {i}") for i in range(6)]
    roster = await gather_voice_roster(members, gw2=gw2, key_lookup=lookup, concurrency=2)
    assert len(roster.players) == 6
    assert calls == 6
    assert peak <= 2


async def test_a_voice_roster_costs_one_character_request_per_linked_member(
    gw2: GW2Client, gw2_fake: FakeGW2API
) -> None:
    members = 12
    accounts: dict[int, LinkedAccount] = {}
    for user_id in range(100, 100 + members):
        key = f"{user_id:08X}-0000-0000-0000-000000000000{user_id:08X}-0000-0000-0000-000000000005"
        gw2_fake.add_key(
            key,
            account_name=f"P{user_id}.1234",
            characters=[
                FakeCharacter(f"Char {user_id} {i}", "Guardian", [62, 27]) for i in range(9)
            ]
            + [FakeCharacter(f"Char {user_id} eng", "Engineer", [43, None])],
        )
        accounts[user_id] = LinkedAccount(f"P{user_id}.1234", key)

    async def member_lookup(user_id: int) -> LinkedAccount | None:
        return accounts.get(user_id)

    gw2_fake.reset_counters()
    roster = await gather_voice_roster(
        [VoiceMember(u, f"P{u}") for u in [*accounts, 999]], gw2=gw2, key_lookup=member_lookup
    )

    assert len(roster.players) == members
    assert all(
        p.specs == ("dragonhunter", "engineer", "firebrand", "guardian", "scrapper")
        for p in roster.players
    )
    assert roster.flexible == ("P999",)
    assert gw2_fake.count(BULK_CHARACTERS_ROUTE) == members
    assert sum(gw2_fake.requests.values()) == members  # no names, core or build tab requests


async def test_without_builds_characters_of_other_members_still_count(
    gw2: GW2Client, gw2_fake: FakeGW2API
) -> None:
    gw2_fake.reset_counters()
    roster = await gather_voice_roster(
        [VoiceMember(4, "Cid"), VoiceMember(2, "Bob")], gw2=gw2, key_lookup=lookup
    )

    assert [(p.name, p.specs) for p in roster.players] == [("Bob", ("necromancer", "scourge"))]
    assert [str(note) for note in roster.notes] == [
        "Cid: their API key lacks the characters or builds permission, flexible slot."
    ]
    assert gw2_fake.count(BULK_CHARACTERS_ROUTE) == 2


def test_roster_errors_are_shown_in_the_readers_language() -> None:
    with pytest.raises(RosterError) as twice:
        parse_roster("Ann: herald; Ann: scrapper")
    with pytest.raises(RosterError) as typo:
        parse_roster("Ann: firebrnd")
    assert str(twice.value) == "Ann is in the roster twice. List each player once."
    assert twice.value.localised("de") == (
        "Ann steht zweimal in der Aufstellung. Nenne jeden Spieler nur einmal."
    )
    assert typo.value.localised("es") == (
        "Especialización desconocida «firebrnd» para Ann. ¿Querías decir Firebrand?"
    )


def test_a_typed_roster_understands_spec_names_in_the_players_language() -> None:
    names = {"firebrand": "Incendiaire", "scrapper": "Mécatronicien", "guardian": "Gardien"}
    roster = parse_roster(
        "Ann: Incendiaire; Bob: mécatronicien, firebrand; Cid: gardien", names=names
    )
    assert [(p.name, p.specs) for p in roster.players] == [
        ("Ann", ("firebrand",)),
        ("Bob", ("scrapper", "firebrand")),
        ("Cid", ("guardian",)),
    ]
    with pytest.raises(RosterError) as typo:
        parse_roster("Ann: Incendiair", names=names)
    assert typo.value.params["suggestion"] == "Incendiaire"
    with pytest.raises(RosterError):  # without the names, a French name is unknown
        parse_roster("Ann: Incendiaire")
