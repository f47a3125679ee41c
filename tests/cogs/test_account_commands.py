"""/account and /characters through the fakes: fields, hidden permissions, pages, no key."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.fakes.gw2_api import BULK_CHARACTERS_ROUTE, FakeCharacter

GUILD_ID = "4FB44673-C2CF-E611-80D3-AC162DC085C0"


async def test_account_shows_team_rank_access_and_guilds(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        world.gw2.add_guild(GUILD_ID, "Vigil Vanguard", "VV")
        key = make_gw2_key()
        world.gw2.add_key(
            key,
            permissions=["account", "wvw", "characters", "builds", "progression"],
            account_name="Alice.1234",
            team_id=12008,
            guilds=[GUILD_ID],
        )
        await paste_in_dm(world, world.alice.user, key)
        handle = await world.discord.slash(world.alice, "account")
        message = await handle.wait_final_message()
    assert handle.ephemeral
    embed = message.embed
    assert embed is not None
    assert embed["title"] == "Alice.1234"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["WvW team"] == "Frost Citadel"
    assert fields["WvW rank"] == "1,234"
    assert "Path of Fire" in fields["Access"]
    assert fields["Guilds"] == "Vigil Vanguard [VV]"
    assert fields["Created"].startswith("<t:")
    assert key not in message.all_text()


async def test_account_hides_the_rank_without_progression_and_says_why(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        await paste_in_dm(world, world.alice.user, key)
        message = await (await world.discord.slash(world.alice, "account")).wait_final_message()
    assert message.embed is not None
    fields = {f["name"]: f["value"] for f in message.embed["fields"]}
    assert fields["WvW rank"] == "Hidden: your key lacks the `progression` permission."
    assert fields["WvW team"] == "Moogooloo"


async def test_commands_that_need_a_key_say_how_to_link_one(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        answers = [
            await (await world.discord.slash(world.alice, command)).wait_final_message()
            for command in ("account", "characters", "key info", "key remove")
        ]
    for answer in answers:
        assert answer.content == "You haven't linked a GW2 API key yet: link one with /key add."
        assert answer.ephemeral


async def test_characters_are_listed_with_elite_specs_and_paginated(tmp_path: Path) -> None:
    characters = [
        FakeCharacter("Zojja Prime", "Guardian", [None, 62], active_tab=2),
        FakeCharacter("Rytlock Spin", "Revenant", [52]),
        FakeCharacter("Core Ranger", "Ranger", [None], level=42),
        *(FakeCharacter(f"Alt Number {i:02d}", "Necromancer", [60]) for i in range(10)),
    ]
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", characters=characters)
        await paste_in_dm(world, world.alice.user, key)
        handle = await world.discord.slash(world.alice, "characters")
        message = await handle.wait_final_message()
        first_page = message.embed
        first_ids = message.custom_ids()
        click = await world.discord.click(world.alice, message, "gw2opt:chars:next")
        await click.wait_final_message()
        second_page = message.embed
    assert handle.ephemeral
    assert first_page is not None
    assert second_page is not None
    assert first_ids == ["gw2opt:chars:prev", "gw2opt:chars:next"]
    fields = {f["name"]: f["value"] for f in first_page["fields"]}
    assert len(fields) == 10
    assert fields["🛡️ Zojja Prime"].startswith("Firebrand (Guardian) · level 80 · ")
    assert fields["🌀 Rytlock Spin"].startswith("Herald (Revenant)")
    assert fields["🏹 Core Ranger"].startswith("Ranger · level 42")
    assert first_page["footer"]["text"].startswith("Page 1/2 · 13 characters")
    assert second_page["footer"]["text"].startswith("Page 2/2")
    assert len(second_page["fields"]) == 3
    assert key not in message.all_text()


async def test_page_buttons_whose_view_is_gone_say_the_pages_expired(tmp_path: Path) -> None:
    characters = [FakeCharacter(f"Alt Number {i:02d}", "Necromancer", [60]) for i in range(12)]
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", characters=characters)
        await paste_in_dm(world, world.alice.user, key)
        handle = await world.discord.slash(world.alice, "characters")
        message = await handle.wait_final_message()
        assert world.app.bot is not None
        store = world.app.bot._connection._view_store
        live = {
            item.view
            for items in store._views.values()
            for item in items.values()
            if item.view is not None and not item.view.is_persistent()
        }
        assert live
        for view in live:  # what a timeout or a restart does to the pages' view
            store.remove_view(view)
        click = await world.discord.click(world.alice, message, "gw2opt:chars:next")
        await click.wait_response()
    assert click.response_type == 7
    assert "expired" in message.content
    assert message.custom_ids() == []


async def test_without_builds_the_elite_specs_are_hidden_with_the_reason(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(
            key,
            permissions=["account", "wvw", "characters"],
            characters=[FakeCharacter("Zojja Prime", "Guardian", [62])],
        )
        # Linking refuses such a key; a key stored earlier can still lose a permission.
        assert world.app.bot is not None
        await world.app.bot.services.keys.link(
            user_id=world.alice.user.id,
            key=key,
            account_id="id-1",
            account_name="Alice.1234",
            key_name="",
            key_type="APIKey",
            permissions=["account", "wvw", "characters"],
            ownership_verified=False,
            now=world.app.clock.now(),
        )
        message = await (await world.discord.slash(world.alice, "characters")).wait_final_message()
        buildtab_calls = world.gw2.count("/v2/characters/{name}/buildtabs")
        bulk_calls = world.gw2.count(BULK_CHARACTERS_ROUTE)
    assert message.embed is not None
    assert "lacks the `builds` permission" in message.embed["description"]
    assert message.embed["fields"][0]["value"].startswith("Guardian · level 80")
    assert message.custom_ids() == []  # one page: no buttons
    assert buildtab_calls == 0
    assert bulk_calls == 1
