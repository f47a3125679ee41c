"""Nothing private goes public (issue 10 item 2): keys in command options are refused privately and
never echoed, echoes of typed text mask keys, and an error after a public defer is private."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cogs.team_options import UnknownTeamError
from services.roster import RosterError, parse_roster
from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_compose_e2e import world as compose_world
from tests.cogs.test_wvw_commands import world, wvw_cog
from tests.fakes.discord import FakeMessage
from tests.fakes.gw2_api import Fault


def visible_text(messages: list[FakeMessage]) -> str:
    return json.dumps([m.all_text() for m in messages], ensure_ascii=False)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("wvw match", {"team": "{key}"}),
        ("wvw objectives", {"team": "my key is {key} thanks"}),
    ],
)
async def test_a_key_in_a_command_option_is_refused_privately_and_not_echoed(
    tmp_path: Path, command: str, options: dict[str, str]
) -> None:
    key = make_gw2_key()
    filled = {name: value.format(key=key) for name, value in options.items()}
    async with world(tmp_path) as w, w.bot():
        asked = sum(w.gw2.requests.values())
        handle = await w.discord.slash(w.alice, command, filled)
        answer = await handle.wait_final_message()
        channel = w.alice.guild.default_channel
        assert channel is not None
        everything = w.discord.messages_in(channel, include_deleted=True)
        after = sum(w.gw2.requests.values())
    assert handle.ephemeral
    assert handle.callbacks[0]["type"] == 4
    assert "looks like a GW2 API key" in answer.content
    for fragment in (key, key[:20], key[-20:]):
        assert fragment not in visible_text(everything)
    assert asked == after  # the command did not run
    assert [m for m in everything if not m.ephemeral] == []


async def test_autocomplete_with_a_key_suggests_nothing(tmp_path: Path) -> None:
    key = make_gw2_key()
    async with compose_world(tmp_path) as w:
        # /compose roster offers "list: <what you typed>": it must not echo a key.
        handle = await w.discord.autocomplete(w.alice, "compose", {"roster": key}, "roster")
        await handle.wait_response()
    assert handle.callbacks[0]["type"] == 8
    assert handle.callbacks[0]["data"]["choices"] == []


async def test_an_error_after_a_public_defer_is_private_and_the_thinking_message_goes(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as w, w.bot() as app:
        wvw_cog(app).defer_after = 0.05
        w.gw2.script("/v2/worlds", Fault.slow(0.4))
        handle = await w.discord.slash(w.alice, "wvw match", {"team": "Nowhere Keepz"})
        (error,) = await handle.wait_followups()
        channel = w.alice.guild.default_channel
        assert channel is not None
        await w.discord.sync()
        shown = w.discord.messages_in(channel)
    assert handle.callbacks[0]["type"] == 5  # deferred publicly (GW2 was slow)
    assert not handle.ephemeral
    assert error.ephemeral
    assert "No team called “Nowhere Keepz”" in error.content
    assert handle.deleted  # the public "thinking" message
    assert handle.deleted[0].loading
    assert [m for m in shown if not m.ephemeral] == []


def test_echoes_of_typed_text_mask_keys() -> None:
    key = make_gw2_key()
    unknown = UnknownTeamError(f"team {key}")
    assert key[:20] not in str(unknown)
    assert key[:8] + "…" in str(unknown)
    with pytest.raises(RosterError) as roster_error:
        parse_roster(f"{key}: firebrand")
    assert key[:20] not in str(roster_error.value)
    with pytest.raises(RosterError) as spec_error:
        parse_roster(f"Ann: {key}")
    assert key[:20] not in str(spec_error.value)
