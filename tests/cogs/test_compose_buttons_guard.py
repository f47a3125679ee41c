"""/compose buttons: forged or stale custom ids and clicks by someone else (issue 10 item 12)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.cogs.test_compose_e2e import reroll_id, world
from tests.fakes.discord import FakeMessage


def forge(message: FakeMessage, old: str, new: str) -> None:
    """Rewrite a button's custom id on the fake message, as a forged or stale client would."""
    for row in message.components:
        for component in row.get("components", []):
            if component.get("custom_id") == old:
                component["custom_id"] = new


@pytest.mark.parametrize(
    "forged",
    [
        "compose:reroll:0:zerg:0:f:0",
        "compose:reroll:99:zerg:0:f:0",
        "compose:reroll:51:havoc:0:f:0",
        "compose:reroll:5:nosuchmode:0:f:0",
        "compose:reroll:5:zerg:0:f:99",
        "compose:reroll:5:zerg:0:v:10",
    ],
)
async def test_a_forged_reroll_id_gets_a_friendly_private_answer(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, forged: str
) -> None:
    async with world(tmp_path) as w:
        message = await w.compose(size=5)
        shown = list(message.embeds)
        forge(message, reroll_id(message), forged)
        w.compose_cog.sessions.clear()  # stale: the bot restarted since
        click = await w.discord.click(w.alice, message, forged)
        await click.wait_response()
    assert click.ephemeral
    assert click.original is not None
    assert click.original.content == "This plan is no longer valid. Run /compose again."
    assert message.embeds == shown
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert w.discord.errors == []


async def test_only_the_owner_can_reroll_a_plan(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        bob = w.discord.add_member(w.guild, w.discord.add_user("Bob"))
        message = await w.compose(size=10, mode="havoc")
        shown = list(message.embeds)
        click = await w.discord.click(bob, message, reroll_id(message))
        await click.wait_response()
        mine = await w.discord.click(w.alice, message, reroll_id(message))
        await mine.wait_edit()
    assert click.ephemeral
    assert click.original is not None
    assert "Only the person who ran /compose" in click.original.content
    assert message.embeds != shown  # the owner still can


async def test_only_the_owner_can_post_a_plan_even_after_a_restart(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        bob = w.discord.add_member(w.guild, w.discord.add_user("Bob"))
        message = await w.compose(size=5)
        w.compose_cog.sessions.clear()  # the owner then comes from Discord's metadata
        click = await w.discord.click(bob, message, "compose:post")
        await click.wait_response()
        posted = [m for m in w.discord.messages_in(w.channel) if m.source == "channel"]
    assert posted == []
    assert click.ephemeral
    assert click.original is not None
    assert "Only the person who ran /compose" in click.original.content
