"""Key ownership ``required`` enforced where a key is used, and asked for by the DM flow
(issue 10 item 1), through the fake Discord and the fake GW2 API."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import discord

from bot.app import Application
from cogs.common.key_policy import member_of_required_guild
from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, ownership_code_in, paste_in_dm
from tests.cogs.test_compose_e2e import KEY_ALICE, KEY_BOB, embed_text
from tests.cogs.test_compose_e2e import world as compose_world
from tests.cogs.test_roles_e2e import VIGIL, add_rule, roles_world
from tests.cogs.test_wvw_commands import KEY, field_names, set_default_team
from tests.cogs.test_wvw_commands import world as wvw_world


def services(app: Application) -> Any:
    assert app.bot is not None
    return app.bot.services


async def link(app: Application, user_id: int, key: str, name: str, *, verified: bool) -> None:
    await services(app).keys.link(
        user_id=user_id,
        key=key,
        account_id=f"ACC-{name}",
        account_name=name,
        key_name="my key",
        key_type="APIKey",
        permissions=["account", "characters", "wvw"],
        ownership_verified=verified,
        now=datetime.now(UTC),
    )


# --------------------------------------------------------------------------- where keys are used


async def test_wvw_does_not_use_an_unverified_key_where_ownership_is_required(
    tmp_path: Path,
) -> None:
    async with wvw_world(tmp_path) as w, w.bot() as app:
        w.gw2.add_key(KEY, permissions=["account", "wvw"], team_id=12002)
        await link(app, w.alice.user.id, KEY, "Alice.1234", verified=False)
        guild_id = w.alice.guild.id
        await services(app).guild_settings.set_ownership_policy(guild_id, "required")
        await set_default_team(app, guild_id, 11005)
        handle = await w.discord.slash(w.alice, "wvw match")
        message = await handle.wait_final_message()
        (note,) = await handle.wait_followups()
        await set_default_team(app, guild_id, None)  # type: ignore[arg-type]
        refused = await w.ask("wvw match")
        asked_account = w.gw2.count("/v2/account/wvw")
        await services(app).guild_settings.set_ownership_policy(guild_id, "optional")
        optional = await w.ask("wvw match")
    # Not Alice's team (12002, Fortune's Vale) but the server's: her key was not used.
    assert any(name.endswith("Tombs of Drascir ★") for name in field_names(message))
    assert note.ephemeral
    assert "requires proof that a linked key is yours" in note.content
    assert "/key add" in note.content
    assert refused.ephemeral
    assert "requires proof that a linked key is yours" in refused.content
    assert asked_account == 0
    assert any(name.endswith("Fortune's Vale ★") for name in field_names(optional))


async def test_a_voice_roster_skips_unverified_keys_where_ownership_is_required(
    tmp_path: Path,
) -> None:
    async with compose_world(tmp_path, voice=True) as w:
        members = {m.user.name: m for m in w.guild.members.values()}
        await link(w.app, w.alice.id, KEY_ALICE, "Alice.1234", verified=True)
        await link(w.app, members["Bob"].id, KEY_BOB, "Bob.5678", verified=False)
        await services(w.app).guild_settings.set_ownership_policy(w.guild.id, "required")
        message = await w.compose(roster="voice", mode="zerg")
    text = embed_text(message)
    assert "unverified keys were not used: Bob" in text
    assert "Bob.5678" not in text
    slots = "\n".join(e.get("description", "") for e in message.embeds[1:])
    assert "flexible slots): Bob, Carol." in text  # Bob plays as if he had no key
    assert "· Bob" not in slots
    assert any(line.endswith("· Alice") for line in slots.splitlines())


# --------------------------------------------------------------------------- the DM flow


async def test_a_key_pasted_without_a_pending_code_asks_for_one_in_a_required_server(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        strict = world.discord.add_guild(name="Strict Keep")
        world.discord.add_member(strict, world.alice.user)
        await world.discord.join_guild(strict)
        await services(world.app).guild_settings.set_ownership_policy(strict.id, "required")
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", token_name="my key")
        asked = await paste_in_dm(world, world.alice.user, key)  # as after a restart
        stored_before = await services(world.app).keys.active(world.alice.user.id)
        code = ownership_code_in(asked)
        right_key = make_gw2_key()
        world.gw2.add_key(right_key, account_name="Alice.1234", token_name=f"bot {code}")
        linked = await paste_in_dm(world, world.alice.user, right_key)
        stored = await services(world.app).keys.active(world.alice.user.id)
        bob = world.discord.add_user("Bob")  # in no server that requires ownership
        bob_key = make_gw2_key()
        world.gw2.add_key(bob_key, account_name="Bob.5678", token_name="no code")
        await paste_in_dm(world, bob, bob_key)
        bob_stored = await services(world.app).keys.active(bob.id)
    assert "requires proof that a linked key is yours" in asked.content
    assert "did not store this key" in asked.content
    assert stored_before is None
    assert linked.embed is not None
    assert linked.embed["title"] == "API key linked"
    assert stored is not None
    assert stored.ownership_verified
    assert bob_stored is not None
    assert not bob_stored.ownership_verified


async def test_the_paste_button_after_a_restart_shows_a_code_first_in_a_required_server(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        world.discord.close_dms(world.alice.user)
        handle = await world.discord.slash(world.alice, "key add")
        reply = await handle.wait_final_message()
        await services(world.app).guild_settings.set_ownership_policy(world.guild.id, "required")
        assert world.app.bot is not None
        world.app.bot.get_cog("KeyLinking")._pending.clear()  # type: ignore[union-attr]  # restart
        click = await world.discord.click(world.alice, reply, "gw2opt:key:paste")
        shown = await click.wait_final_message()
        code = ownership_code_in(shown)
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", token_name=code)
        again = await world.discord.click(world.alice, shown, "gw2opt:key:paste")
        await again.wait_modal()
        submitted = await world.discord.submit_modal(world.alice, again, {"key": key})
        answer = await submitted.wait_final_message()
        stored = await services(world.app).keys.active(world.alice.user.id)
    assert click.modal is None
    assert shown.ephemeral
    assert "requires proof" in shown.content
    assert answer.embed is not None
    assert answer.embed["title"] == "API key linked"
    assert stored is not None
    assert stored.ownership_verified


# --------------------------------------------------------------------------- verified roles


async def test_verified_roles_ignore_an_unverified_key_where_ownership_is_required(
    tmp_path: Path,
) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "wvw_guild", VIGIL)
        await services(world.app).guild_settings.set_ownership_policy(world.guild.id, "required")
        key = make_gw2_key()
        world.gw2.add_key(
            key, permissions=["account", "wvw"], account_name="Alice.1234", wvw_guild=VIGIL
        )
        await link(world.app, world.alice.id, key, "Alice.1234", verified=False)
        # What linking dispatches (gw2_key_changed): sync Alice in every server with rules.
        required = await world.cog.runner.key_changed(world.alice.id)
        roles_when_required = set(world.alice_roles())
        await services(world.app).guild_settings.set_ownership_policy(world.guild.id, "optional")
        world.clock.advance(3600)
        await world.cog.runner.key_changed(world.alice.id)
        await world.wait_alice_has(world.vigil_role)
    assert world.vigil_role.id not in roles_when_required
    assert required.added == 0


class _StubHTTP:
    def __init__(self, members: set[tuple[int, int]]) -> None:
        self.members = members
        self.asked: list[int] = []

    async def get_member(self, guild_id: int, user_id: int) -> dict[str, Any]:
        self.asked.append(guild_id)
        if (guild_id, user_id) not in self.members:
            raise _not_found()
        return {"user": {"id": str(user_id)}}


def _not_found() -> Exception:
    class _Response:
        status = 404
        reason = "Not Found"

    return discord.NotFound(_Response(), {"code": 10007, "message": "Unknown Member"})  # type: ignore[arg-type]


def _stub_bot(required: list[int], members: set[tuple[int, int]]) -> Any:
    async def requiring_ownership() -> list[int]:
        return required

    return SimpleNamespace(
        services=SimpleNamespace(
            guild_settings=SimpleNamespace(requiring_ownership=requiring_ownership)
        ),
        get_guild=lambda _guild_id: None,  # another shard's server: not in this process
        http=_StubHTTP(members),
    )


async def test_membership_is_asked_by_rest_and_bounded() -> None:
    member = _stub_bot([1, 2, 3], {(3, 42)})
    stranger = _stub_bot([1, 2, 3], set())
    crowded = _stub_bot(list(range(1, 50)), set())
    assert await member_of_required_guild(member, 42)
    assert not await member_of_required_guild(stranger, 42)
    assert stranger.http.asked == [1, 2, 3]
    # Too many strict servers to ask about: ask for the code rather than trust the key.
    assert await member_of_required_guild(crowded, 42, probes=10)
    assert crowded.http.asked == []
