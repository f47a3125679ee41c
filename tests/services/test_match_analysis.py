"""Match analysis on a hand-written match in the API's full shape; every number checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.gw2.models import MATCH, Match
from services.match_analysis import (
    FreezeTracker,
    analyse_match,
    kdr,
    objectives_held,
    points_per_tick,
    skirmish_clock,
)


def objective(oid: str, kind: str, owner: str, tick: int, **extra: Any) -> dict[str, Any]:
    body = {
        "id": oid,
        "type": kind,
        "owner": owner,
        "last_flipped": "2026-11-25T10:00:00Z",
        "points_tick": tick,
        "points_capture": tick,
    }
    if kind in ("Camp", "Tower", "Keep", "Castle"):
        body |= {"claimed_by": None, "claimed_at": None, "yaks_delivered": 3, "guild_upgrades": []}
    return body | extra


def team_scores(red: int, blue: int, green: int) -> dict[str, int]:
    return {"red": red, "blue": blue, "green": green}


MATCH_BODY: dict[str, Any] = {
    "id": "2-4",
    "start_time": "2026-11-20T18:00:00Z",
    "end_time": "2026-11-27T17:58:00Z",
    "scores": team_scores(1000, 800, 600),
    "worlds": team_scores(12002, 12007, 12011),
    "all_worlds": {"red": [12002], "blue": [12007, 2202], "green": [12011]},
    "deaths": team_scores(50, 40, 0),
    "kills": team_scores(60, 20, 10),
    "victory_points": team_scores(190, 170, 150),
    "skirmishes": [
        {
            "id": 1,
            "scores": team_scores(300, 200, 100),
            "map_scores": [{"type": "Center", "scores": team_scores(300, 200, 100)}],
        },
        {
            "id": 2,
            "scores": team_scores(40, 50, 60),
            "map_scores": [
                {"type": "Center", "scores": team_scores(10, 20, 30)},
                {"type": "RedHome", "scores": team_scores(30, 30, 30)},
            ],
        },
    ],
    "maps": [
        {
            "id": 38,
            "type": "Center",
            "scores": team_scores(400, 300, 200),
            "bonuses": [],
            "deaths": team_scores(20, 20, 0),
            "kills": team_scores(30, 10, 0),
            "objectives": [
                objective("38-9", "Castle", "Red", 30, claimed_by="GUILD-A"),
                objective("38-1", "Keep", "Blue", 20),
                objective("38-4", "Camp", "Green", 3),
                objective("38-11", "Tower", "Red", 6),
                objective("38-12", "Tower", "Neutral", 4),
                objective("38-124", "Spawn", "Red", 0),
                objective("38-123", "Mercenary", "Neutral", 0),
            ],
        },
        {
            "id": 1099,
            "type": "RedHome",
            "scores": team_scores(300, 200, 100),
            "bonuses": [{"type": "Bloodlust", "owner": "Red"}],
            "deaths": team_scores(10, 10, 0),
            "kills": team_scores(10, 5, 5),
            "objectives": [
                objective("1099-114", "Keep", "Red", 8),
                objective("1099-99", "Camp", "Blue", 2),
                objective("1099-118", "Ruins", "Red", 0),
            ],
        },
        {
            "id": 96,
            "type": "BlueHome",
            "scores": team_scores(200, 200, 100),
            "bonuses": [],
            "deaths": team_scores(10, 5, 0),
            "kills": team_scores(10, 5, 0),
            "objectives": [objective("96-37", "Keep", "Blue", 12)],
        },
        {
            "id": 95,
            "type": "GreenHome",
            "scores": team_scores(100, 100, 200),
            "bonuses": [{"type": "Bloodlust", "owner": "Green"}],
            "deaths": team_scores(10, 5, 0),
            "kills": team_scores(10, 0, 5),
            "objectives": [
                objective("95-32", "Keep", "Green", 16),
                objective("95-35", "Tower", "Green", 4, some_new_field="ignored"),
                objective("95-40", "Tower", "Red", 10),
            ],
        },
    ],
}

# 2026-11-20 18:00 start + 2h 30m: skirmish 2 of 84, 1h 30m left.
NOW = datetime(2026, 11, 20, 20, 30, tzinfo=UTC)


@pytest.fixture
def match() -> Match:
    return MATCH.validate_python(MATCH_BODY)


def test_per_colour_totals(match: Match) -> None:
    summary = analyse_match(match, now=NOW)

    red, blue, green = (summary.colours[c] for c in ("red", "blue", "green"))
    # Red: castle 30 + tower 6 (EBG) + keep 8 (red BL) + tower 10 (green BL) = 54.
    assert (red.ppt, blue.ppt, green.ppt) == (54, 34, 23)  # blue 20+2+12, green 3+16+4
    assert (red.score, red.victory_points, red.kills, red.deaths) == (1000, 190, 60, 50)
    assert red.kdr == pytest.approx(1.2)
    assert blue.kdr == pytest.approx(0.5)
    assert green.kdr is None  # no deaths
    assert dict(red.objectives) == {"Camp": 0, "Tower": 2, "Keep": 1, "Castle": 1, "Ruins": 1}
    assert dict(blue.objectives) == {"Camp": 1, "Tower": 0, "Keep": 2, "Castle": 0}
    assert dict(green.objectives) == {"Camp": 1, "Tower": 1, "Keep": 1, "Castle": 0}
    assert red.skirmish_score == 40  # skirmish 2's totals
    assert summary.ranking() == ["red", "blue", "green"]


def test_team_names_come_from_team_ids_and_legacy_worlds(match: Match) -> None:
    summary = analyse_match(match, now=NOW, worlds={2202: "Riverside [DE]"})

    assert summary.colours["red"].team_names == ("Fortune's Vale",)
    assert summary.colours["blue"].team_ids == (12007, 2202)
    assert summary.colours["blue"].display_name == "Bloodstone Gulch / Riverside [DE]"
    assert summary.colour_of(12011) == "green"
    assert summary.region == "eu"


def test_unknown_ids_still_get_a_name(match: Match) -> None:
    summary = analyse_match(match, now=NOW)

    assert summary.colours["blue"].team_names[1] == "World 2202 (EU)"


def test_per_map_numbers(match: Match) -> None:
    summary = analyse_match(match, now=NOW)
    maps = {m.type: m for m in summary.maps}

    center = maps["Center"].colours
    assert (center["red"].ppt, center["blue"].ppt, center["green"].ppt) == (36, 20, 3)
    assert center["red"].kdr == pytest.approx(1.5)
    assert center["red"].skirmish_score == 10
    assert maps["RedHome"].colours["blue"].skirmish_score == 30
    assert maps["BlueHome"].colours["red"].skirmish_score is None  # not reported yet
    assert maps["GreenHome"].colours["red"].ppt == 10
    assert maps["GreenHome"].bonuses == (("Bloodlust", "Green"),)
    assert dict(maps["RedHome"].colours["red"].objectives)["Keep"] == 1


def test_skirmish_clock_and_reset(match: Match) -> None:
    summary = analyse_match(match, now=NOW)

    assert summary.skirmish.number == 2
    assert summary.skirmish.total == 84
    assert summary.skirmish.started_at == datetime(2026, 11, 20, 20, 0, tzinfo=UTC)
    assert summary.skirmish.time_left == timedelta(hours=1, minutes=30)
    assert summary.time_to_reset == timedelta(days=6, hours=21, minutes=28)


def test_last_skirmish_ends_at_the_match_end(match: Match) -> None:
    clock = skirmish_clock(match, datetime(2026, 11, 27, 17, 0, tzinfo=UTC))

    assert clock.number == 84
    assert clock.ends_at == match.end_time
    assert clock.time_left == timedelta(minutes=58)


def test_after_the_end_nothing_is_left(match: Match) -> None:
    summary = analyse_match(match, now=datetime(2026, 11, 28, tzinfo=UTC))

    assert summary.time_to_reset == timedelta(0)
    assert summary.skirmish.time_left == timedelta(0)


def test_frozen_flag_follows_last_change(match: Match) -> None:
    tracker = FreezeTracker()
    changed = tracker.observe(match, NOW)
    later = NOW + timedelta(minutes=31)
    assert tracker.observe(match, later) == NOW

    assert analyse_match(match, now=later, last_changed_at=changed).frozen
    assert not analyse_match(
        match, now=later, last_changed_at=changed, frozen_after=timedelta(hours=1)
    ).frozen


def test_any_change_resets_the_freeze_tracker(match: Match) -> None:
    tracker = FreezeTracker()
    tracker.observe(match, NOW)
    body = dict(MATCH_BODY, scores=team_scores(1005, 800, 600))
    moved = MATCH.validate_python(body)

    assert tracker.observe(moved, NOW + timedelta(minutes=40)) == NOW + timedelta(minutes=40)


def test_helpers_directly(match: Match) -> None:
    objectives = match.maps[0].objectives
    assert points_per_tick(objectives) == {"red": 36, "blue": 20, "green": 3}
    assert objectives_held(objectives)["red"]["Castle"] == 1
    assert "Spawn" not in objectives_held(objectives)["red"]
    assert kdr(3, 0) is None
    assert kdr(3, 2) == 1.5


def test_unknown_enum_values_do_not_break_parsing() -> None:
    body = dict(MATCH_BODY)
    body["maps"] = [
        dict(MATCH_BODY["maps"][0], type="NewBorderland", objectives=[
            objective("2000-1", "Shrine", "Purple", 5),
        ])
    ]  # fmt: skip

    parsed = MATCH.validate_python(body)
    summary = analyse_match(parsed, now=NOW)

    assert summary.maps[0].type == "NewBorderland"
    assert summary.colours["red"].ppt == 0
