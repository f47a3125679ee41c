"""Pure rendering and account helpers on recorded-shape API data (no Discord, no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import discord

from bot.storage.keys import LinkedKey
from cogs import account_render as render
from services.accounts import (
    AccountOverview,
    CharacterRoster,
    CharacterSummary,
    GuildLabel,
    KeyCheck,
    access_names,
    elite_spec_name,
    format_played,
)
from services.gw2.game_names import GameNames
from services.gw2.models import ACCOUNT, BUILD_TAB_LIST, SPECIALIZATION_LIST
from services.keys import KeyFailureState, evaluate_key

# Shapes as /v2/account, /v2/characters/:id/buildtabs and /v2/specializations answer them.
ACCOUNT_JSON = {
    "id": "123E4567-E89B-12D3-A456-426614174000",
    "name": "Shooterking.1234",
    "age": 16230600,
    "world": 2201,
    "guilds": ["4FB44673-C2CF-E611-80D3-AC162DC085C0"],
    "guild_leader": [],
    "created": "2015-11-03T15:49:00Z",
    "access": ["GuildWars2", "HeartOfThorns", "PlayForFree", "PathOfFire", "JanthirWilds", "Nu"],
    "commander": True,
    "wvw": {"team_id": 12008, "rank": 1234},
    "build_storage_slots": 9,
}
BUILD_TABS_JSON = [
    {
        "tab": 1,
        "is_active": False,
        "build": {
            "name": "",
            "profession": "Elementalist",
            "specializations": [
                {"id": 31, "traits": [296, 325, 1510]},
                {"id": 41, "traits": [232, 1502, 1503]},
                {"id": 48, "traits": [1886, 2015, 2033]},
            ],
            "skills": {"heal": 21656, "utilities": [5536, 5542, 5734], "elite": 29968},
        },
    },
    {
        "tab": 2,
        "is_active": True,
        "build": {
            "name": "zerg",
            "profession": "Elementalist",
            "specializations": [
                {"id": 41, "traits": [232, 1502, 1503]},
                {"id": 56, "traits": [None, 2, 3]},
                {"id": 31, "traits": [296, 325, 1510]},
            ],
        },
    },
]
SPECS_JSON = [
    {"id": 31, "name": "Fire", "profession": "Elementalist", "elite": False},
    {"id": 41, "name": "Water", "profession": "Elementalist", "elite": False},
    {"id": 48, "name": "Tempest", "profession": "Elementalist", "elite": True},
    {"id": 56, "name": "Weaver", "profession": "Elementalist", "elite": True},
]


def specs(lang: str = "en") -> GameNames:
    found = {s.id: s for s in SPECIALIZATION_LIST.validate_python(SPECS_JSON)}
    if lang == "fr":
        found[56] = found[56].model_copy(update={"name": "Tissesort"})
    return GameNames(lang=lang, specializations=found)


def test_the_elite_spec_comes_from_the_active_build_tab_whatever_the_slot() -> None:
    tabs = BUILD_TAB_LIST.validate_python(BUILD_TABS_JSON)
    assert elite_spec_name(tabs, specs()) == "Weaver"
    no_active = [tab.model_copy(update={"is_active": False}) for tab in tabs]
    assert elite_spec_name(no_active, specs()) == "Tempest"
    assert elite_spec_name([], specs()) is None


def test_the_elite_spec_is_named_in_the_asked_language_else_in_english() -> None:
    tabs = BUILD_TAB_LIST.validate_python(BUILD_TABS_JSON)
    assert elite_spec_name(tabs, specs("fr")) == "Tissesort"
    # The API could not name the specializations: the catalogue's English elite names.
    assert elite_spec_name(tabs, GameNames(lang="fr")) == "Weaver"
    core_only = BUILD_TAB_LIST.validate_python(BUILD_TABS_JSON[:1])
    core_only = [
        tab.model_copy(
            update={
                "build": tab.build.model_copy(
                    update={"specializations": tab.build.specializations[:2]}
                )
            }
        )
        for tab in core_only
    ]
    assert elite_spec_name(core_only, GameNames(lang="fr")) is None


def test_access_codes_become_expansion_names() -> None:
    account = ACCOUNT.validate_python(ACCOUNT_JSON)
    assert access_names(account.access) == [
        "Guild Wars 2",
        "Heart of Thorns",
        "Free to play",
        "Path of Fire",
        "Janthir Wilds",
        "Nu",
    ]
    assert access_names(["SomeFutureExpansion2"]) == ["Some Future Expansion 2"]


def test_time_played_is_hours_or_minutes() -> None:
    assert format_played(986450) == "274 h"
    assert format_played(59 * 60) == "59 min"


def _check(permissions: list[str], key_name: str, policy: str = "optional") -> KeyCheck:
    checklist = evaluate_key(permissions, key_name, "GW2OPT-7KQ4", policy)  # type: ignore[arg-type]
    return KeyCheck(
        checklist=checklist,
        key_name=key_name,
        key_type="APIKey",
        permissions=tuple(permissions),
        account_id="id",
        account_name="Shooterking.1234",
        team="Frost Citadel",
    )


def test_the_checklist_marks_each_permission_and_the_ownership() -> None:
    embed = render.checklist_embed(
        _check(["account", "wvw", "characters"], "GW2OPT-7KQ4"), linked=False
    )
    checks = str(embed.fields[0].value)
    assert "✅ `account`" in checks
    assert "❌ `builds`" in checks
    assert "➖ `progression`" in checks
    assert "✅ Ownership: verified owner" in checks
    assert embed.title == "API key not linked"
    assert "This key is missing `builds`" in str(embed.description)
    assert {f.name: f.value for f in embed.fields[1:]} == {
        "Account": "Shooterking.1234",
        "WvW team": "Frost Citadel",
    }


def test_a_linked_checklist_gives_the_optional_hint() -> None:
    embed = render.checklist_embed(
        _check(["account", "wvw", "characters", "builds"], "x"), linked=True
    )
    assert embed.title == "API key linked"
    assert embed.colour == render.OK_COLOUR
    assert any(f.name == "Tip" and "progression" in str(f.value) for f in embed.fields)


def test_key_info_masks_the_key_and_escapes_the_key_name() -> None:
    linked = LinkedKey(
        id=1,
        user_id=2,
        account_id="a",
        account_name="Shooter_king.1234",
        key_name="**@everyone** 0123ABCD-0000-0000-0000-000000000000",
        key_type="APIKey",
        fingerprint="f",
        masked="ABCDEF12…",
        permissions=("account", "wvw"),
        ownership_verified=True,
        is_active=True,
        valid=False,
        failure=KeyFailureState(),
        added_at="2026-11-20T18:00:00+00:00",
        validated_at="2026-11-21T18:00:00+00:00",
    )
    embed = render.key_info_embed([linked])
    field = embed.fields[0]
    assert field.name == "Shooter\\_king.1234 (active)"
    value = str(field.value)
    assert "`ABCDEF12…`" in value
    assert "@everyone" not in value.replace("@\u200beveryone", "")
    assert "\\*\\*" in value
    assert "<t:1795197600:R>" in value
    assert "✅ Verified owner" in value
    assert "ArenaNet rejects this key" in value


def test_the_account_card_says_why_a_field_is_hidden() -> None:
    overview = AccountOverview(
        name="Shooterking.1234",
        team=None,
        wvw_rank=None,
        access=("Guild Wars 2",),
        guilds=(GuildLabel("Vigil", "VG"), GuildLabel("No Tag")),
        created=datetime(2015, 11, 3, tzinfo=UTC),
        commander=True,
        fetched_at=datetime(2026, 11, 20, 18, 5, tzinfo=UTC),
        stale=True,
        hidden={"team": "wvw", "wvw_rank": "progression"},
    )
    embed = render.account_embed(overview)
    fields = {f.name: f.value for f in embed.fields}
    assert fields["WvW team"] == "Hidden: your key lacks the `wvw` permission."
    assert fields["WvW rank"] == "Hidden: your key lacks the `progression` permission."
    assert fields["Guilds"] == "Vigil [VG]\nNo Tag"
    assert "cached copy from 18:05 UTC" in str(embed.footer.text)


def test_character_pages_stay_within_discord_limits() -> None:
    characters = tuple(
        CharacterSummary(
            name="N" * 19 + str(i),
            profession="Mesmer",
            level=80,
            elite_spec="Chronomancer",
            age_seconds=986450,
            created=datetime(2017, 2, 5, tzinfo=UTC),
        )
        for i in range(70)
    )
    pages = render.character_pages(
        CharacterRoster(characters, total=72, builds_hidden=False), "Shooterking.1234"
    )
    assert len(pages) == 7
    for page in pages:
        assert len(page.fields) <= 25
        assert len(page) < 6000
        assert "Showing 70 of 72 characters." in str(page.description)
    assert pages[0].fields[0].name == "🦋 " + "N" * 19 + "0"
    assert pages[0].fields[0].value.startswith("Chronomancer (Mesmer) · level 80 · 274 h played")


def test_an_account_without_characters_gets_one_page_saying_so() -> None:
    pages = render.character_pages(CharacterRoster((), 0, False), "New.1234")
    assert len(pages) == 1
    assert "no characters yet" in str(pages[0].description)


def test_instructions_name_every_permission_the_code_and_the_policy() -> None:
    required = render.link_instructions("GW2OPT-7KQ4", "required")
    optional = render.link_instructions("GW2OPT-7KQ4", "optional")
    text = "\n".join(str(f.value) for f in required.fields) + str(required.description)
    for permission in ("account", "wvw", "characters", "builds", "progression"):
        assert f"`{permission}`" in text
    assert "`GW2OPT-7KQ4`" in str(required.description)
    assert "requires" in str(required.fields[2].value)
    assert "verified owner" in str(optional.fields[2].value)
    assert isinstance(required, discord.Embed)


def test_leak_notices_never_carry_the_key_and_say_what_to_do() -> None:
    dm = render.leak_notice("#general on Vigil Keep", deleted=True)
    channel = render.leak_channel_notice("<@1>", deleted=False)
    assert "Delete it at https://account.arena.net/applications" in dm
    assert "/key add" in dm
    assert channel.startswith("<@1> A message here contains a GW2 API key")
