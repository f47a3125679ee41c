"""The pure parts of the live alerts: snapshot diffs, filters, pings and reminder times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.alerts import (
    AlertEvent,
    AlertFilter,
    LastSeen,
    MatchSnapshot,
    ObjectiveState,
    catch_up,
    colour_of,
    derive,
    diff,
    pings_role,
    reminders_between,
    snapshot,
    upgrade_tier,
)
from services.gw2.models import MATCH, Match

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
START = datetime(2026, 11, 14, 2, 0, tzinfo=UTC)


def state(owner: str = "Red", **changes: Any) -> ObjectiveState:
    values: dict[str, Any] = {
        "type": "Keep",
        "map_type": "RedHome",
        "owner": owner,
        "last_flipped": NOW - timedelta(hours=2),
        "claimed_by": None,
        "yaks": 0,
    }
    values.update(changes)
    return ObjectiveState(**values)


def snap(**objectives: ObjectiveState) -> MatchSnapshot:
    return MatchSnapshot(objectives={k.replace("_", "-"): v for k, v in objectives.items()})


def match(**changes: Any) -> Match:
    body: dict[str, Any] = {
        "id": "1-1",
        "start_time": START.isoformat(),
        "end_time": (START + timedelta(days=7, minutes=-2)).isoformat(),
        "worlds": {"red": 11001, "blue": 11002, "green": 11003},
        "all_worlds": {"red": [11001], "blue": [11002, 1001], "green": [11003]},
        "skirmishes": [{"id": 1, "scores": {"red": 300, "blue": 200, "green": 100}}],
        "maps": [
            {
                "id": 1099,
                "type": "RedHome",
                "objectives": [
                    {"id": "1099-99", "type": "Keep", "owner": "Red", "yaks_delivered": 25},
                    {"id": "1099-1", "type": "Spawn", "owner": "Red"},
                    {"id": "1099-2", "type": "Ruins", "owner": "Blue"},
                ],
            }
        ],
    }
    body.update(changes)
    return MATCH.validate_python(body)


def test_a_snapshot_keeps_camps_towers_keeps_and_castles_only() -> None:
    taken = snapshot(match())
    assert list(taken.objectives) == ["1099-99"]
    assert taken.objectives["1099-99"].yaks == 25
    assert taken.objectives["1099-99"].map_type == "RedHome"


def test_a_flip_says_who_lost_it_to_whom_and_how_long_it_was_held() -> None:
    flipped_at = NOW - timedelta(seconds=20)
    events = diff(snap(k_1=state("Red")), snap(k_1=state("Blue", last_flipped=flipped_at)), now=NOW)
    assert [e.kind for e in events] == ["flip"]
    assert events[0].previous_owner == "Red"
    assert events[0].owner == "Blue"
    assert events[0].held_seconds == 2 * 3600 - 20
    assert events[0].at == flipped_at


def test_a_flip_resets_claim_and_tier_so_only_a_new_claim_is_told() -> None:
    before = snap(k_1=state("Red", claimed_by="OLD", yaks=140))
    after = snap(k_1=state("Blue", last_flipped=NOW, claimed_by="NEW", yaks=0))
    assert [(e.kind, e.guild_id) for e in diff(before, after, now=NOW)] == [
        ("flip", None),
        ("claim", "NEW"),
    ]


def test_claims_unclaims_and_tiers_without_a_flip() -> None:
    before = snap(k_1=state(yaks=19), k_2=state(claimed_by="G1"), k_3=state(yaks=60))
    after = snap(
        k_1=state(yaks=20, claimed_by="G2"), k_2=state(claimed_by=None), k_3=state(yaks=139)
    )
    events = diff(before, after, now=NOW)
    assert [(e.objective_id, e.kind) for e in events] == [
        ("k-1", "claim"),
        ("k-1", "upgrade"),
        ("k-2", "unclaim"),
    ]
    assert events[1].tier == 1
    assert events[2].guild_id == "G1"


def test_objectives_unknown_to_the_previous_snapshot_are_no_event() -> None:
    assert diff(snap(), snap(k_1=state("Blue")), now=NOW) == []


def test_upgrade_tiers_follow_the_yaks() -> None:
    assert [upgrade_tier(y) for y in (0, 19, 20, 59, 60, 139, 140, 500)] == [0, 0, 1, 1, 2, 2, 3, 3]


def test_a_team_is_found_by_primary_or_linked_id() -> None:
    assert colour_of(match(), 11001) == "red"
    assert colour_of(match(), 1001) == "blue"
    assert colour_of(match(), 12001) is None


def flip(previous: str, owner: str, kind: str = "Keep", map_type: str = "RedHome") -> AlertEvent:
    return AlertEvent(
        kind="flip",
        at=NOW,
        objective_id="1099-99",
        objective_type=kind,
        map_type=map_type,
        owner=owner,
        previous_owner=previous,
    )


def test_scope_ours_wants_what_we_take_or_lose_and_match_wants_everything() -> None:
    ours = AlertFilter()
    assert ours.wants(flip("Red", "Blue"), "red")
    assert ours.wants(flip("Blue", "Red"), "red")
    assert not ours.wants(flip("Blue", "Green"), "red")
    assert AlertFilter(scope="match").wants(flip("Blue", "Green"), "red")
    assert not ours.wants(flip("Red", "Blue"), None)


def test_types_maps_and_reminders_filter() -> None:
    only_keeps = AlertFilter(objective_types=frozenset({"Keep"}), map_types=frozenset({"Center"}))
    assert not only_keeps.wants(flip("Red", "Blue"), "red")  # wrong map
    assert only_keeps.wants(flip("Red", "Blue", map_type="Center"), "red")
    assert not only_keeps.wants(flip("Red", "Blue", "Camp", "Center"), "red")
    reminder = AlertEvent(kind="reset_reminder", at=NOW, minutes_left=10)
    assert only_keeps.wants(reminder, "red")
    assert not AlertFilter(reminders=False).wants(reminder, "red")


def test_only_our_lost_keep_or_castle_pings() -> None:
    assert pings_role(flip("Red", "Blue"), "red")
    assert pings_role(flip("Red", "Blue", "Castle", "Center"), "red")
    assert not pings_role(flip("Red", "Blue", "Tower"), "red")
    assert not pings_role(flip("Blue", "Red"), "red")
    assert not pings_role(flip("Blue", "Green"), "red")


def test_a_catch_up_counts_only_the_changes_a_subscription_wants() -> None:
    summary = catch_up([flip("Red", "Blue"), flip("Blue", "Green")], reason="offline", now=NOW)
    assert summary is not None
    assert AlertFilter().count_wanted(summary.changes, "red") == 1
    assert AlertFilter(scope="match").count_wanted(summary.changes, "red") == 2
    assert AlertFilter().wants(summary, "red")
    only_red_and_blue = catch_up([flip("Red", "Blue")], reason="offline", now=NOW)
    assert only_red_and_blue is not None
    assert not AlertFilter().wants(only_red_and_blue, "green")
    assert catch_up([], reason="outage", now=NOW) is None


def test_reset_reminders_come_once_in_their_window() -> None:
    game = match()
    one_hour = game.end_time - timedelta(hours=1)
    due = reminders_between(game, one_hour - timedelta(seconds=30), one_hour)
    assert [(e.kind, e.minutes_left) for e in due] == [("reset_reminder", 60)]
    assert reminders_between(game, one_hour, one_hour + timedelta(seconds=30)) == []
    ten = game.end_time - timedelta(minutes=10)
    assert [e.minutes_left for e in reminders_between(game, ten - timedelta(minutes=1), ten)] == [
        10
    ]


def test_a_skirmish_reminder_carries_the_standing() -> None:
    game = match()
    ends = START + timedelta(hours=8)  # end of skirmish 4
    due = reminders_between(game, ends - timedelta(minutes=6), ends - timedelta(minutes=5))
    assert len(due) == 1
    assert due[0].kind == "skirmish_reminder"
    assert due[0].skirmish == 4
    assert due[0].standing == {"red": 300, "blue": 200, "green": 100}
    assert reminders_between(game, ends - timedelta(minutes=5), ends) == []


def test_the_last_skirmish_has_only_the_reset_reminders() -> None:
    game = match()
    last_end = START + timedelta(hours=168)
    window = reminders_between(
        game, last_end - timedelta(minutes=20), last_end - timedelta(minutes=4)
    )
    assert [e.kind for e in window] == ["reset_reminder"]


def test_events_survive_their_json_form() -> None:
    summary = catch_up([flip("Red", "Blue")], reason="outage", now=NOW)
    assert summary is not None
    assert AlertEvent.model_validate_json(summary.model_dump_json()) == summary


def test_derive_a_new_match_or_a_new_week_is_a_baseline() -> None:
    game = match()
    assert derive(game, "w1", None, now=NOW, first_look=True, had_no_data=False).others == []
    old = LastSeen("w0", snapshot(game), NOW)
    result = derive(game, "w1", old, now=NOW, first_look=False, had_no_data=False)
    assert result.changes == []
    assert result.others == []
    assert result.snapshot == snapshot(game)


def taken_by_blue() -> tuple[Match, LastSeen]:
    before = match()
    body = before.model_dump(mode="json")
    body["maps"][0]["objectives"][0]["owner"] = "Blue"
    return MATCH.validate_python(body), LastSeen("w1", snapshot(before), NOW)


def test_derive_tells_changes_one_by_one_unless_there_was_a_real_gap() -> None:
    later = NOW + timedelta(minutes=10)
    game, last = taken_by_blue()
    slow = derive(game, "w1", last, now=later, first_look=False, had_no_data=False)
    assert [e.kind for e in slow.changes] == ["flip"]
    offline = derive(game, "w1", last, now=later, first_look=True, had_no_data=False)
    assert offline.changes == []
    assert [(e.kind, e.reason, len(e.changes)) for e in offline.others] == [
        ("catch_up", "offline", 1)
    ]
    outage = derive(game, "w1", last, now=later, first_look=False, had_no_data=True)
    assert [e.reason for e in outage.others] == ["outage"]
    soon = derive(
        game, "w1", last, now=NOW + timedelta(seconds=30), first_look=True, had_no_data=True
    )
    assert [e.kind for e in soon.changes] == ["flip"]
