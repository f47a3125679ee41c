"""/compose end to end: the real bot against the fake Discord, the fake GW2 API and fake Mistral."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import Application
from bot.config import MistralSettings
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeMember, FakeMessage
from tests.fakes.discord_payloads import FakeChannel
from tests.fakes.gw2_api import FakeCharacter, FakeGW2API, FakeKey
from tests.fakes.mistral import FakeMistral, MistralReply
from tests.harness import make_settings, running_bot

EXTENSIONS = ("cogs.about", "cogs.compose")
KEY_ALICE = "A11CE000-0000-0000-0000-000000000000A11CE000-0000-0000-0000-000000000001"
KEY_BOB = "B0B00000-0000-0000-0000-000000000000B0B00000-0000-0000-0000-000000000002"
MISTRAL_KEY = "mistral-test-key-0123456789"


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    guild: FakeGuild
    alice: FakeMember
    app: Application
    mistral: FakeMistral | None = None

    @property
    def compose_cog(self) -> Any:
        # load_extension imports the module afresh, so compare by name, not isinstance.
        assert self.app.bot is not None
        cog = self.app.bot.get_cog("Compose")
        assert type(cog).__name__ == "Compose"
        return cog

    @property
    def channel(self) -> FakeChannel:
        assert self.guild.default_channel is not None
        return self.guild.default_channel

    async def compose(self, who: FakeMember | None = None, **options: Any) -> FakeMessage:
        handle = await self.discord.slash(who or self.alice, "compose", options)
        message = await handle.wait_final_message()
        assert handle.callbacks[0]["type"] == 5, "the command must defer first"
        assert handle.ephemeral
        return message

    async def link(self, member: FakeMember, key: FakeKey) -> None:
        assert self.app.bot is not None
        await self.app.bot.services.keys.link(
            user_id=member.id,
            key=key.key,
            account_id=key.account_id,
            account_name=key.account_name,
            key_name=key.token_name,
            key_type="APIKey",
            permissions=key.permissions,
            ownership_verified=True,
            now=datetime.now(UTC),
        )


@asynccontextmanager
async def world(
    tmp_path: Path,
    *,
    mistral: FakeMistral | None = None,
    mistral_timeout: float = 2.0,
    voice: bool = False,
) -> AsyncIterator[World]:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        settings = make_settings(discord_fake, tmp_path, gw2=gw2_fake)
        if mistral is not None:
            settings.mistral = MistralSettings(
                api_key=MISTRAL_KEY, server_url=mistral.url, timeout_seconds=mistral_timeout
            )
        if voice:
            _voice_setup(discord_fake, gw2_fake, guild, alice)
        async with running_bot(
            discord_fake, tmp_path, gw2=gw2_fake, settings=settings, extensions=EXTENSIONS
        ) as app:
            yield World(discord_fake, gw2_fake, guild, alice, app, mistral)


def _voice_setup(
    discord_fake: FakeDiscord, gw2_fake: FakeGW2API, guild: FakeGuild, alice: FakeMember
) -> None:
    bob = discord_fake.add_member(guild, discord_fake.add_user("Bob"))
    carol = discord_fake.add_member(guild, discord_fake.add_user("Carol"))
    outsider = discord_fake.add_member(guild, discord_fake.add_user("Dave"))
    raid = discord_fake.add_voice_channel(guild, "Raid")
    lobby = discord_fake.add_voice_channel(guild, "Lobby")
    for member in (alice, bob, carol):
        discord_fake.set_voice_channel(guild, member, raid)
    discord_fake.set_voice_channel(guild, outsider, lobby)
    gw2_fake.add_key(
        KEY_ALICE,
        account_name="Alice.1234",
        characters=[
            FakeCharacter("Alice Light", "Guardian", [62]),
            FakeCharacter("Alice Cog", "Engineer", [43]),
        ],
    )
    gw2_fake.add_key(
        KEY_BOB,
        account_name="Bob.5678",
        characters=[FakeCharacter("Bob Rot", "Necromancer", [60])],
    )


def embed_text(message: FakeMessage) -> str:
    return json.dumps(message.embeds, ensure_ascii=False)


def reroll_id(message: FakeMessage) -> str:
    return next(c for c in message.custom_ids() if c.startswith("compose:reroll:"))


def subgroup_titles(message: FakeMessage) -> list[str]:
    return [e.get("title", "") for e in message.embeds if e.get("title", "").startswith("Subgroup")]


# --------------------------------------------------------------------------------- free plans


async def test_free_fifteen_zerg_answers_privately_with_three_subgroups(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=15, mode="zerg")
        metrics = w.app.registry.get_sample_value(
            "gw2opt_composer_ai_fallbacks_total", {"reason": "no_key"}
        )
    assert message.ephemeral
    assert message.embeds[0]["title"] == "Squad plan · Zerg · 15 players"
    assert len(subgroup_titles(message)) == 3
    assert all(t.endswith("all covered") for t in subgroup_titles(message))
    assert "AI unavailable: no Mistral API key configured" in message.embeds[0]["footer"]["text"]
    assert set(message.custom_ids()) == {"compose:reroll:15:zerg:0:f:0", "compose:post"}
    assert metrics == 1


async def test_reroll_shows_the_next_best_different_plan(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=10, mode="havoc")
        first = [e.get("description") for e in message.embeds[1:]]
        click = await w.discord.click(w.alice, message, reroll_id(message))
        await click.wait_edit()
        second = [e.get("description") for e in message.embeds[1:]]
        assert click.callbacks[0]["type"] == 6
        assert second != first
        assert message.embeds[0]["title"].endswith("alternative 2")
        assert reroll_id(message) == "compose:reroll:10:havoc:0:f:1"
        again = await w.discord.click(w.alice, message, reroll_id(message))
        await again.wait_edit()
        third = [e.get("description") for e in message.embeds[1:]]
    assert third not in (first, second)


async def test_reroll_of_a_free_plan_survives_a_restart(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=5, mode="zerg")
        click = await w.discord.click(w.alice, message, reroll_id(message))
        await click.wait_edit()
        second = [e.get("description") for e in message.embeds[1:]]
        w.compose_cog.sessions.clear()  # what a restart loses
        restored = await w.discord.click(w.alice, message, reroll_id(message))
        await restored.wait_edit()
        third = [e.get("description") for e in message.embeds[1:]]
    assert message.embeds[0]["title"].endswith("alternative 3")
    assert third != second


async def test_reroll_of_a_typed_roster_after_a_restart_says_to_run_again(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(roster="Ann: firebrand, herald; Bob: scrapper, scourge")
        w.compose_cog.sessions.clear()
        click = await w.discord.click(w.alice, message, reroll_id(message))
        (notice,) = await click.wait_followups()
    assert notice.ephemeral
    assert notice.content == "This plan expired (the bot restarted). Run /compose again."


async def test_reroll_says_so_when_no_other_plan_exists(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(roster="Ann: dragonhunter", mode="roaming")
        click = await w.discord.click(w.alice, message, reroll_id(message))
        (notice,) = await click.wait_followups()
    assert "No other distinct plan" in notice.content
    assert notice.ephemeral


# --------------------------------------------------------------------------------- posting


async def test_post_to_channel_shares_the_plan_publicly(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=5)
        click = await w.discord.click(w.alice, message, "compose:post")
        answer = await click.wait_final_message()
        posted = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert answer.ephemeral
    assert answer.content.startswith("Posted the plan for everyone:")
    (public,) = posted
    assert not public.ephemeral
    assert public.embeds == message.embeds
    assert public.components == []
    assert public.content == f"Squad plan shared by <@{w.alice.id}>"


async def test_post_without_send_permission_explains_what_is_missing(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=5)
        w.discord.deny_bot_permission(w.channel, "send_messages")
        click = await w.discord.click(w.alice, message, "compose:post")
        answer = await click.wait_final_message()
        posted = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert posted == []
    assert answer.ephemeral
    assert "I need the Send Messages permission" in answer.content


# --------------------------------------------------------------------------------- rosters


async def test_voice_roster_uses_linked_characters_and_flexible_slots(tmp_path: Path) -> None:
    async with world(tmp_path, voice=True) as w:
        members = {m.user.name: m for m in w.guild.members.values()}
        await w.link(w.alice, w.gw2.keys[KEY_ALICE])
        await w.link(members["Bob"], w.gw2.keys[KEY_BOB])
        message = await w.compose(roster="voice", mode="zerg")
    text = embed_text(message)
    assert message.embeds[0]["title"] == "Squad plan · Zerg · 3 players"
    assert "No linked GW2 account (flexible slot): Carol." in text
    assert "Dave" not in text
    assert KEY_ALICE not in text
    slots = "\n".join(e.get("description", "") for e in message.embeds[1:])
    alice_line = next(line for line in slots.splitlines() if line.endswith("· Alice"))
    bob_line = next(line for line in slots.splitlines() if line.endswith("· Bob"))
    assert any(spec in alice_line for spec in ("Firebrand", "Guardian", "Scrapper", "Engineer"))
    assert any(spec in bob_line for spec in ("Scourge", "Necromancer"))
    assert "*open slot*" in slots
    assert message.custom_ids()[0].endswith(":v:0")


async def test_voice_roster_needs_the_caller_in_voice(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(w.alice, "compose", {"roster": "voice"})
        message = await handle.wait_final_message()
    assert message.ephemeral
    assert message.content.startswith("Join a voice channel first")


async def test_typed_roster_with_an_unknown_spec_gets_a_friendly_error(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        handle = await w.discord.slash(
            w.alice, "compose", {"roster": "Ann: firebrnd, herald; Bob: scrapper"}
        )
        message = await handle.wait_final_message()
    assert message.ephemeral
    assert message.content == "Unknown spec “firebrnd” for Ann. Did you mean Firebrand?"
    assert not message.embeds


async def test_typed_roster_places_everyone_and_names_flexible_slots(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(roster="Ann: firebrand; Bob: scrapper; Cid: herald; Dee; Eve")
    text = embed_text(message)
    assert message.embeds[0]["title"] == "Squad plan · Zerg · 5 players"
    assert "Flexible slots: Dee, Eve." in text
    for name in ("Ann", "Bob", "Cid"):
        assert f"· {name}" in text


async def test_team_option_adds_the_live_match(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=5, team="11001")
    assert "Live match: " in message.embeds[0]["description"]
    assert message.custom_ids()[0] == "compose:reroll:5:zerg:11001:f:0"


# --------------------------------------------------------------------------------- Mistral


async def test_mistral_briefing_is_shown_and_no_names_or_ids_are_sent(tmp_path: Path) -> None:
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json({"briefing": "Hold the hills, stab on push."}))
        async with world(tmp_path, mistral=fake) as w:
            message = await w.compose(roster="Annabel: firebrand; Bobbington: scrapper", size=5)
    assert message.embeds[0]["description"].startswith("🤖 Hold the hills, stab on push.")
    assert fake.count == 1
    sent = json.dumps(fake.requests)
    for secret in ("Annabel", "Bobbington", str(w.alice.id), MISTRAL_KEY):
        assert secret not in sent


async def test_mistral_server_error_falls_back_to_the_optimizer_plan(tmp_path: Path) -> None:
    async with FakeMistral() as fake:
        fake.script(MistralReply.error(500))
        async with world(tmp_path, mistral=fake) as w:
            message = await w.compose(size=15)
            fallbacks = w.app.registry.get_sample_value(
                "gw2opt_composer_ai_fallbacks_total", {"reason": "server_error"}
            )
    assert message.embeds[0]["description"] == "⚠️ AI unavailable: Mistral had a server error"
    assert len(subgroup_titles(message)) == 3
    assert fallbacks == 1


async def test_a_hanging_mistral_does_not_hold_the_answer(tmp_path: Path) -> None:
    async with FakeMistral() as fake:
        fake.script(MistralReply.slow(60))
        async with world(tmp_path, mistral=fake, mistral_timeout=0.5) as w:
            started = time.monotonic()
            message = await w.compose(size=15)
            elapsed = time.monotonic() - started
    assert elapsed < 4.0
    assert message.embeds[0]["description"] == "⚠️ AI unavailable: Mistral did not answer in time"
    assert len(subgroup_titles(message)) == 3


async def test_bad_json_from_mistral_falls_back_with_a_note(tmp_path: Path) -> None:
    async with FakeMistral() as fake:
        fake.script(MistralReply.malformed())
        async with world(tmp_path, mistral=fake) as w:
            message = await w.compose(size=10)
    assert message.embeds[0]["description"] == "⚠️ AI unavailable: the answer was not valid JSON"
    assert len(subgroup_titles(message)) == 2


async def test_each_reroll_asks_mistral_at_most_once(tmp_path: Path) -> None:
    async with FakeMistral() as fake, world(tmp_path, mistral=fake) as w:
        message = await w.compose(size=10)
        click = await w.discord.click(w.alice, message, reroll_id(message))
        await click.wait_edit()
        await asyncio.sleep(0)
    assert fake.count == 2


async def test_roster_autocomplete_offers_none_voice_and_the_typed_list(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        empty = await w.discord.autocomplete(w.alice, "compose", {"roster": ""}, focused="roster")
        voice = await w.discord.autocomplete(w.alice, "compose", {"roster": "vo"}, focused="roster")
        typed = await w.discord.autocomplete(
            w.alice, "compose", {"roster": "Ann: herald"}, focused="roster"
        )
        empty_choices = await empty.wait_choices()
        voice_choices = await voice.wait_choices()
        typed_choices = await typed.wait_choices()
    assert [c["value"] for c in empty_choices] == ["none", "voice"]
    assert [c["value"] for c in voice_choices] == ["voice"]
    assert typed_choices == [{"name": "list: Ann: herald", "value": "Ann: herald"}]


async def test_an_ai_proposal_that_breaks_the_roster_is_rejected_in_one_line(
    tmp_path: Path,
) -> None:
    advice = {
        "briefing": "Keep the party tight.",
        "subgroup_notes": [{"subgroup": 1, "note": "Stay on tag."}],
        "proposals": [
            {"kind": "respec", "player": "Player 1", "spec": "virtuoso", "role": "backline_power"}
        ],
    }
    async with FakeMistral() as fake:
        fake.script(MistralReply.ok_json(advice))
        async with world(tmp_path, mistral=fake) as w:
            message = await w.compose(roster="Ann: firebrand; Bob: scrapper", size=5)
            rejected = w.app.registry.get_sample_value(
                "gw2opt_composer_ai_proposals_total", {"verdict": "rejected"}
            )
    fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
    (line,) = fields["AI proposals"].splitlines()
    assert line.startswith("❌ ")
    assert "→ Virtuoso (backline power) — rejected: " in line
    assert "cannot play Virtuoso" in line
    assert "🤖 Stay on tag." in message.embeds[1]["description"]
    assert rejected == 1
