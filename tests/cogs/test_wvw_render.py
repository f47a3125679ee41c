"""The pure WvW renderers: recorded-shape match data in, ``discord.Embed`` out (no Discord)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cogs.wvw_matchups_render import render_matchups
from cogs.wvw_objectives_render import objective_rows, page_rows, render_objectives
from cogs.wvw_render import render_match
from services.gw2 import models
from services.i18n import format_compact_duration
from services.match_analysis import analyse_match, upgrade_tier

NOW = datetime(2026, 11, 21, 21, 15, tzinfo=UTC)
FETCHED_AT = datetime(2026, 11, 21, 21, 14, 15, tzinfo=UTC)

# One full match in the API's shape (schema 2024-07-20): four maps, two skirmishes, claims,
# a spawn and ruins that must not count, Bloodlust on the borderlands.
MATCH = {
    "id": "2-3",
    "start_time": "2026-11-20T18:00:00Z",
    "end_time": "2026-11-27T17:58:00Z",
    "scores": {"red": 30512, "blue": 41877, "green": 28990},
    "worlds": {"red": 12006, "blue": 12002, "green": 12014},
    "all_worlds": {"red": [12006], "blue": [12002], "green": [12014]},
    "deaths": {"red": 4120, "blue": 3890, "green": 4702},
    "kills": {"red": 4011, "blue": 5230, "green": 3471},
    "victory_points": {"red": 118, "blue": 131, "green": 111},
    "skirmishes": [
        {
            "id": 1,
            "scores": {"red": 1200, "blue": 1500, "green": 900},
            "map_scores": [{"type": "Center", "scores": {"red": 400, "blue": 600, "green": 300}}],
        },
        {
            "id": 14,
            "scores": {"red": 812, "blue": 1043, "green": 655},
            "map_scores": [
                {"type": "Center", "scores": {"red": 301, "blue": 420, "green": 233}},
                {"type": "RedHome", "scores": {"red": 260, "blue": 210, "green": 140}},
                {"type": "BlueHome", "scores": {"red": 120, "blue": 280, "green": 150}},
                {"type": "GreenHome", "scores": {"red": 131, "blue": 133, "green": 132}},
            ],
        },
    ],
    "maps": [
        {
            "id": 38,
            "type": "Center",
            "scores": {"red": 9000, "blue": 14000, "green": 8000},
            "kills": {"red": 1500, "blue": 2100, "green": 1200},
            "deaths": {"red": 1600, "blue": 1400, "green": 1900},
            "bonuses": [],
            "objectives": [
                {
                    "id": "38-9",
                    "type": "Castle",
                    "owner": "Blue",
                    "last_flipped": "2026-11-21T19:10:00Z",
                    "claimed_by": "GUILD-A",
                    "claimed_at": "2026-11-21T19:12:00Z",
                    "points_tick": 24,
                    "points_capture": 24,
                    "yaks_delivered": 75,
                    "guild_upgrades": [178],
                },
                {
                    "id": "38-1",
                    "type": "Keep",
                    "owner": "Red",
                    "last_flipped": "2026-11-21T20:00:00Z",
                    "claimed_by": None,
                    "claimed_at": None,
                    "points_tick": 12,
                    "points_capture": 12,
                    "yaks_delivered": 20,
                    "guild_upgrades": [],
                },
                {
                    "id": "38-11",
                    "type": "Tower",
                    "owner": "Green",
                    "last_flipped": "2026-11-21T20:30:00Z",
                    "points_tick": 4,
                    "points_capture": 4,
                    "yaks_delivered": 3,
                },
                {
                    "id": "38-4",
                    "type": "Camp",
                    "owner": "Blue",
                    "last_flipped": "2026-11-21T20:50:00Z",
                    "points_tick": 2,
                    "points_capture": 2,
                    "yaks_delivered": 0,
                },
                {
                    "id": "38-124",
                    "type": "Spawn",
                    "owner": "Red",
                    "last_flipped": None,
                    "points_tick": 0,
                    "points_capture": 0,
                },
                {
                    "id": "38-62",
                    "type": "Ruins",
                    "owner": "Neutral",
                    "last_flipped": None,
                    "points_tick": 0,
                    "points_capture": 0,
                },
            ],
        },
        {
            "id": 1099,
            "type": "RedHome",
            "scores": {"red": 8000, "blue": 9000, "green": 7000},
            "kills": {"red": 900, "blue": 1100, "green": 800},
            "deaths": {"red": 1000, "blue": 900, "green": 1000},
            "bonuses": [{"type": "Bloodlust", "owner": "Red"}],
            "objectives": [
                {
                    "id": "1099-99",
                    "type": "Keep",
                    "owner": "Red",
                    "last_flipped": "2026-11-20T18:00:00Z",
                    "points_tick": 20,
                    "points_capture": 20,
                    "yaks_delivered": 140,
                },
                {
                    "id": "1099-103",
                    "type": "Tower",
                    "owner": "Blue",
                    "last_flipped": "2026-11-21T19:45:00Z",
                    "points_tick": 4,
                    "points_capture": 4,
                    "yaks_delivered": 5,
                },
            ],
        },
        {
            "id": 96,
            "type": "BlueHome",
            "scores": {"red": 6512, "blue": 10877, "green": 6990},
            "kills": {"red": 800, "blue": 1200, "green": 700},
            "deaths": {"red": 820, "blue": 790, "green": 1002},
            "bonuses": [{"type": "Bloodlust", "owner": "Blue"}],
            "objectives": [
                {
                    "id": "96-37",
                    "type": "Keep",
                    "owner": "Blue",
                    "last_flipped": "2026-11-20T18:00:00Z",
                    "points_tick": 16,
                    "points_capture": 16,
                    "yaks_delivered": 90,
                },
            ],
        },
        {
            "id": 95,
            "type": "GreenHome",
            "scores": {"red": 7000, "blue": 8000, "green": 7990},
            "kills": {"red": 811, "blue": 830, "green": 771},
            "deaths": {"red": 700, "blue": 800, "green": 800},
            "bonuses": [{"type": "Bloodlust", "owner": "Green"}],
            "objectives": [
                {
                    "id": "95-34",
                    "type": "Camp",
                    "owner": "Green",
                    "last_flipped": "2026-11-21T20:40:00Z",
                    "points_tick": 3,
                    "points_capture": 3,
                    "yaks_delivered": 60,
                },
            ],
        },
    ],
}

GOLDEN_OVERVIEW: dict[str, Any] = {
    "footer": {"text": "Match 2-3 · data as of"},
    "fields": [
        {
            "inline": True,
            "name": "🟦 Fortune's Vale ★",
            "value": "**131** VP\nScore 41,877\nSkirmish 1,043\nPPT 46\n"
            "K/D 5,230/3,890 (1.34)\nHolds 1 SMC · 1 Keep · 1 Tower · 1 Camp",
        },
        {
            "inline": True,
            "name": "🟥 Palawadan",
            "value": "**118** VP\nScore 30,512\nSkirmish 812\nPPT 32\n"
            "K/D 4,011/4,120 (0.97)\nHolds 2 Keep",
        },
        {
            "inline": True,
            "name": "🟩 Great House Aviary",
            "value": "**111** VP\nScore 28,990\nSkirmish 655\nPPT 7\n"
            "K/D 3,471/4,702 (0.74)\nHolds 1 Tower · 1 Camp",
        },
    ],
    "flags": 0,
    "color": 0x3B82F6,
    "timestamp": "2026-11-21T21:14:15+00:00",
    "type": "rich",
    "description": "Skirmish 14/84 · ends <t:1795298400:R>\n"
    "Reset <t:1795802280:R> (<t:1795802280:f>)\n"
    "Data as of <t:1795295655:T> (<t:1795295655:R>)",
    "title": "WvW EU Tier 3",
}


def summary(**options: Any) -> Any:
    return analyse_match(models.MATCH.validate_python(MATCH), now=NOW, **options)


def test_golden_overview_for_one_full_match() -> None:
    embed = render_match(
        summary(), fetched_at=FETCHED_AT, stale=False, now=NOW, focus_team_id=12002
    )
    assert embed.to_dict() == GOLDEN_OVERVIEW


def test_rendering_is_deterministic() -> None:
    first = render_match(summary(), fetched_at=FETCHED_AT, stale=True, now=NOW, map_type="RedHome")
    second = render_match(summary(), fetched_at=FETCHED_AT, stale=True, now=NOW, map_type="RedHome")
    assert first.to_dict() == second.to_dict()


def test_without_a_focus_team_the_leader_colours_the_embed_and_nobody_is_starred() -> None:
    embed = render_match(summary(), fetched_at=FETCHED_AT, stale=False, now=NOW)
    assert embed.colour is not None
    assert embed.colour.value == 0x3B82F6
    assert not any("★" in field.name for field in embed.fields if field.name)


def test_map_view_shows_per_map_numbers_and_bloodlust() -> None:
    embed = render_match(
        summary(),
        fetched_at=FETCHED_AT,
        stale=False,
        now=NOW,
        focus_team_id=12006,
        map_type="RedHome",
    )
    assert embed.title == "Red Borderlands (Red BL) — EU Tier 3"
    assert embed.colour is not None
    assert embed.colour.value == 0xD9413C
    fields = {f.name: f.value for f in embed.fields}
    assert fields["🟦 Fortune's Vale"] == (
        "Score **9,000**\nSkirmish 210\nPPT 4\nK/D 1,100/900 (1.22)\nHolds 1 Tower"
    )
    assert fields["🟥 Palawadan ★"].endswith("PPT 20\nK/D 900/1,000 (0.90)\nHolds 1 Keep")
    assert fields["Bonuses"] == "Bloodlust: 🟥 Red"


def test_map_view_of_a_map_missing_from_the_data_falls_back_to_the_overview() -> None:
    embed = render_match(summary(), fetched_at=FETCHED_AT, stale=False, now=NOW, map_type="Edge")
    assert embed.title == "WvW EU Tier 3 — Edge (no data)"
    assert len(embed.fields) == 3


def test_stale_and_frozen_notes() -> None:
    frozen = summary(last_changed_at=NOW - timedelta(minutes=45))
    embed = render_match(frozen, fetched_at=FETCHED_AT, stale=True, now=NOW)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["⚠ Data looks frozen"].startswith("No change since <t:")
    assert "up to an hour" in fields["⚠ Data looks frozen"]
    assert fields["⚠ Cached data"].startswith("Served from cache, GW2 API unavailable")
    fresh = render_match(summary(last_changed_at=NOW), fetched_at=FETCHED_AT, stale=False, now=NOW)
    assert [f.name for f in fresh.fields if f.name and f.name.startswith("⚠")] == []


def test_objective_rows_leave_out_spawns_and_ruins_and_sort_like_players_read() -> None:
    match = models.MATCH.validate_python(MATCH)
    names = {"38-9": models.Objective(id="38-9", name="Stonemist Castle")}
    rows = objective_rows(match, names)
    assert [r.id for r in rows] == [
        "38-9",
        "38-1",
        "38-11",
        "38-4",
        "1099-99",
        "1099-103",
        "96-37",
        "95-34",
    ]
    assert rows[0].name == "Stonemist Castle"
    assert rows[1].name == "38-1"  # no static name known: the id, never a crash
    assert [r.id for r in objective_rows(match, names, map_type="GreenHome")] == ["95-34"]


def test_objectives_page_shows_owner_hold_time_guild_tag_and_tier() -> None:
    match = models.MATCH.validate_python(MATCH)
    names = {"38-9": models.Objective(id="38-9", name="Stonemist Castle")}
    rows = objective_rows(match, names)
    embed = render_objectives(
        rows,
        match_id="2-3",
        map_type=None,
        page=1,
        fetched_at=FETCHED_AT,
        stale=False,
        now=NOW,
        guild_tags={"GUILD-A": "VK"},
        focus_colour="blue",
        per_page=5,
    )
    assert embed.title == "Objectives — all maps — EU Tier 3"
    assert embed.description is not None
    lines = embed.description.split("\n")
    assert lines[0] == "__EBG__"
    assert lines[1] == "🟦 **Stonemist Castle** SMC · held 2h 05m · [VK] · T2 (75 yaks)"
    assert lines[-1] == "🟥 **1099-99** Keep · held 1d 3h · T3 (140 yaks)"
    assert "__Red BL__" in lines
    assert embed.footer.text == "Page 1 of 2 · 8 objectives · T = upgrade tier · data as of"
    last = render_objectives(
        rows,
        match_id="2-3",
        map_type="GreenHome",
        page=9,
        fetched_at=FETCHED_AT,
        stale=True,
        now=NOW,
        per_page=5,
    )
    assert last.footer.text is not None
    assert last.footer.text.startswith("Page 2 of 2")
    assert [f.name for f in last.fields] == ["⚠ Cached data"]


def test_claims_of_unknown_guilds_show_as_claimed() -> None:
    rows = objective_rows(models.MATCH.validate_python(MATCH), {}, map_type="Center")
    embed = render_objectives(
        rows,
        match_id="2-3",
        map_type="Center",
        page=1,
        fetched_at=FETCHED_AT,
        stale=False,
        now=NOW,
    )
    assert embed.description is not None
    assert embed.description.startswith("🟦 **38-9** SMC · held 2h 05m · claimed · T2")


def test_matchups_list_tiers_best_first_within_each() -> None:
    first = models.MATCH.validate_python(MATCH)
    second = models.MATCH.validate_python({**MATCH, "id": "2-1"})
    other_region = models.MATCH.validate_python({**MATCH, "id": "1-1"})
    embed = render_matchups(
        [first, second, other_region], region="eu", fetched_at=FETCHED_AT, stale=False
    )
    assert embed.title == "WvW matchups — EU"
    assert [f.name for f in embed.fields] == ["Tier 1", "Tier 3"]
    assert embed.fields[1].value == (
        "🟦 Fortune's Vale — **131** VP · 41,877\n"
        "🟥 Palawadan — **118** VP · 30,512\n"
        "🟩 Great House Aviary — **111** VP · 28,990"
    )
    empty = render_matchups([], region="na", fetched_at=FETCHED_AT, stale=True)
    assert empty.description == "No NA matches are running right now."
    assert [f.name for f in empty.fields] == ["⚠ Cached data"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (3_660, "1h 01m"), (90_000, "1d 1h"), (-5, "0s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_compact_duration("en", timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(("yaks", "tier"), [(0, 0), (19, 0), (20, 1), (59, 1), (60, 2), (140, 3)])
def test_upgrade_tier_from_yaks(yaks: int, tier: int) -> None:
    assert upgrade_tier(yaks) == tier


def test_page_rows_clamps_to_existing_pages() -> None:
    rows = objective_rows(models.MATCH.validate_python(MATCH), {})
    assert [r.id for r in page_rows(rows, 99, per_page=3)] == ["96-37", "95-34"]
    assert [r.id for r in page_rows(rows, 0, per_page=3)] == ["38-9", "38-1", "38-11"]
