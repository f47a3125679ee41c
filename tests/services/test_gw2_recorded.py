"""Optional: the models parse every real recorded response in ``../shared/gw2-recorded``.

Skips when that folder is absent (a fresh clone); set ``GW2_RECORDED_DIR`` to point elsewhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from services.gw2 import models

RECORDED = Path(
    os.environ.get(
        "GW2_RECORDED_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "gw2-recorded"
    )
)

# file -> the model of one item (files hold a list of items or a single object): every endpoint
# the bot reads. Each file must parse into real model instances, field by field.
MODELS: dict[str, type[BaseModel]] = {
    "account.json": models.Account,
    "account_wvw.json": models.AccountWvw,
    "characters.json": models.Character,
    "characters_buildtabs.json": models.BuildTab,
    "tokeninfo.json": models.TokenInfo,
    "tokeninfo_subtoken.json": models.TokenInfo,
    "worlds.json": models.World,
    "wvw_match_single_2020.json": models.Match,
    "wvw_matches.json": models.Match,
    "wvw_matches_overview.json": models.MatchOverview,
    "wvw_objectives.json": models.Objective,
}
# Recorded files of endpoints the bot never reads: not checked (a plain ``dict`` check would
# pass whatever they hold). Any new file must land in one of the two tables.
NOT_READ_BY_THE_BOT = {
    "characters_core.json": "/characters reads ?ids=all (characters.json)",
    "characters_specializations.json": "the elite spec comes from build tabs",
    "wvw_matches_scores.json": "the full match carries the scores",
    "wvw_matches_stats.json": "the full match carries kills and deaths",
    "wvw_ranks.json": "WvW ranks are not shown",
    "wvw_timers.json": "the reset time comes from the match's end_time",
    "wvw_objective_names_i18n.json": "objective names, not an API response",
}

pytestmark = pytest.mark.skipif(not RECORDED.is_dir(), reason="no ../shared/gw2-recorded here")


def recorded_files() -> list[str]:
    return sorted(p.name for p in RECORDED.glob("*.json")) if RECORDED.is_dir() else []


def test_every_recorded_file_is_checked_or_said_unused() -> None:
    unknown = set(recorded_files()) - set(MODELS) - set(NOT_READ_BY_THE_BOT)
    assert unknown == set()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_recorded_file_parses_into_its_model(name: str) -> None:
    model = MODELS[name]
    raw = json.loads((RECORDED / name).read_bytes())
    items = raw if isinstance(raw, list) else [raw]

    parsed = [model.model_validate(item) for item in items]

    assert parsed
    assert all(isinstance(item, model) for item in parsed)
    # Every field the model declares that the recording carries made it into the model.
    for item, source in zip(parsed, items, strict=True):
        carried = set(model.model_fields) & set(source)
        assert carried, f"{name}: no field of {model.__name__} in the recording"
        assert all(getattr(item, field) is not None or source[field] is None for field in carried)


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
