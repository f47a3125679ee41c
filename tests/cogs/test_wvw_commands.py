"""``/wvw match``, ``objectives`` and ``matchups`` through the fake Discord and fake GW2 API."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Application
from tests.fakes.discord import FakeDiscord, FakeMember, FakeMessage
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock
from tests.harness import running_bot

EXTENSIONS = ("cogs.about", "cogs.wvw")
KEY = "ABCDEF01-2345-6789-ABCD-EF0123456789ABCDEF01-2345-6789-ABCD-EF0123456789"


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    clock: InstantClock
    alice: FakeMember
    tmp_path: Path

    @asynccontextmanager
    async def bot(self) -> AsyncIterator[Application]:
        async with running_bot(
            self.discord, self.tmp_path, gw2=self.gw2, clock=self.clock, extensions=EXTENSIONS
        ) as app:
            yield app

    async def ask(self, command: str, options: dict[str, Any] | None = None) -> FakeMessage:
        handle = await self.discord.slash(self.alice, command, options)
        return await handle.wait_final_message()


@asynccontextmanager
async def world(tmp_path: Path, *, legacy_worlds: bool = False) -> AsyncIterator[World]:
    clock = InstantClock()
    async with (
        FakeDiscord() as discord_fake,
        FakeGW2API(clock=clock, legacy_worlds=legacy_worlds) as gw2_fake,
    ):
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        yield World(discord_fake, gw2_fake, clock, alice, tmp_path)


def field_names(message: FakeMessage) -> list[str]:
    assert message.embed is not None
    return [f["name"] for f in message.embed["fields"]]


def wvw_cog(app: Application) -> Any:
    """The loaded cog (extensions are imported afresh, so no isinstance against our import)."""
    assert app.bot is not None
    cog = app.bot.get_cog("WvW")
    assert cog is not None
    return cog


async def link_key(app: Application, user_id: int) -> None:
    assert app.bot is not None
    await app.bot.services.keys.link(
        user_id=user_id,
        key=KEY,
        account_id="ACC-1",
        account_name="Alice.1234",
        key_name="GW2Optimizer",
        key_type="APIKey",
        permissions=["account", "wvw"],
        ownership_verified=True,
        now=app.clock.now(),
    )


async def set_default_team(app: Application, guild_id: int, team_id: int) -> None:
    assert app.bot is not None
    await app.bot.services.guild_settings.set_default_team(guild_id, team_id)


# ------------------------------------------------------------------------------- /wvw match
async def test_match_by_team_id_shows_the_three_teams_and_map_buttons(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        message = await w.ask("wvw match", {"team": "11005"})
    match = w.gw2.world.match_for(11005)
    assert match is not None
    assert not message.ephemeral
    embed = message.embed
    assert embed is not None
    assert embed["title"] == f"WvW NA Tier {match.id.split('-')[1]}"
    names = field_names(message)
    assert any(name.endswith("Tombs of Drascir ★") for name in names)
    assert len(names) == 3
    assert "Skirmish" in embed["description"]
    assert "Reset <t:" in embed["description"]
    assert message.custom_ids() == [
        "wvw:m:11005:ov",
        "wvw:m:11005:ebg",
        "wvw:m:11005:red",
        "wvw:m:11005:blue",
        "wvw:m:11005:green",
    ]


async def test_match_by_team_name_and_partial_name(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        full = await w.ask("wvw match", {"team": "Fortune's Vale"})
        partial = await w.ask("wvw match", {"team": "fortunes"})
    for message in (full, partial):
        assert any(name.endswith("Fortune's Vale ★") for name in field_names(message))
        assert message.embed is not None
        assert "EU Tier" in message.embed["title"]


async def test_match_by_legacy_world_id_names_the_worlds(tmp_path: Path) -> None:
    async with world(tmp_path, legacy_worlds=True) as w, w.bot():
        message = await w.ask("wvw match", {"team": "1001"})
    assert any("Anvil Rock" in name and name.endswith("★") for name in field_names(message))


async def test_a_map_button_switches_the_message_to_that_map(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        message = await w.ask("wvw match", {"team": "11005"})
        click = await w.discord.click(w.alice, message, "wvw:m:11005:red")
        await click.wait_response()
        assert message.embed is not None
        assert message.embed["title"].startswith("Red Borderlands (Red BL)")
        assert "Bonuses" in field_names(message)
        back = await w.discord.click(w.alice, message, "wvw:m:11005:ov")
        await back.wait_response()
    assert click.response_type == 7  # the clicked message itself was updated
    assert message.embed is not None
    assert message.embed["title"].startswith("WvW NA Tier")
    styles = {c["custom_id"]: c["style"] for row in message.components for c in row["components"]}
    assert styles["wvw:m:11005:ov"] == 1
    assert styles["wvw:m:11005:red"] == 2


async def test_map_buttons_keep_working_after_a_restart(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        async with w.bot():
            message = await w.ask("wvw match", {"team": "11005"})
        async with w.bot():
            click = await w.discord.click(w.alice, message, "wvw:m:11005:ebg")
            await click.wait_response()
    assert message.embed is not None
    assert message.embed["title"].startswith("Eternal Battlegrounds (EBG)")


async def test_unknown_team_suggests_the_closest_names(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        typo = await w.discord.slash(w.alice, "wvw match", {"team": "Mosswod"})
        typo_message = await typo.wait_final_message()
        nothing = await w.ask("wvw match", {"team": "zzzz"})
        several = await w.ask("wvw match", {"team": "domain"})
    assert typo.ephemeral
    assert typo_message.content.startswith(
        "No team called “Mosswod”. Did you mean Mosswood (11012)"
    )
    assert nothing.content.startswith("No team called “zzzz”.")
    assert "11005" in nothing.content
    assert "fits several teams" in several.content
    assert "Domain of Torment" in several.content


async def test_a_team_out_of_any_match_says_so(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        message = await w.ask("wvw match", {"team": "1001"})  # a legacy world, teams now play
    assert message.ephemeral
    assert "isn't in a running WvW match" in message.content


async def test_api_down_without_cache_says_try_again(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        w.gw2.script("/v2/wvw/matches", Fault(status=502, text="", times=None))
        message = await w.ask("wvw match", {"team": "11005"})
    assert message.ephemeral
    assert message.content == "The GW2 API is unavailable right now — try again in a minute."


async def test_disabled_endpoint_says_so(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        w.gw2.script("/v2/wvw/matches", Fault.disabled())
        message = await w.ask("wvw match", {"team": "11005"})
    assert message.ephemeral
    assert "switched this endpoint off" in message.content


async def test_api_down_with_cache_serves_the_cached_match_with_a_note(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        fresh = await w.ask("wvw match", {"team": "11005"})
        w.clock.advance(120)
        w.gw2.script("/v2/wvw/matches", Fault(status=500, text="", times=None))
        stale = await w.ask("wvw match", {"team": "11005"})
    assert "⚠ Cached data" not in field_names(fresh)
    assert "⚠ Cached data" in field_names(stale)
    assert stale.embed is not None
    assert stale.embed["description"] == fresh.embed["description"]  # same data, same times
    assert "Data as of <t:" in stale.embed["description"]


async def test_the_rendered_answer_is_reused_until_the_data_changes(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        first = await w.ask("wvw match", {"team": "11005"})
        cog = wvw_cog(app)
        (cached,) = cog._answers.values()
        w.clock.advance(10)  # same data (match data lives 30 s): the same answer object
        again = await w.ask("wvw match", {"team": "11005"})
        reused = next(iter(cog._answers.values())).embed is cached.embed
        match = w.gw2.world.match_for(11005)
        assert match is not None
        match.add_kills("red", 5)
        w.clock.advance(31)  # a new fetch with new data: rendered again
        changed = await w.ask("wvw match", {"team": "11005"})
        rerendered = next(iter(cog._answers.values())).embed is not cached.embed
    assert reused
    assert rerendered
    assert first.embed == again.embed
    assert changed.embed != first.embed


async def test_unchanged_data_for_half_an_hour_is_flagged_frozen(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        await w.ask("wvw match", {"team": "11005"})
        w.clock.advance(31 * 60)
        frozen = await w.ask("wvw match", {"team": "11005"})
        match = w.gw2.world.match_for(11005)
        assert match is not None
        match.flip("38-9", "green")
        w.clock.advance(60)
        moving = await w.ask("wvw match", {"team": "11005"})
    assert "⚠ Data looks frozen" in field_names(frozen)
    assert "⚠ Data looks frozen" not in field_names(moving)


async def test_slow_api_defers_first_then_answers(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        wvw_cog(app).defer_after = 0.05
        w.gw2.script("/v2/wvw/matches", Fault.slow(0.4))
        handle = await w.discord.slash(w.alice, "wvw match", {"team": "11005"})
        message = await handle.wait_final_message()
        quick = await w.discord.slash(w.alice, "wvw match", {"team": "11005"})
        await quick.wait_final_message()
    assert handle.callbacks[0]["type"] == 5  # "thinking…" first
    assert message.embed is not None
    assert message.embed["title"].startswith("WvW NA Tier")
    assert quick.callbacks[0]["type"] == 4  # warm cache: answered at once


# ------------------------------------------------------------------------------- default team
async def test_without_team_key_or_default_explains_both_ways(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        handle = await w.discord.slash(w.alice, "wvw match")
        message = await handle.wait_final_message()
    assert handle.ephemeral
    assert message.content.startswith("Which team?")
    assert "/key add" in message.content
    assert "default team" in message.content


async def test_without_team_uses_the_linked_accounts_team(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        w.gw2.add_key(KEY, permissions=["account", "wvw"], team_id=12002)
        await link_key(app, w.alice.user.id)
        await set_default_team(app, w.alice.guild.id, 11005)
        message = await w.ask("wvw match")
    assert any(name.endswith("Fortune's Vale ★") for name in field_names(message))
    assert not message.content


async def test_a_key_without_wvw_permission_falls_back_to_the_server_team(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        w.gw2.add_key(KEY, permissions=["account"], team_id=12002)
        await link_key(app, w.alice.user.id)
        await set_default_team(app, w.alice.guild.id, 11005)
        handle = await w.discord.slash(w.alice, "wvw match")
        message = await handle.wait_final_message()
        (note,) = await handle.wait_followups()
        await set_default_team(app, w.alice.guild.id, None)  # type: ignore[arg-type]
        no_default = await w.ask("wvw match")
    assert any(name.endswith("Tombs of Drascir ★") for name in field_names(message))
    assert not message.ephemeral
    assert not message.content  # the note concerns only Alice: never in the public answer
    assert note.ephemeral
    assert "lacks the “wvw” permission" in note.content
    assert "Showing this server's team" in note.content
    assert KEY not in message.all_text() + note.all_text()
    assert no_default.ephemeral
    assert "lacks the “wvw” permission" in no_default.content
    assert "`team` option" in no_default.content


async def test_a_rejected_key_is_said_privately_never_in_the_public_answer(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        await link_key(app, w.alice.user.id)  # the fake API does not know this key: "invalid key"
        await set_default_team(app, w.alice.guild.id, 11005)
        handle = await w.discord.slash(w.alice, "wvw match")
        message = await handle.wait_final_message()
        (note,) = await handle.wait_followups()
    assert not message.ephemeral
    assert "ArenaNet rejected" not in message.all_text()
    assert note.ephemeral
    assert "ArenaNet rejected your linked GW2 key" in note.content
    assert KEY[:8] not in message.all_text() + note.all_text()


async def test_without_team_uses_the_server_default(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        await set_default_team(app, w.alice.guild.id, 12014)
        message = await w.ask("wvw match")
    assert any(name.endswith("Great House Aviary ★") for name in field_names(message))


# ------------------------------------------------------------------------------- autocomplete
async def test_autocomplete_offers_teams_then_worlds(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        tombs = await (
            await w.discord.autocomplete(w.alice, "wvw match", {"team": "tomb"})
        ).wait_choices()
        everything = await (
            await w.discord.autocomplete(w.alice, "wvw match", {"team": ""})
        ).wait_choices()
        by_id = await (
            await w.discord.autocomplete(w.alice, "wvw objectives", {"team": "1200"})
        ).wait_choices()
        worlds = await (
            await w.discord.autocomplete(w.alice, "wvw match", {"team": "anvil"})
        ).wait_choices()
    assert tombs[0] == {"name": "Tombs of Drascir (NA team 11005)", "value": "11005"}
    assert len(everything) == 25
    assert [c["value"] for c in by_id][:3] == ["12001", "12002", "12003"]
    assert worlds == [{"name": "Anvil Rock (NA world 1001)", "value": "1001"}]


async def test_team_suggestions_and_team_errors_speak_the_players_language(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w, w.bot():
        tombs = await (
            await w.discord.autocomplete(w.alice, "wvw match", {"team": "tomb"}, locale="es-ES")
        ).wait_choices()
        typo = await w.discord.slash(w.alice, "wvw match", {"team": "Dragrimar"}, locale="fr")
        refused = await typo.wait_final_message()
        several = await w.discord.slash(w.alice, "wvw match", {"team": "domain"}, locale="de")
        ambiguous = await several.wait_final_message()
    assert tombs[0] == {"name": "Tombs of Drascir (equipo NA 11005)", "value": "11005"}
    assert typo.ephemeral
    assert refused.content.startswith("Aucune équipe ne s'appelle “Dragrimar”. Vouliez-vous dire")
    assert "No team" not in refused.content
    assert ambiguous.content.startswith("“domain” passt zu mehreren Teams: ")
    assert " oder " in ambiguous.content


# ------------------------------------------------------------------------------- objectives
async def test_objectives_paginate_and_narrow_to_a_map(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        match = w.gw2.world.match_for(11005)
        assert match is not None
        w.gw2.add_guild("CLAIMING-GUILD", "Claiming Guild", "CLG")
        match.flip("38-9", "blue", claimed_by="CLAIMING-GUILD")
        everything = await w.ask("wvw objectives", {"team": "Tombs of Drascir"})
        assert everything.custom_ids() == ["wvw:o:11005:all:1", "wvw:o:11005:all:2"]
        turn = await w.discord.click(w.alice, everything, "wvw:o:11005:all:2")
        await turn.wait_response()
        red = await w.ask("wvw objectives", {"team": "11005", "map": "RedHome"})
    first_page = everything.history[0]["embeds"][0]
    assert first_page["description"].startswith(
        "__EBG__\n🟦 **Stonemist Castle** SMC · held 0s · [CLG]"
    )
    assert first_page["footer"]["text"].startswith("Page 1 of 5")
    assert everything.embed is not None
    assert everything.embed["footer"]["text"].startswith("Page 2 of 5")
    assert everything.custom_ids() == ["wvw:o:11005:all:1", "wvw:o:11005:all:3"]
    assert red.embed is not None
    assert red.embed["title"].startswith("Objectives — Red Borderlands")
    assert "__" not in red.embed["description"]  # one map: no map headings
    assert red.embed["footer"]["text"].startswith("Page 1 of 1 · 13 objectives")
    assert red.custom_ids() == []


async def test_objectives_api_down_says_try_again(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot():
        w.gw2.script("/v2/wvw/objectives", Fault(status=503, text="", times=None))
        message = await w.ask("wvw objectives", {"team": "11005"})
    assert message.ephemeral
    assert message.content == "The GW2 API is unavailable right now — try again in a minute."


# ------------------------------------------------------------------------------- matchups
async def test_matchups_list_every_tier_of_a_region(tmp_path: Path) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        eu = await w.ask("wvw matchups", {"region": "eu"})
        default = await w.ask("wvw matchups")
        await set_default_team(app, w.alice.guild.id, 12001)
        server_region = await w.ask("wvw matchups")
    assert field_names(eu) == ["Tier 1", "Tier 2", "Tier 3", "Tier 4", "Tier 5"]
    assert eu.embed is not None
    assert eu.embed["title"] == "WvW matchups — EU"
    assert default.embed is not None
    assert default.embed["title"] == "WvW matchups — NA"
    assert len(field_names(default)) == 4
    assert server_region.embed is not None
    assert server_region.embed["title"].endswith("EU")


async def test_matchups_name_legacy_worlds(tmp_path: Path) -> None:
    async with world(tmp_path, legacy_worlds=True) as w, w.bot():
        message = await w.ask("wvw matchups", {"region": "na"})
    assert message.embed is not None
    assert "Anvil Rock" in message.all_text() or "Borlis Pass" in message.all_text()


async def test_a_button_click_while_the_api_is_down_answers_privately(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        async with w.bot():
            message = await w.ask("wvw match", {"team": "11005"})
        async with w.bot():  # a fresh process: nothing cached
            w.gw2.script("/v2/wvw/matches", Fault(status=502, text="", times=None))
            click = await w.discord.click(w.alice, message, "wvw:m:11005:blue")
            answer = await click.wait_final_message()
    assert click.ephemeral
    assert answer.content == "The GW2 API is unavailable right now — try again in a minute."
    assert message.embed is not None
    assert message.embed["title"].startswith("WvW NA Tier")  # the shared message is untouched


async def test_a_button_clicked_while_the_cog_reloads_is_answered_in_the_players_language(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        message = await w.ask("wvw match", {"team": "11005"})
        assert app.bot is not None
        module = sys.modules["cogs.wvw"]
        await app.bot.unload_extension("cogs.wvw")
        # The button outlives its cog for a moment during a reload.
        app.bot.add_dynamic_items(module.MatchViewButton)
        click = await w.discord.click(w.alice, message, "wvw:m:11005:red", locale="fr")
        answer = await click.wait_final_message()
    assert answer.ephemeral
    assert answer.content == "Les commandes McM redémarrent — réessayez dans quelques secondes."
