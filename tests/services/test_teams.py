"""Resolving what players type into a team or legacy world id."""

from __future__ import annotations

import pytest

from services.teams import (
    is_team_id,
    normalise,
    region_of,
    resolve_team,
    search_teams,
    team_name,
    teams,
)

WORLDS = {1001: "Anvil Rock", 2202: "Riverside [DE]", 2101: "Jade Sea [FR]"}


def test_the_table_holds_every_team_from_the_restructuring() -> None:
    ids = [t.id for t in teams()]

    assert ids == [*range(11001, 11013), *range(12001, 12016)]
    assert team_name(11007) == "Throne of Balthazar"
    assert team_name(12015) == "Bava Nisos"
    assert {t.region for t in teams() if t.id < 12000} == {"na"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mosswood", 11012),
        ("mosswood", 11012),
        ("  MOSSWOOD ", 11012),
        ("Ralls Rest", 11002),
        ("Rall’s Rest", 11002),
        ("Fortunes Vale", 12002),
        ("Ettins Back", 12004),
        ("11005", 11005),
        ("12003", 12003),
    ],
)
def test_exact_names_and_ids(text: str, expected: int) -> None:
    resolution = resolve_team(text)

    assert resolution.status == "exact"
    assert resolution.team_id == expected


def test_accents_are_ignored() -> None:
    assert resolve_team("Dwáyna's Témple").team_id == 11008


@pytest.mark.parametrize(
    ("text", "expected"),
    [("moog", 11001), ("lutgard", 11011), ("aviary", 12014), ("skritt", 12001)],
)
def test_a_unique_partial_name_matches(text: str, expected: int) -> None:
    resolution = resolve_team(text)

    assert resolution.status == "match"
    assert resolution.team_id == expected
    assert resolution.candidate is not None
    assert resolution.candidate.id == expected


def test_ambiguous_input_returns_the_candidates() -> None:
    resolution = resolve_team("domain")

    assert resolution.status == "ambiguous"
    assert resolution.team_id is None
    assert {c.id for c in resolution.candidates} == {11003, 12005}


def test_nothing_found_suggests_close_names() -> None:
    resolution = resolve_team("Mosswod")

    assert resolution.status == "none"
    assert [s.id for s in resolution.suggestions][:1] == [11012]


def test_gibberish_resolves_to_nothing_without_suggestions() -> None:
    resolution = resolve_team("qqqqzzzz")

    assert resolution.status == "none"
    assert resolution.suggestions == ()


def test_unknown_numeric_id_resolves_to_nothing() -> None:
    assert resolve_team("99999").status == "none"


def test_legacy_world_names_and_ids_resolve() -> None:
    assert resolve_team("Riverside", WORLDS).team_id == 2202
    assert resolve_team("anvil rock", WORLDS).status == "exact"
    assert resolve_team("2101", WORLDS).team_id == 2101
    assert resolve_team("1001").team_id == 1001  # a legacy id is accepted even without names


def test_teams_come_before_worlds_in_candidates() -> None:
    resolution = resolve_team("r", WORLDS)

    kinds = [c.kind for c in resolution.candidates]
    assert kinds.index("world") > kinds.index("team")


def test_search_for_autocomplete_is_limited_and_ordered() -> None:
    assert len(search_teams("")) == 25
    assert [c.name for c in search_teams("d", limit=3)] == [
        "Domain of Anguish",
        "Domain of Torment",
        "Dragrimmar",
    ]
    assert [c.id for c in search_teams("1100")][:3] == [11001, 11002, 11003]
    assert search_teams("riv", worlds=WORLDS)[0].id == 2202


def test_regions_and_id_kinds() -> None:
    assert region_of(11004) == "na"
    assert region_of(12010) == "eu"
    assert region_of(1015) == "na"
    assert region_of(2301) == "eu"
    assert region_of(42) is None
    assert is_team_id(11001)
    assert not is_team_id(2202)


def test_normalise() -> None:
    assert normalise("  Grenth’s   DOOR! ") == "grenths door"
