"""The shared ``team`` option: resolving what a player typed, with and without world names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from cogs.team_options import (
    AmbiguousTeamError,
    UnknownTeamError,
    choice_label,
    resolve_team_option,
)
from services.clock import ManualClock
from services.gw2 import Fetched, UnavailableError
from services.gw2.models import World
from services.matches import MatchService
from services.teams import TeamCandidate


class StubGW2:
    """Only ``worlds()``, which the option asks for legacy world names."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.calls = 0

    async def worlds(self, *, budget: float | None = None) -> Fetched[list[World]]:
        self.calls += 1
        if self.down:
            raise UnavailableError()
        now = datetime(2026, 11, 20, tzinfo=UTC)
        return Fetched([World(id=1001, name="Anvil Rock")], now, timedelta(0))


def stub_bot(gw2: StubGW2) -> Any:
    matches = MatchService(gw2, ManualClock())  # type: ignore[arg-type]
    return SimpleNamespace(services=SimpleNamespace(gw2=gw2, matches=matches))


async def test_ids_and_full_team_names_resolve_without_asking_for_worlds() -> None:
    gw2 = StubGW2()
    assert await resolve_team_option(stub_bot(gw2), "11005") == 11005
    assert await resolve_team_option(stub_bot(gw2), "  Tombs of Drascir ") == 11005
    assert await resolve_team_option(stub_bot(gw2), "1001") == 1001
    assert gw2.calls == 0


async def test_legacy_world_names_resolve_through_the_world_list() -> None:
    gw2 = StubGW2()
    assert await resolve_team_option(stub_bot(gw2), "anvil rock") == 1001
    assert gw2.calls == 1


async def test_world_names_unavailable_still_resolves_teams_and_explains_the_rest() -> None:
    gw2 = StubGW2(down=True)
    assert await resolve_team_option(stub_bot(gw2), "drascir") == 11005
    with pytest.raises(UnknownTeamError, match="No team called “Anvil Rock”"):
        await resolve_team_option(stub_bot(gw2), "Anvil Rock")


async def test_ambiguous_and_unknown_texts_say_what_to_type() -> None:
    gw2 = StubGW2()
    with pytest.raises(AmbiguousTeamError) as several:
        await resolve_team_option(stub_bot(gw2), "domain")
    assert "Domain of Anguish (12005)" in str(several.value)
    assert "Domain of Torment (11003)" in str(several.value)
    with pytest.raises(UnknownTeamError) as typo:
        await resolve_team_option(stub_bot(gw2), "Dragrimar")
    assert str(typo.value).startswith(
        "No team called “Dragrimar”. Did you mean Dragrimmar (12009)?"
    )


async def test_unknown_text_is_shown_escaped() -> None:
    with pytest.raises(UnknownTeamError) as error:
        await resolve_team_option(stub_bot(StubGW2()), "@everyone **zz**")
    assert "@everyone" not in str(error.value)
    assert "\\*\\*zz\\*\\*" in str(error.value)


def test_choice_labels_fit_discord_and_say_region_and_kind() -> None:
    assert choice_label(TeamCandidate(11005, "Tombs of Drascir", "na", "team")) == (
        "Tombs of Drascir (NA team 11005)"
    )
    long = TeamCandidate(2999, "x" * 150, None, "world")
    assert len(choice_label(long)) == 100


async def test_team_option_errors_and_labels_speak_the_readers_language() -> None:
    gw2 = StubGW2()
    with pytest.raises(UnknownTeamError) as typo:
        await resolve_team_option(stub_bot(gw2), "Dragrimar")
    french = typo.value.localised("fr")
    assert french.startswith("Aucune équipe ne s'appelle “Dragrimar”. Vouliez-vous dire")
    assert "Dragrimmar (12009)" in french
    with pytest.raises(AmbiguousTeamError) as several:
        await resolve_team_option(stub_bot(gw2), "domain")
    german = several.value.localised("de")
    assert german.startswith("“domain” passt zu mehreren Teams: ")
    assert " oder " in german  # the list is joined the German way
    assert "fits several" not in german
    assert choice_label(TeamCandidate(11005, "Tombs of Drascir", "na", "team"), "es") == (
        "Tombs of Drascir (equipo NA 11005)"
    )
    assert choice_label(TeamCandidate(1001, "Anvil Rock", None, "world"), "de") == (
        "Anvil Rock (Welt 1001)"
    )
