"""Messages sent outside an interaction speak the user's last seen language (linked_keys.locale).

Through the fake Discord and GW2 API: the language of ``/key add`` and of later commands is kept on
the user's keys; the invalid-key DM and the reply to a plain DM read it; a user the bot keeps
nothing about gets English.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.bot.test_redaction import make_gw2_key
from tests.cogs.test_account_flow import account_world, paste_in_dm
from tests.cogs.test_account_revalidation import HOURS, link_directly
from tests.fakes.gw2_api import InstantClock

INVALID_KEY_ENGLISH = ("stopped working", "Your GW2 API key", "Create a new key", "remove the old")


def leaks(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(rf"\b{re.escape(w)}\b", text)]


async def test_the_invalid_key_dm_speaks_the_language_of_the_users_last_command(
    tmp_path: Path,
) -> None:
    clock = InstantClock()
    async with account_world(tmp_path, clock=clock) as world:
        broken = await link_directly(world, world.alice.user, "Alice.1234")
        # Any command keeps the user's Discord language (here German) on their keys.
        info = await world.discord.slash(world.alice, "key info", locale="de")
        await info.wait_final_message()
        world.gw2.remove_key(broken)
        for _ in range(3):
            await world.revalidation.revalidate_all()
            clock.advance(3 * HOURS)
        await world.discord.wait_until(
            lambda: world.discord.sent_dms(world.alice.user), "the invalid-key DM"
        )
    (dm,) = world.discord.sent_dms(world.alice.user)
    text = dm.content or ""
    assert "Dein GW2-API-Schlüssel für **Alice.1234** funktioniert nicht mehr" in text
    assert "https://account.arena.net/applications" in text
    assert leaks(text, INVALID_KEY_ENGLISH) == []
    assert broken not in text


async def test_a_plain_dm_is_answered_in_the_users_last_seen_language(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        user = world.alice.user
        spanish = await world.discord.slash(world.alice, "about", locale="es-ES")
        await spanish.wait_final_message()
        nothing_kept = await paste_in_dm(world, user, "hola")  # no key: nothing is stored
        # /key add in French; the key pasted in the DM is stored with that language.
        await (await world.discord.slash(world.alice, "key add", locale="fr")).wait_final_message()
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        linked = await paste_in_dm(world, user, key)
        french = await paste_in_dm(world, user, "bonjour")
        # A later command in German: the next reply follows.
        await (await world.discord.slash(world.alice, "about", locale="de")).wait_final_message()
        german = await paste_in_dm(world, user, "hallo")

    assert linked.embed is not None
    assert "To link a GW2 API key, run /key add" in (nothing_kept.content or "")
    assert "Pour lier une clé d'API GW2, lancez /key add" in (french.content or "")
    assert "Um einen GW2-API-Schlüssel zu verknüpfen" in (german.content or "")
    for answer in (french, german):
        assert leaks(answer.content or "", ("To link", "run", "paste here")) == []


async def test_the_paste_key_modal_speaks_the_users_language(tmp_path: Path) -> None:
    async with account_world(tmp_path) as world:
        world.discord.close_dms(world.alice.user)
        handle = await world.discord.slash(world.alice, "key add", locale="fr")
        reply = await handle.wait_final_message()
        click = await world.discord.click(world.alice, reply, "gw2opt:key:paste", locale="fr")
        modal = await click.wait_modal()
        key = make_gw2_key()
        world.gw2.add_key(key, account_name="Alice.1234")
        submitted = await world.discord.submit_modal(world.alice, click, {"key": key})
        answer = await submitted.wait_final_message()
    assert modal["title"] == "Lier votre clé d'API GW2"
    (row,) = modal["components"]
    (text_input,) = row["components"]
    assert text_input["custom_id"] == "key"
    assert text_input["label"] == "Votre clé d'API"
    assert answer.embed is not None  # the key typed in the French modal is linked
