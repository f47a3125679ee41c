"""Verified roles through the fakes: the real bot, a fake Discord and a fake GW2 API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import discord

from bot.app import Application
from cogs.roles import Roles
from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import paste_in_dm
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeMember, FakeRole
from tests.fakes.discord_members import (
    member_changes,
    place_bot_role_on_top,
    role_requests,
    roles_of,
)
from tests.fakes.discord_payloads import DEFAULT_BOT_PERMISSIONS
from tests.fakes.gw2_api import FakeGW2API, Fault, InstantClock
from tests.harness import make_settings, running_bot

EXTENSIONS = ("cogs.about", "cogs.account", "cogs.keys", "cogs.key_revalidation", "cogs.roles")
VIGIL = "4FB44673-C2CF-E611-80D3-AC162DC085C0"
DRAGONS = "1B2C3D4E-0000-4000-8000-00000000AAAA"
REASON = "GW2Optimizer verification"
BOT_PERMISSIONS = (
    DEFAULT_BOT_PERMISSIONS | discord.Permissions(manage_roles=True, manage_nicknames=True).value
)


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    guild: FakeGuild
    admin: FakeMember
    alice: FakeMember
    vigil_role: FakeRole
    dragons_role: FakeRole
    other_role: FakeRole
    above_role: FakeRole
    app: Application
    clock: InstantClock

    @property
    def cog(self) -> Roles:
        assert self.app.bot is not None
        cog = self.app.bot.get_cog("Roles")
        assert type(cog).__name__ == "Roles"
        return cast(Roles, cog)

    def alice_roles(self) -> set[int]:
        return roles_of(self.guild, self.alice.id)

    async def wait_alice_has(self, role: FakeRole, present: bool = True) -> None:
        await self.discord.wait_until(
            lambda: (role.id in self.alice_roles()) == present,
            f"Alice {'to get' if present else 'to lose'} {role.name}",
        )


@asynccontextmanager
async def roles_world(tmp_path: Path, *, strict: bool = False) -> AsyncIterator[World]:
    clock = InstantClock()
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        gw2_fake.add_guild(VIGIL, "Vigil Vanguard", "VV")
        gw2_fake.add_guild(DRAGONS, "Dragon Riders", "DR")
        guild = discord_fake.add_guild(name="Vigil Keep", bot_permissions=BOT_PERMISSIONS)
        vigil = discord_fake.add_role(guild, "Vigil")
        dragons = discord_fake.add_role(guild, "Dragons")
        other = discord_fake.add_role(guild, "Event Team")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Admin"), permissions="manage_guild"
        )
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"), roles=[other])
        place_bot_role_on_top(guild)
        above = discord_fake.add_role(guild, "Council")
        above.position = 50  # above the bot's role
        settings = make_settings(discord_fake, tmp_path, gw2=gw2_fake)
        settings.security.roles_strict_mode_enabled = strict
        async with running_bot(
            discord_fake, tmp_path, settings=settings, clock=clock, extensions=EXTENSIONS
        ) as app:
            yield World(
                discord_fake,
                gw2_fake,
                guild,
                admin,
                alice,
                vigil,
                dragons,
                other,
                above,
                app,
                clock,
            )
        assert discord_fake.errors == []


async def add_rule(world: World, role: FakeRole, condition: str, value: str | None = None) -> str:
    options: dict[str, Any] = {"role": role, "condition": condition}
    if value is not None:
        options["value"] = value
    handle = await world.discord.slash(world.admin, "roles add", options)
    message = await handle.wait_final_message()
    assert handle.ephemeral
    return message.all_text()


async def link_alice(world: World, *, wvw_guild: str | None = VIGIL) -> str:
    key = make_gw2_key()
    world.gw2.add_key(
        key,
        permissions=["account", "wvw", "characters", "builds"],
        account_name="Alice.1234",
        guilds=[VIGIL, DRAGONS],
        wvw_guild=wvw_guild,
    )
    answer = await paste_in_dm(world, world.alice.user, key)
    assert answer.embed is not None
    assert answer.embed["title"] == "API key linked"
    return key


def assert_every_change_has_the_reason(world: World) -> None:
    changes = member_changes(world.discord)
    assert changes, "expected role changes"
    assert all(change.reason == REASON for change in changes)
    assert all(r.status == 204 for r in role_requests(world.discord))


# ---------------------------------------------------------------------------------------------


async def test_a_member_who_links_a_key_gets_the_wvw_guild_role_at_once(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        answer = await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        assert "Vigil Vanguard [VV]" in answer
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        assert world.other_role.id in world.alice_roles()
        assert world.dragons_role.id not in world.alice_roles()
        assert_every_change_has_the_reason(world)
        # Counted once the member's sync finished (just after the role request).
        added = await world.discord.wait_until(
            lambda: world.app.registry.get_sample_value(
                "gw2opt_role_changes_total", {"action": "add"}
            ),
            "the role change metric",
        )
    assert added == 1


async def test_the_next_sync_follows_a_change_of_wvw_guild(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await add_rule(world, world.dragons_role, "wvw_guild", DRAGONS)
        key = await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        world.gw2.keys[key].wvw_guild = DRAGONS
        world.clock.advance(3600)  # past the account cache's TTL: the next period asks again
        report = await world.cog.sync_all()
        assert report.added == 1
        assert report.removed == 1
        assert world.dragons_role.id in world.alice_roles()
        assert world.vigil_role.id not in world.alice_roles()
        assert world.other_role.id in world.alice_roles()
        assert_every_change_has_the_reason(world)


async def test_an_unchanged_member_costs_no_discord_request_on_the_next_pass(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        world.clock.advance(3600)
        before = len(world.discord.requests)
        gw2_before = world.gw2.count("/v2/account/wvw")
        report = await world.cog.sync_all()
        new = [str(r) for r in world.discord.requests[before:]]
    assert report.unchanged == 1
    assert new == []
    assert world.gw2.count("/v2/account/wvw") == gw2_before + 1


async def test_a_gw2_outage_during_a_sync_removes_nothing(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        key = await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        world.gw2.keys[key].wvw_guild = DRAGONS  # a fresh answer would remove the role
        world.gw2.script("/v2/account/wvw", Fault(status=502, text="ErrTimeout", times=None))
        world.clock.advance(3600)
        report = await world.cog.sync_all()
        assert report.removed == 0
        assert world.vigil_role.id in world.alice_roles()
        # The API answering "invalid key" (before the revalidation policy agrees) removes nothing.
        world.gw2.clear_faults()
        world.gw2.remove_key(key)
        world.clock.advance(3600)
        report = await world.cog.sync_all()
        assert report.removed == 0
        assert world.vigil_role.id in world.alice_roles()
        assert not [r for r in role_requests(world.discord) if r.method == "DELETE"]


async def test_a_role_above_the_bot_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        answer = await add_rule(world, world.above_role, "verified")
        shows = await (await world.discord.slash(world.admin, "roles show")).wait_final_message()
    assert f"I can't give or take <@&{world.above_role.id}>" in answer
    assert "drag my role above it" in answer
    assert "Added" not in answer
    assert "no role rules yet" in shows.all_text()


async def test_preview_warns_about_a_role_moved_above_the_bot_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await link_alice(world)
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await world.wait_alice_has(world.vigil_role)
        # Dragons rule stored, then the role moved above the bot's (Discord tells the bot).
        await add_rule(world, world.dragons_role, "verified")
        await world.wait_alice_has(world.dragons_role)
        world.discord.fail("PUT", r"/roles/", status=500, times=None)  # nothing must be sent
        world.dragons_role.position = 99
        await world.discord.dispatch(
            "GUILD_ROLE_UPDATE",
            {"guild_id": str(world.guild.id), "role": world.dragons_role.to_payload()},
        )
        world.alice.roles = [r for r in world.alice.roles if r is not world.vigil_role]
        before = len(role_requests(world.discord))
        handle = await world.discord.slash(world.admin, "roles preview")
        text = (await handle.wait_final_message()).all_text()
        after = len(role_requests(world.discord))
    assert handle.ephemeral
    assert "nothing was changed" in text
    assert f"<@{world.alice.id}>: +<@&{world.vigil_role.id}>" in text
    assert f"I can't give or take <@&{world.dragons_role.id}>" in text
    assert after == before
    assert world.vigil_role.id not in roles_of(world.guild, world.alice.id)


async def test_a_member_who_unlinks_loses_managed_roles_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await add_rule(world, world.dragons_role, "verified")
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        await world.wait_alice_has(world.dragons_role)
        handle = await world.discord.slash(world.alice, "key remove")
        await handle.wait_final_message()
        await world.wait_alice_has(world.vigil_role, present=False)
        await world.wait_alice_has(world.dragons_role, present=False)
        assert world.other_role.id in world.alice_roles()
        assert_every_change_has_the_reason(world)


async def test_roles_commands_need_manage_server(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        handle = await world.discord.slash(
            world.alice, "roles add", {"role": world.vigil_role, "condition": "verified"}
        )
        message = await handle.wait_final_message()
        rules = await world.cog.store.rules(world.guild.id)
    assert "Manage Server" in message.all_text()
    assert rules == []


async def test_the_nickname_suffix_names_the_account_and_spares_the_owner(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.dragons_role, "verified")
        handle = await world.discord.slash(world.admin, "roles options", {"nickname_suffix": True})
        await handle.wait_final_message()
        await link_alice(world)
        await world.discord.wait_until(
            lambda: world.alice.nick == "Alice | Alice.1234", "Alice's nickname"
        )
        owner = world.discord.owner_user
        owner_key = make_gw2_key()
        world.gw2.add_key(owner_key, account_name="Owner.5678")
        await paste_in_dm(world, owner, owner_key)
        await world.discord.wait_until(
            lambda: world.dragons_role.id in roles_of(world.guild, owner.id), "the owner's role"
        )
        nick_changes = [c for c in member_changes(world.discord) if c.action == "nick"]
    assert [(c.user_id, c.value, c.reason) for c in nick_changes] == [
        (world.alice.id, "Alice | Alice.1234", REASON)
    ]
    assert not [
        r
        for r in world.discord.requests
        if r.method == "PATCH" and "/members/" in r.path and str(owner.id) in r.path
    ]


async def test_strict_mode_is_refused_without_the_members_intent(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        assert world.app.bot is not None
        assert world.app.bot.intents.members is False
        handle = await world.discord.slash(world.admin, "roles options", {"strict": True})
        text = (await handle.wait_final_message()).all_text()
        options = await world.cog.store.options(world.guild.id)
    assert "Server Members intent" in text
    assert "ROLES_STRICT_MODE_ENABLED" in text
    assert options.strict is False


async def test_strict_mode_strips_managed_roles_from_members_who_never_linked(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path, strict=True) as world:
        assert world.app.bot is not None
        assert world.app.bot.intents.members is True
        bob = await world.discord.add_member_live(
            world.guild, world.discord.add_user("Bob"), roles=[world.vigil_role, world.other_role]
        )
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        assert world.vigil_role.id in roles_of(world.guild, bob.id)  # strict mode still off
        handle = await world.discord.slash(world.admin, "roles options", {"strict": True})
        await handle.wait_final_message()
        await world.discord.wait_until(
            lambda: world.vigil_role.id not in roles_of(world.guild, bob.id), "Bob to lose Vigil"
        )
        assert world.other_role.id in roles_of(world.guild, bob.id)
        assert world.vigil_role.id in world.alice_roles()
        assert_every_change_has_the_reason(world)


async def test_guilds_autocomplete_from_linked_members_and_rules_can_be_listed_and_removed(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "guild_member", VIGIL)
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        handle = await world.discord.autocomplete(
            world.admin,
            "roles add",
            {"role": world.dragons_role, "condition": "wvw_guild", "value": "drag"},
            focused="value",
        )
        choices = await handle.wait_choices()
        answer = await add_rule(world, world.dragons_role, "wvw_guild", "Dragon Riders")
        shown = await (await world.discord.slash(world.admin, "roles show")).wait_final_message()
        removed = await (
            await world.discord.slash(world.admin, "roles remove", {"rule": 1})
        ).wait_final_message()
        after = await (await world.discord.slash(world.admin, "roles show")).wait_final_message()
    assert choices == [{"name": "Dragon Riders [DR]", "value": DRAGONS}]
    assert "WvW guild is **Dragon Riders [DR]**" in answer
    assert "member of guild **Vigil Vanguard [VV]**" in shown.all_text()
    assert "Dragon Riders" in shown.all_text()
    assert "Removed `#1`" in removed.all_text()
    assert "Vigil Vanguard" not in after.all_text()
    assert "Dragon Riders" in after.all_text()


async def test_a_rule_change_looks_members_up_on_discord_before_asking_gw2(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        await link_alice(world)
        carol = world.discord.add_user("Carol")  # linked, but not on this server
        carol_key = make_gw2_key()
        world.gw2.add_key(carol_key, account_name="Carol.4321", wvw_guild=VIGIL)
        await paste_in_dm(world, carol, carol_key)
        world.gw2.reset_counters()
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await world.wait_alice_has(world.vigil_role)
        world.clock.advance(600)  # past the account cache: the next sync asks the API again
        await add_rule(world, world.dragons_role, "wvw_guild", DRAGONS)
        await world.discord.wait_until(
            lambda: world.gw2.count("/v2/account/wvw") >= 2, "the second rule's sync"
        )
        carol_reads = [
            r
            for r in world.discord.requests
            if r.method == "GET" and r.path.endswith(f"/members/{carol.id}")
        ]
    # Only Alice's account was asked, once per rule change; Carol was looked up once (404).
    assert world.gw2.count("/v2/account/wvw") == 2
    assert [r.status for r in carol_reads] == [404]


async def test_a_key_the_revalidation_policy_declared_invalid_loses_its_roles(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await link_alice(world)
        await world.wait_alice_has(world.vigil_role)
        assert world.app.bot is not None
        keys = world.app.bot.services.keys
        linked = await keys.active(world.alice.id)
        assert linked is not None
        await keys.save_failure_state(
            linked.id, replace(linked.failure, consecutive_invalid=3, invalid=True)
        )
        report = await world.cog.sync_all()
        assert report.removed == 1
        assert world.vigil_role.id not in world.alice_roles()
        assert world.other_role.id in world.alice_roles()


async def test_a_guild_value_that_cannot_be_resolved_is_explained_and_nothing_is_added(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        empty = await add_rule(world, world.vigil_role, "wvw_guild", " ")
        unknown_name = await add_rule(world, world.vigil_role, "wvw_guild", "Nope Nobody")
        unknown_id = await add_rule(
            world, world.vigil_role, "wvw_guild", "00000000-0000-0000-0000-000000000000"
        )
        shows = await (await world.discord.slash(world.admin, "roles show")).wait_final_message()
        assert world.discord.errors == []
    assert "needs a value" in empty
    assert "I don't know a guild called “Nope Nobody”" in unknown_name
    assert "knows no guild with that id" in unknown_id
    assert "no role rules yet" in shows.all_text()
