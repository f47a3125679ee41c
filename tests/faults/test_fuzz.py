"""Property-based fuzzing through the fakes: command options, DM text and Mistral answers.

Whatever a user types or the model answers, the bot: answers without a traceback or an
unhandled-error log, sends nothing Discord would reject (the fake checks every body against
Discord's limits), and pings nobody it should not (allowed_mentions against the content).
One bot serves every example; ``max_examples`` is kept modest so the suite stays fast.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import Application
from bot.config import MistralSettings
from tests.bot.test_redaction import make_gw2_key
from tests.fakes.discord import FakeDiscord, FakeMember, RecordedRequest
from tests.fakes.gw2_api import FakeGW2API
from tests.fakes.mistral import FakeMistral, MistralReply
from tests.harness import make_settings, running_bot

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

FUZZ = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MENTION_RE = re.compile(r"<@[!&]?(\d+)>|@everyone|@here")

# Text a user or a model might produce, biased towards what breaks bots: mentions, Markdown,
# links, keys, very long and unusual characters.
nasty_fragments = st.sampled_from(
    [
        "@everyone",
        "@here",
        "<@&123456789012345678>",
        "<@123456789012345678>",
        "<#123456789012345678>",
        "[Free gems](https://evil.example/x)",
        "**bold**",
        "||spoiler||",
        "```",
        "# heading",
        "\u200b",
        "\u202e",
        "Rall’s Rest",
        "11001",
        "x" * 300,
    ]
)
user_text = st.lists(st.one_of(st.text(max_size=40), nasty_fragments), max_size=6).map("".join)


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class FuzzWorld:
    discord: FakeDiscord
    gw2: FakeGW2API
    mistral: FakeMistral
    app: Application
    alice: FakeMember
    admin: FakeMember
    logs: Collector


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz_world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FuzzWorld]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    logs = Collector()
    logging.getLogger().addHandler(logs)
    try:
        async with (
            FakeDiscord() as discord_fake,
            FakeGW2API() as gw2_fake,
            FakeMistral() as mistral_fake,
        ):
            guild = discord_fake.add_guild(name="Fuzz Keep")
            alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
            admin = discord_fake.add_member(
                guild, discord_fake.add_user("Admin"), permissions="manage_guild"
            )
            settings_ = make_settings(discord_fake, tmp_path, gw2=gw2_fake)
            settings_.mistral = MistralSettings(
                api_key="mistral-fuzz-key-0123456789", server_url=mistral_fake.url
            )
            async with running_bot(discord_fake, tmp_path, gw2=gw2_fake, settings=settings_) as app:
                yield FuzzWorld(discord_fake, gw2_fake, mistral_fake, app, alice, admin, logs)
    finally:
        logging.getLogger().removeHandler(logs)


def _check(world: FuzzWorld, since: int, invoker: int) -> None:
    """Everything the bot sent since request ``since``: accepted, within limits, no pings."""
    sent: list[RecordedRequest] = world.discord.requests[since:]
    rejected = [str(r) for r in sent if r.status == 400]
    assert rejected == [], f"Discord would reject: {rejected}"
    for request in sent:
        body = request.json if isinstance(request.json, dict) else {}
        body = body.get("data", body) if isinstance(body.get("data"), dict) else body
        _assert_no_ping(body, invoker)
    problems = [
        r.getMessage()
        for r in world.logs.records
        if r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]
    world.logs.records.clear()
    assert problems == [], problems
    assert world.discord.errors == []


def _assert_no_ping(body: dict[str, Any], invoker: int) -> None:
    content = body.get("content")
    if not isinstance(content, str):
        return
    allowed = body.get("allowed_mentions") or {"parse": ["users", "roles", "everyone"]}
    parse = set(allowed.get("parse") or [])
    for match in MENTION_RE.finditer(content):
        mention = match.group(0)
        if mention in ("@everyone", "@here"):
            assert "everyone" not in parse, f"pings {mention}: {content!r}"
        elif mention.startswith("<@&"):
            assert "roles" not in parse, f"pings a role: {content!r}"
            assert match.group(1) not in {str(r) for r in allowed.get("roles") or []}
        elif int(match.group(1)) != invoker:
            assert "users" not in parse, f"pings a user: {content!r}"
            assert match.group(1) not in {str(u) for u in allowed.get("users") or []}


async def _answer(handle: Any) -> None:
    await handle.wait_response(timeout=15)
    if handle.response_type == 5:  # deferred: wait for the follow-up or the edited original
        await handle.wait_final_message(timeout=15)


COMMANDS = st.one_of(
    st.tuples(st.just("wvw match"), st.fixed_dictionaries({"team": user_text})),
    st.tuples(st.just("wvw objectives"), st.fixed_dictionaries({"team": user_text})),
    st.tuples(st.just("settings team"), st.fixed_dictionaries({"team": user_text})),
    st.tuples(st.just("key switch"), st.fixed_dictionaries({"account": user_text})),
    st.tuples(
        st.just("compose"),
        st.fixed_dictionaries(
            {"size": st.integers(min_value=1, max_value=50)},
            optional={"roster": user_text, "team": user_text},
        ),
    ),
)


@FUZZ
@given(command=COMMANDS)
async def test_fuzzed_command_options(
    fuzz_world: FuzzWorld, command: tuple[str, dict[str, Any]]
) -> None:
    name, options = command
    # Discord never sends a blank string for an option: a user must type something.
    options = {k: v if not isinstance(v, str) or v.strip() else "a" for k, v in options.items()}
    since = len(fuzz_world.discord.requests)
    who = fuzz_world.admin if name.startswith("settings") else fuzz_world.alice
    handle = await fuzz_world.discord.slash(who, name, options)
    await _answer(handle)
    _check(fuzz_world, since, who.id)


@FUZZ
@given(text=st.one_of(user_text, st.builds(lambda k, t: t + k + t, st.just(""), user_text)))
async def test_fuzzed_direct_messages(fuzz_world: FuzzWorld, text: str) -> None:
    if not text.strip():
        return
    user = fuzz_world.alice.user
    before = len(fuzz_world.discord.sent_dms(user))
    since = len(fuzz_world.discord.requests)
    await fuzz_world.discord.send_user_message(user, text[:2000])
    await fuzz_world.discord.wait_until(
        lambda: len(fuzz_world.discord.sent_dms(user)) > before, "a DM answer", timeout=15
    )
    _check(fuzz_world, since, user.id)


@FUZZ
@given(
    briefing=user_text,
    note=user_text,
    reason=user_text,
    player=st.sampled_from(["Player 1", "Open slot 1", "<@&1>", "@everyone"]),
)
async def test_fuzzed_mistral_answers(
    fuzz_world: FuzzWorld, briefing: str, note: str, reason: str, player: str
) -> None:
    advice = {
        "briefing": briefing[:1200],
        "subgroup_notes": [{"subgroup": 1, "note": note[:400]}],
        "proposals": [
            {
                "kind": "respec",
                "player": player,
                "spec": "firebrand",
                "role": "x",
                "reason": reason[:300],
            }
        ],
    }
    fuzz_world.mistral.script(MistralReply.ok_json(advice))
    since = len(fuzz_world.discord.requests)
    handle = await fuzz_world.discord.slash(fuzz_world.alice, "compose", {"size": 10})
    message = await handle.wait_final_message(timeout=20)
    _check(fuzz_world, since, fuzz_world.alice.id)
    shown = json.dumps(message.embeds, ensure_ascii=False)
    for forbidden in ("http", "@everyone", "<@&", "<#", "||"):
        assert forbidden not in shown, forbidden


async def test_a_key_in_a_fuzzed_dm_is_never_echoed(fuzz_world: FuzzWorld) -> None:
    key = make_gw2_key()
    user = fuzz_world.alice.user
    before = len(fuzz_world.discord.sent_dms(user))
    await fuzz_world.discord.send_user_message(user, f"**{key}**")
    await fuzz_world.discord.wait_until(
        lambda: len(fuzz_world.discord.sent_dms(user)) > before, "a DM answer", timeout=15
    )
    assert key[:20] not in fuzz_world.discord.sent_dms(user)[-1].all_text()


forged_reroll_ids = st.builds(
    lambda size, mode, team, roster, alt: f"compose:reroll:{size}:{mode}:{team}:{roster}:{alt}",
    st.integers(min_value=0, max_value=99),
    st.one_of(
        st.sampled_from(["zerg", "havoc", "roaming", "defense"]),
        st.from_regex(r"[a-z_]{1,20}", fullmatch=True),
    ),
    st.integers(min_value=0, max_value=99_999_999),
    st.sampled_from("fvt"),
    st.integers(min_value=0, max_value=99),
)


@FUZZ
@given(custom_id=forged_reroll_ids, by_owner=st.booleans())
async def test_forged_compose_button_ids(
    fuzz_world: FuzzWorld, custom_id: str, by_owner: bool
) -> None:
    """A forged or stale ``compose:reroll`` id (any size, mode, team, alternative) is answered
    privately, never with an unhandled error; a non-owner is told the buttons are not theirs."""
    fuzz_world.mistral.script(MistralReply.ok_json({"briefing": "Hold the line."}))
    handle = await fuzz_world.discord.slash(fuzz_world.alice, "compose", {"size": 5})
    message = await handle.wait_final_message(timeout=20)
    for row in message.components:
        for component in row.get("components", []):
            if str(component.get("custom_id", "")).startswith("compose:reroll:"):
                component["custom_id"] = custom_id
    since = len(fuzz_world.discord.requests)
    who = fuzz_world.alice if by_owner else fuzz_world.admin
    click = await fuzz_world.discord.click(who, message, custom_id)
    await click.wait_response(timeout=15)
    if click.response_type in (5, 6):
        await fuzz_world.discord.wait_until(
            lambda: bool(click.followups or click.edits), "the reroll answer", timeout=20
        )
    _check(fuzz_world, since, who.id)
    if not by_owner:
        assert click.ephemeral
        assert click.original is not None
        assert "Only the person who ran /compose" in click.original.content


@FUZZ
@given(
    command=st.sampled_from(
        [
            ("wvw match", "team"),
            ("wvw objectives", "team"),
            ("settings team", "team"),
            ("compose", "team"),
            ("compose", "roster"),
            ("key switch", "account"),
        ]
    ),
    before=user_text,
    after=user_text,
)
async def test_a_key_in_any_command_option_is_refused_and_never_echoed(
    fuzz_world: FuzzWorld, command: tuple[str, str], before: str, after: str
) -> None:
    name, option = command
    key = make_gw2_key()
    since = len(fuzz_world.discord.requests)
    who = fuzz_world.admin if name.startswith("settings") else fuzz_world.alice
    handle = await fuzz_world.discord.slash(who, name, {option: (before + key + after)[:6000]})
    answer = await handle.wait_final_message(timeout=15)
    _check(fuzz_world, since, who.id)
    assert handle.ephemeral
    assert "looks like a GW2 API key" in answer.content
    sent = json.dumps([r.json for r in fuzz_world.discord.requests[since:]], ensure_ascii=False)
    assert key[:20] not in sent
    assert key[-20:] not in sent


forged_wvw_ids = st.one_of(
    st.builds(
        lambda team, view: f"wvw:m:{team}:{view}",
        st.integers(min_value=0, max_value=999_999),
        st.sampled_from(["ov", "ebg", "red", "blue", "green"]),
    ),
    st.builds(
        lambda team, map_key, page: f"wvw:o:{team}:{map_key}:{page}",
        st.integers(min_value=0, max_value=999_999),
        st.sampled_from(["all", "Center", "RedHome", "BlueHome", "GreenHome"]),
        st.integers(min_value=0, max_value=999),
    ),
)


@FUZZ
@given(custom_id=forged_wvw_ids)
async def test_forged_wvw_button_ids(fuzz_world: FuzzWorld, custom_id: str) -> None:
    """A forged or stale /wvw button id (any team, map or page) gets an answer, never an
    unhandled error, and nothing Discord would reject."""
    handle = await fuzz_world.discord.slash(fuzz_world.alice, "wvw objectives", {"team": "11001"})
    message = await handle.wait_final_message(timeout=15)
    first = message.custom_ids()[0]
    for row in message.components:
        for component in row.get("components", []):
            if component.get("custom_id") == first:
                component["custom_id"] = custom_id
                component.pop("disabled", None)
    since = len(fuzz_world.discord.requests)
    click = await fuzz_world.discord.click(fuzz_world.alice, message, custom_id)
    await click.wait_response(timeout=15)
    if click.response_type in (5, 6):
        await fuzz_world.discord.wait_until(
            lambda: bool(click.followups or click.edits), "the button's answer", timeout=20
        )
    _check(fuzz_world, since, fuzz_world.alice.id)
