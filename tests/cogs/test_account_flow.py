"""Linking a GW2 API key end to end: /key add, the DM, the checklist, the modal fallback, /key *."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from bot.app import Application
from cogs.key_revalidation import KeyRevalidation
from services.keys import REQUIRED_PERMISSIONS
from tests.bot.test_redaction import make_gw2_key
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeMember, FakeMessage, FakeUser
from tests.fakes.gw2_api import FakeGW2API, Fault
from tests.harness import running_bot

EXTENSIONS = (
    "cogs.about",
    "cogs.account",
    "cogs.keys",
    "cogs.leak_guard",
    "cogs.key_revalidation",
)
ALL_PERMISSIONS = (*REQUIRED_PERMISSIONS, "progression")


@dataclass
class World:
    discord: FakeDiscord
    gw2: FakeGW2API
    guild: FakeGuild
    alice: FakeMember
    app: Application

    @property
    def revalidation(self) -> KeyRevalidation:
        assert self.app.bot is not None
        cog = self.app.bot.get_cog("KeyRevalidation")
        # load_extension executes the module afresh, so compare by name, not isinstance.
        assert type(cog).__name__ == "KeyRevalidation"
        return cast(KeyRevalidation, cog)

    def metric(self, name: str, **labels: str) -> float:
        value = self.app.registry.get_sample_value(name, labels)
        return value or 0.0


@asynccontextmanager
async def account_world(tmp_path: Path, **settings: Any) -> AsyncIterator[World]:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(
            discord_fake, tmp_path, gw2=gw2_fake, extensions=EXTENSIONS, **settings
        ) as app:
            yield World(discord_fake, gw2_fake, guild, alice, app)
        assert discord_fake.errors == []


async def start_link(world: World, who: FakeMember | FakeUser | None = None) -> str:
    """Run /key add and return the ownership code from the instructions DM."""
    who = who or world.alice
    user = who.user if isinstance(who, FakeMember) else who
    before = len(world.discord.sent_dms(user))
    handle = await world.discord.slash(who, "key add")
    reply = await handle.wait_final_message()
    assert handle.ephemeral
    assert "DM" in reply.content
    dms = world.discord.sent_dms(user)
    assert len(dms) == before + 1
    return ownership_code_in(dms[-1])


def ownership_code_in(message: FakeMessage) -> str:
    embed = message.embed
    assert embed is not None
    field = next(f for f in embed["fields"] if f["name"].startswith("Ownership code: "))
    return str(field["name"].removeprefix("Ownership code: "))


async def paste_in_dm(world: World, user: FakeUser, text: str) -> FakeMessage:
    """The user pastes ``text`` in their DM with the bot; returns the bot's answer."""
    before = len(world.discord.sent_dms(user))
    await world.discord.send_user_message(user, text)
    await world.discord.wait_until(
        lambda: len(world.discord.sent_dms(user)) > before, "the bot to answer in the DM"
    )
    return world.discord.sent_dms(user)[-1]


def checks_of(message: FakeMessage) -> str:
    assert message.embed is not None
    return str(next(f["value"] for f in message.embed["fields"] if f["name"] == "Checks"))


def make_subtoken() -> str:
    def segment(payload: dict[str, Any]) -> str:
        raw = json.dumps(payload).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return (
        f"{segment({'alg': 'RS256', 'typ': 'JWT'})}."
        f"{segment({'sub': 'abc', 'exp': 1900000000, 'permissions': ['account']})}."
        "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
    )


# ---------------------------------------------------------------------------------------------


async def test_key_add_dms_the_steps_and_a_pasted_key_is_linked_as_verified_owner(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        code = await start_link(world)
        key = make_gw2_key()
        world.gw2.add_key(
            key,
            permissions=ALL_PERMISSIONS,
            account_name="Alice.1234",
            team_id=11005,
            token_name=f"discord bot {code}",
        )
        instructions = world.discord.sent_dms(world.alice.user)[0]
        answer = await paste_in_dm(world, world.alice.user, key)
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
        linked_count = world.metric("gw2opt_key_link_attempts_total", outcome="linked")

    instructions_text = instructions.all_text()
    for permission in ALL_PERMISSIONS:
        assert f"`{permission}`" in instructions_text
    assert "account.arena.net/applications" in instructions_text
    assert answer.embed is not None
    assert answer.embed["title"] == "API key linked"
    checks = checks_of(answer)
    assert "✅ Format: API key" in checks
    assert checks.count("✅ `") == 5
    assert "✅ Ownership: verified owner" in checks
    text = answer.all_text()
    assert "Alice.1234" in text
    assert "Tombs of Drascir" in text
    assert key not in text
    assert stored is not None
    assert stored.account_name == "Alice.1234"
    assert stored.ownership_verified
    assert stored.masked == key[:8] + "…"
    assert linked_count == 1


async def test_a_key_pasted_without_key_add_is_linked_without_ownership(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", token_name="my key")
        answer = await paste_in_dm(world, world.alice.user, f"here it is: {key}")
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
    checks = checks_of(answer)
    assert "➖ Ownership: no code in the key's name (optional here)" in checks
    assert "➖ `progression`" in checks
    assert stored is not None
    assert not stored.ownership_verified


@pytest.mark.parametrize("missing", REQUIRED_PERMISSIONS[1:])
async def test_a_key_missing_a_required_permission_is_refused_with_how_to_fix(
    tmp_path: Path, missing: str
) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        key = make_gw2_key()
        world.gw2.add_key(key, permissions=[p for p in REQUIRED_PERMISSIONS if p != missing])
        answer = await paste_in_dm(world, world.alice.user, key)
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
        refused = world.metric("gw2opt_key_link_attempts_total", outcome="missing_permissions")
    assert stored is None
    assert answer.embed is not None
    assert answer.embed["title"] == "API key not linked"
    assert f"❌ `{missing}`" in checks_of(answer)
    description = answer.embed["description"]
    assert f"This key is missing `{missing}`" in description
    assert "create a new key" in description
    assert refused == 1


async def test_an_invalid_key_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        answer = await paste_in_dm(world, world.alice.user, make_gw2_key())
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
        invalid = world.metric("gw2opt_key_link_attempts_total", outcome="invalid_key")
    assert "ArenaNet doesn't accept this key" in answer.content
    assert stored is None
    assert invalid == 1


async def test_text_that_is_not_a_key_gets_the_format_help(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        answer = await paste_in_dm(world, world.alice.user, "ABCD-1234-not-a-key")
        idle = await paste_in_dm(world, world.discord.add_user("Bob"), "hello bot")
    assert "doesn't look like a GW2 API key" in answer.content
    assert "/key add" in idle.content


async def test_required_ownership_refuses_a_key_without_the_code_or_with_another(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        await world.app.bot.services.guild_settings.set_ownership_policy(  # type: ignore[union-attr]
            world.guild.id, "required"
        )
        code = await start_link(world)
        plain_key, wrong_key, right_key = make_gw2_key(), make_gw2_key(), make_gw2_key()
        world.gw2.add_key(plain_key, token_name="no code here")
        world.gw2.add_key(wrong_key, token_name="GW2OPT-ZZZZ")
        world.gw2.add_key(right_key, token_name=code.lower())
        absent = await paste_in_dm(world, world.alice.user, plain_key)
        mismatch = await paste_in_dm(world, world.alice.user, wrong_key)
        linked = await paste_in_dm(world, world.alice.user, right_key)
        failed = world.metric("gw2opt_key_link_attempts_total", outcome="ownership_failed")
    assert "❌ Ownership: no code in the key's name (required here)" in checks_of(absent)
    assert code in absent.embed["description"]  # type: ignore[index]
    assert "❌ Ownership: a different code" in checks_of(mismatch)
    assert "✅ Ownership: verified owner" in checks_of(linked)
    assert failed == 2


async def test_a_subtoken_is_accepted(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        token = make_subtoken()
        world.gw2.add_key(token, account_name="Sub.4321")
        answer = await paste_in_dm(world, world.alice.user, token)
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
    assert answer.embed is not None
    assert answer.embed["title"] == "Subtoken linked"
    assert "✅ Format: subtoken" in checks_of(answer)
    assert stored is not None
    assert stored.account_name == "Sub.4321"


async def test_when_the_api_is_down_the_key_is_not_stored_and_the_user_is_told(
    tmp_path: Path,
) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        key = make_gw2_key()
        world.gw2.add_key(key)
        world.gw2.script("/v2/tokeninfo", Fault(status=502, text="ErrTimeout", times=None))
        answer = await paste_in_dm(world, world.alice.user, key)
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
        api_errors = world.metric("gw2opt_key_link_attempts_total", outcome="api_error")
    assert "GW2 API isn't answering" in answer.content
    assert stored is None
    assert api_errors == 1


async def test_attempts_are_limited_per_user(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        await start_link(world)
        answers = [await paste_in_dm(world, world.alice.user, make_gw2_key()) for _ in range(6)]
        limited = world.metric("gw2opt_key_link_attempts_total", outcome="rate_limited")
        calls = world.gw2.count("/v2/tokeninfo")
    assert all("doesn't accept" in a.content for a in answers[:5])
    assert answers[5].content.startswith("Too many key attempts. Try again in ")
    assert limited == 1
    assert calls == 5


async def test_closed_dms_offer_a_modal_that_links_the_key(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        world.discord.close_dms(world.alice.user)
        handle = await world.discord.slash(world.alice, "key add")
        reply = await handle.wait_final_message()
        code = ownership_code_in(reply)
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234", token_name=code)
        click = await world.discord.click(world.alice, reply, "gw2opt:key:paste")
        modal = await click.wait_modal()
        submitted = await world.discord.submit_modal(world.alice, click, {"key": key})
        answer = await submitted.wait_final_message()
        stored = await world.app.bot.services.keys.active(world.alice.user.id)  # type: ignore[union-attr]
    assert handle.ephemeral
    assert "DMs are closed" in reply.content
    assert "Privacy Settings" in reply.content
    assert modal["title"] == "Link your GW2 API key"
    assert submitted.ephemeral
    assert answer.embed is not None
    assert answer.embed["title"] == "API key linked"
    assert stored is not None
    assert stored.ownership_verified
    assert world.discord.sent_dms(world.alice.user) == []


async def test_key_info_switch_and_remove_manage_several_accounts(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        discord_fake, alice = world.discord, world.alice
        main_key, alt_key = make_gw2_key(), make_gw2_key()
        world.gw2.add_key(main_key, account_name="Main.1111")
        world.gw2.add_key(alt_key, account_name="Alt.2222", token_name="<@123> **bold**")
        await paste_in_dm(world, alice.user, main_key)
        await paste_in_dm(world, alice.user, alt_key)

        info = await (await discord_fake.slash(alice, "key info")).wait_final_message()
        choices = await (
            await discord_fake.autocomplete(alice, "key switch", {"account": "mai"})
        ).wait_choices()
        switched = await (
            await discord_fake.slash(alice, "key switch", {"account": "main.1111"})
        ).wait_final_message()
        unknown = await (
            await discord_fake.slash(alice, "key switch", {"account": "Nobody.1"})
        ).wait_final_message()
        active = await world.app.bot.services.keys.active(alice.user.id)  # type: ignore[union-attr]
        removed = await (await discord_fake.slash(alice, "key remove")).wait_final_message()
        left = await world.app.bot.services.keys.list_for_user(alice.user.id)  # type: ignore[union-attr]
        forgot = await (
            await discord_fake.slash(alice, "key remove", {"all": True})
        ).wait_final_message()
        none_left = await world.app.bot.services.keys.list_for_user(alice.user.id)  # type: ignore[union-attr]
        after = await (await discord_fake.slash(alice, "key info")).wait_final_message()

    assert info.embed is not None
    fields = {f["name"]: f["value"] for f in info.embed["fields"]}
    assert set(fields) == {"Alt.2222 (active)", "Main.1111"}
    assert f"`{alt_key[:8]}…`" in fields["Alt.2222 (active)"]
    assert "<@123>" not in fields["Alt.2222 (active)"]  # user text is escaped
    assert "\\*\\*bold" in fields["Alt.2222 (active)"]
    assert "`account`" in fields["Main.1111"]
    assert "last validated <t:" in fields["Main.1111"]
    assert main_key not in info.all_text()
    assert alt_key not in info.all_text()
    assert choices == [{"name": "Main.1111", "value": "Main.1111"}]
    assert "Now using **Main.1111**" in switched.content
    assert "no linked account called" in unknown.content
    assert active is not None
    assert active.account_name == "Main.1111"
    assert "Removed the key of **Main.1111**" in removed.content
    assert "now uses **Alt.2222**" in removed.content
    assert [k.account_name for k in left] == ["Alt.2222"]
    assert "I forgot you" in forgot.content
    assert none_left == []
    assert after.content == "You haven't linked a GW2 API key yet: link one with /key add."


async def test_link_switch_and_remove_dispatch_gw2_key_changed(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        discord_fake, alice = world.discord, world.alice
        bot = world.app.bot
        assert bot is not None
        changed: list[int] = []

        async def on_gw2_key_changed(user_id: int) -> None:
            changed.append(user_id)

        bot.add_listener(on_gw2_key_changed)
        main_key, alt_key = make_gw2_key(), make_gw2_key()
        world.gw2.add_key(main_key, account_name="Main.1111")
        world.gw2.add_key(alt_key, account_name="Alt.2222")
        await paste_in_dm(world, alice.user, main_key)
        await paste_in_dm(world, alice.user, alt_key)
        await discord_fake.wait_until(lambda: len(changed) >= 2 or None, "two link events")
        await (
            await discord_fake.slash(alice, "key switch", {"account": "Main.1111"})
        ).wait_final_message()
        await discord_fake.wait_until(lambda: len(changed) >= 3 or None, "a switch event")
        await (await discord_fake.slash(alice, "key remove")).wait_final_message()
        await discord_fake.wait_until(lambda: len(changed) >= 4 or None, "a removal event")
        await (await discord_fake.slash(alice, "key remove", {"all": True})).wait_final_message()
        await discord_fake.wait_until(lambda: len(changed) >= 5 or None, "a forget-all event")
        unknown = await discord_fake.slash(alice, "key switch", {"account": "Nobody.1"})
        await unknown.wait_final_message()
    assert changed == [alice.user.id] * 5  # the failed switch dispatched nothing


async def test_removing_a_key_drops_every_cached_answer_fetched_with_it(tmp_path: Path) -> None:
    from services.gw2 import key_id
    from tests.fakes.gw2_api import FakeCharacter

    async with account_world(tmp_path) as world:
        key = make_gw2_key()
        world.gw2.add_key(
            key,
            account_name="Alice.1234",
            characters=[FakeCharacter("Zojja Prime", "Guardian", [62])],
        )
        await paste_in_dm(world, world.alice.user, key)
        await (await world.discord.slash(world.alice, "characters")).wait_final_message()
        cache = world.app.bot.services.gw2.cache  # type: ignore[union-attr]
        kid = key_id(key)
        before = [k for k in cache._entries if k[2] == kid]
        await (await world.discord.slash(world.alice, "key remove")).wait_final_message()
        after = [k for k in cache._entries if k[2] == kid]
    # tokeninfo, account and the characters (one bulk request with build tabs) at least
    assert {"/v2/tokeninfo", "/v2/account", "/v2/characters"} <= {k[0] for k in before}
    assert len(before) >= 3
    assert after == []


class _RawRecords(logging.Handler):
    """Keeps every record's text as it was emitted, before any redaction filter rewrites it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.getMessage()} {record.exc_text or ''}"
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + logging.Formatter().formatException(record.exc_info)
        self.lines.append((record.name, text))


async def test_the_key_never_reaches_logs_sentry_messages_or_the_database_file(
    tmp_path: Path,
) -> None:
    import io

    import sentry_sdk

    from bot.config import LogFormat
    from bot.logging import setup_logging
    from bot.sentry import init_sentry
    from services.secrets import SecretRedactor
    from tests.bot.test_sentry import RecordingTransport

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_factory = logging.getLogRecordFactory()
    # The production pipeline (redacting handler) at DEBUG, plus the raw records before it.
    output = io.StringIO()
    handler = setup_logging("DEBUG", LogFormat.TEXT, SecretRedactor())
    handler.setStream(output)  # type: ignore[attr-defined]
    raw = _RawRecords()
    root.handlers.insert(0, raw)
    transport = RecordingTransport()
    init_sentry(
        "https://public@o0.ingest.sentry.io/1",
        redactor=SecretRedactor(),
        release="t",
        environment="test",
        transport=transport,
    )
    key, bad_key, leaked = make_gw2_key(), make_gw2_key(), make_gw2_key()
    try:
        async with account_world(tmp_path) as world:
            discord_fake, alice = world.discord, world.alice
            code = await start_link(world)
            world.gw2.add_key(key, account_name="Alice.1234", token_name=code)
            await paste_in_dm(world, alice.user, bad_key)
            await paste_in_dm(world, alice.user, key)
            leak = await discord_fake.send_user_message(
                alice, f"oops {leaked}", channel=world.guild.default_channel
            )
            await discord_fake.wait_until(lambda: leak.deleted, "the leaked key's deletion")
            for command in ("key info", "account", "characters"):
                await (await discord_fake.slash(alice, command)).wait_final_message()
            world.gw2.remove_key(key)
            await world.revalidation.revalidate_all()
            await (await discord_fake.slash(alice, "account")).wait_final_message()
            sentry_sdk.capture_message("end of the key flow")
            db = world.app.bot.services.db  # type: ignore[union-attr]
            await db.connection.execute("PRAGMA wal_checkpoint(FULL)")
            everything_sent = "\n".join(
                m.all_text() for m in discord_fake.messages.values() if m.author is not alice.user
            )
            assert "Alice.1234" in everything_sent
            requests = "\n".join(str(r.json) for r in discord_fake.requests)
        sentry_sdk.flush()
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.setLogRecordFactory(saved_factory)
    database = b"".join(p.read_bytes() for p in tmp_path.glob("bot.sqlite3*"))
    ours = "\n".join(
        text for name, text in raw.lines if name.split(".")[0] in {"bot", "cogs", "services"}
    )
    assert "Key revalidation: 1 checked" in ours  # the capture did see our records
    assert "end of the key flow" in transport.serialized()
    assert "WebSocket Event" in output.getvalue()  # discord.py's DEBUG payload lines were there
    for secret in (key, bad_key, leaked):
        assert secret not in ours
        assert secret not in output.getvalue()
        assert secret not in transport.serialized()
        assert secret not in everything_sent
        assert secret not in requests
        assert secret.encode() not in database
        assert secret[9:40].encode() not in database
