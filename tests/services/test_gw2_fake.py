"""The fake GW2 API's world is internally consistent and scriptable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from services.clock import ManualClock
from services.gw2 import GW2Client
from services.gw2.models import MATCH
from services.match_analysis import analyse_match
from tests.fakes.gw2_api import (
    BULK_CHARACTERS_ROUTE,
    TEAMS_EU,
    TEAMS_NA,
    FakeCharacter,
    FakeGW2API,
    FakeWorld,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def world(**kwargs: object) -> FakeWorld:
    return FakeWorld(ManualClock(NOW), **kwargs)  # type: ignore[arg-type]


def test_every_team_plays_exactly_once() -> None:
    fake = world()

    ids = sorted(t for m in fake.matches.values() for t in m.worlds.values())

    assert ids == sorted([*TEAMS_NA, *TEAMS_EU])
    assert sorted(fake.matches) == ["1-1", "1-2", "1-3", "1-4", "2-1", "2-2", "2-3", "2-4", "2-5"]


def test_totals_are_sums_of_their_parts() -> None:
    match = world().match("2-3")
    body = match.to_json()

    for colour in ("red", "blue", "green"):
        assert body["scores"][colour] == sum(s["scores"][colour] for s in body["skirmishes"])
        assert body["kills"][colour] == sum(m["kills"][colour] for m in body["maps"])
    finished = len(body["skirmishes"]) - 1
    assert sum(body["victory_points"].values()) == finished * (5 + 4 + 3)
    # EU week began Friday 18:00: Wednesday 12:00 is 4 days 18 hours later = skirmish 58.
    assert len(body["skirmishes"]) == 58
    assert [m["type"] for m in body["maps"]] == ["Center", "RedHome", "BlueHome", "GreenHome"]


def test_flipping_an_objective_moves_ppt() -> None:
    match = world().match("1-1")
    before = match.ppt()
    castle = match.objective("38-9")
    old_owner = castle.owner.lower()
    new_owner = "blue" if old_owner != "blue" else "red"
    points = castle.points_tick

    match.flip("38-9", new_owner)

    assert match.ppt()[new_owner] == before[new_owner] + 12  # tier reset to 0: castle 12
    if old_owner in before:
        assert match.ppt()[old_owner] == before[old_owner] - points


def test_tick_and_skirmish_rollover_award_victory_points() -> None:
    match = world().match("1-2")
    ppt = match.ppt()
    scores = match.scores
    vp = dict(match.victory_points)

    match.tick()
    assert match.scores == {c: scores[c] + ppt[c] for c in scores}
    match.set_scores("Center", red=10**6)
    match.next_skirmish()

    assert match.victory_points["red"] == vp["red"] + 5
    assert sum(match.victory_points.values()) == sum(vp.values()) + 12


def test_roll_week_starts_a_new_match_a_week_later() -> None:
    fake = world()
    old = fake.match("1-1")

    fake.roll_week()
    new = fake.match("1-1")

    assert new.start_time == old.start_time + timedelta(days=7)
    assert new.end_time - new.start_time == timedelta(days=7, minutes=-2)
    assert len(new.skirmishes) == 1
    assert new.scores == {"red": 0, "blue": 0, "green": 0}


def test_legacy_worlds_mode_links_two_worlds_per_colour() -> None:
    match = world(legacy_worlds=True).match("2-1")

    assert all(len(v) == 2 for v in match.all_worlds.values())
    assert all(2000 < w < 3000 for w in match.team_ids())


async def test_the_served_match_analyses_cleanly() -> None:
    clock = ManualClock(NOW)
    from tests.fakes.gw2_api import FakeGW2API

    async with FakeGW2API(clock=clock) as fake, aiohttp.ClientSession() as session:
        client = GW2Client(session, base_url=fake.base_url, clock=clock)
        match = (await client.match_for_team(12002)).value
        expected = fake.world.match_for(12002)
        assert expected is not None

        summary = analyse_match(match, now=clock.now())

        assert summary.colours[summary.colour_of(12002) or ""].team_names == ("Fortune's Vale",)
        assert {c: s.ppt for c, s in summary.colours.items()} == expected.ppt()
        assert summary.skirmish.number == len(match.skirmishes)
        assert MATCH.validate_python(expected.to_json()) == match


# --------------------------------------------------------------------------------- characters
BULK_KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"


async def _get(fake: FakeGW2API, path: str, **query: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{fake.base_url}{path}",
            params=query,
            headers={"Authorization": f"Bearer {BULK_KEY}"},
        ) as response,
    ):
        return response.status, await response.json()


async def test_bulk_characters_match_core_and_buildtabs_and_are_counted_apart() -> None:
    async with FakeGW2API(clock=ManualClock(NOW)) as fake:
        chars = [
            FakeCharacter("Zoë Fire", "Guardian", [62, None]),
            FakeCharacter("Rot", "Necromancer"),
        ]
        fake.add_key(BULK_KEY, characters=chars)

        status, body = await _get(fake, "/v2/characters", ids="all")
        names_status, names = await _get(fake, "/v2/characters")

        assert (status, names_status) == (200, 200)
        assert [c["name"] for c in body] == names == ["Zoë Fire", "Rot"]
        for row, character in zip(body, chars, strict=True):
            assert {k: row[k] for k in character.core_json()} == character.core_json()
            assert row["build_tabs"] == character.buildtabs_json()
        assert fake.count(BULK_CHARACTERS_ROUTE) == 1
        assert fake.count("/v2/characters") == 1
        assert fake.request_log[0].route == BULK_CHARACTERS_ROUTE
        assert fake.request_log[0].query["ids"] == "all"


async def test_bulk_characters_follow_the_key_scopes() -> None:
    async with FakeGW2API(clock=ManualClock(NOW)) as fake:
        fake.add_key(
            BULK_KEY,
            permissions=["account", "characters"],
            characters=[FakeCharacter("Cid", "Warrior", [61])],
        )
        status, body = await _get(fake, "/v2/characters", ids="all")
        assert status == 200
        assert body[0]["profession"] == "Warrior"
        assert "build_tabs" not in body[0]

        fake.add_key(BULK_KEY, permissions=["account", "builds"], characters=[])
        status, body = await _get(fake, "/v2/characters", ids="all")
        assert (status, body) == (403, {"text": "requires scope characters"})


async def test_faults_on_the_characters_route_reach_the_bulk_form() -> None:
    async with FakeGW2API(clock=ManualClock(NOW)) as fake:
        fake.add_key(BULK_KEY, characters=[FakeCharacter("Cid", "Warrior")])
        fake.fail(BULK_CHARACTERS_ROUTE, 502, times=1)
        assert (await _get(fake, "/v2/characters"))[0] == 200  # names list untouched
        assert (await _get(fake, "/v2/characters", ids="all"))[0] == 502
        fake.fail("/v2/characters", 500, times=1)  # both forms
        assert (await _get(fake, "/v2/characters", ids="all"))[0] == 500
        assert (await _get(fake, "/v2/characters", ids="all"))[0] == 200
