"""Optional: the models parse every real recorded response in ``../shared/gw2-recorded``.

Skips when that folder is absent (a fresh clone); set ``GW2_RECORDED_DIR`` to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.gw2 import models

RECORDED = Path(
    os.environ.get(
        "GW2_RECORDED_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "gw2-recorded"
    )
)

# file -> model of one item (files hold a list of items or a single object)
MODELS: dict[str, Any] = {
    "account.json": models.Account,
    "account_wvw.json": models.AccountWvw,
    "characters.json": models.Character,
    "characters_buildtabs.json": models.BuildTab,
    "characters_core.json": models.CharacterCore,
    "characters_specializations.json": dict,
    "tokeninfo.json": models.TokenInfo,
    "tokeninfo_subtoken.json": models.TokenInfo,
    "worlds.json": models.World,
    "wvw_match_single_2020.json": models.Match,
    "wvw_matches.json": models.Match,
    "wvw_matches_overview.json": models.MatchOverview,
    "wvw_matches_scores.json": dict,
    "wvw_matches_stats.json": dict,
    "wvw_objectives.json": models.Objective,
    "wvw_ranks.json": dict,
    "wvw_timers.json": models.WvwTimers,
}

pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason="no ../shared/gw2-recorded here")


def recorded_files() -> list[str]:
    return sorted(p.name for p in RECORDED.glob("*.json")) if RECORDED.is_dir() else []


@pytest.mark.parametrize("name", recorded_files())
def test_recorded_file_parses(name: str) -> None:
    model = MODELS.get(name, dict)
    raw = (RECORDED / name).read_bytes()
    adapter: TypeAdapter[Any] = TypeAdapter(model | list[model])  # type: ignore[operator]

    parsed = adapter.validate_json(raw)

    assert parsed


def test_recorded_match_has_the_expected_shape() -> None:
    matches = models.MATCH_LIST.validate_json((RECORDED / "wvw_matches.json").read_bytes())
    match = matches[0]

    assert match.id == "2-1"
    assert [m.type for m in match.maps] == ["Center", "RedHome", "BlueHome", "GreenHome"]
    assert sum(m.kills.red for m in match.maps) == match.kills.red
    assert any(o.claimed_by for m in match.maps for o in m.objectives)


def test_recorded_bulk_characters_have_build_tabs() -> None:
    chars = models.CHARACTER_LIST.validate_json((RECORDED / "characters.json").read_bytes())

    assert chars
    first = chars[0]
    assert (first.name, first.profession, first.level) == ("Linux Debizahn", "Guardian", 80)
    assert first.age > 0
    assert first.created is not None
    assert first.build_tabs
    assert all(len(t.build.specializations) == 3 for t in first.build_tabs)
    assert sum(t.is_active for t in first.build_tabs) == 1
    assert first.build_tabs[0].specialization_ids() == [42, 16, 62]
