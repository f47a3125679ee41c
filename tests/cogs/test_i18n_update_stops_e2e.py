"""Stopped match updates speak the reader's language, through the fake Discord and GW2 API.

The DM to the admin who set them up speaks the server's language; the stored reason is
language-neutral and ``/settings show`` renders it in the reader's. A reason stored as English text
before that (an old row) is still shown as it is.
"""

from __future__ import annotations

import re

from tests.cogs.test_updates_loop import (
    World,
    bot,
    change_the_match,
    next_slot,
    subscribe,
    updates,
    world,  # noqa: F401 (the fixture)
)

DM_ENGLISH = ("I stopped", "Send Messages", "Fix it", "there again", "give my role")


def leaks(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(rf"\b{re.escape(w)}\b", text)]


async def test_a_lost_permission_is_told_in_the_servers_language_and_shown_in_the_readers(
    world: World,  # noqa: F811
) -> None:
    world.guild.preferred_locale = "fr"
    async with bot(world) as app:
        await subscribe(world, mode="post", interval=5)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        world.discord.deny_bot_permission(world.channel, "send_messages")
        change_the_match(world)
        await next_slot(world, app, 5)
        dms = world.discord.sent_dms(world.admin.user)
        german = await world.discord.slash(world.admin, "settings show", locale="de")
        german_text = (await german.wait_final_message()).all_text()
        english = await world.discord.slash(world.admin, "settings show", locale="en-US")
        english_text = (await english.wait_final_message()).all_text()

    assert len(dms) == 1
    dm = dms[0].content or ""
    assert "J'ai arrêté de publier les mises à jour du match McM dans #wvw-updates" in dm
    assert "sur **Vigil Keep**" in dm
    assert "Discord a refusé mon message : il me faut les autorisations " in dm
    assert "Envoyer des messages" in dm
    assert "relancez `/settings updates`" in dm
    assert leaks(dm, DM_ENGLISH) == []
    assert "Ich brauche dort die Berechtigungen " in german_text
    assert "Nachrichten senden" in german_text
    assert leaks(german_text, ("Send Messages", "refused", "I need")) == []
    assert "Discord refused my message: I need " in english_text
    assert "Send Messages" in english_text


async def test_a_deleted_channel_is_told_in_the_servers_language(
    world: World,  # noqa: F811
) -> None:
    world.guild.preferred_locale = "es"
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        await updates(app).run_cycle()
        await world.discord.delete_channel(world.channel)
        change_the_match(world)
        await next_slot(world, app)
        dms = world.discord.sent_dms(world.admin.user)
        shown = await world.discord.slash(world.admin, "settings show", locale="fr")
        text = (await shown.wait_final_message()).all_text()

    assert len(dms) == 1
    dm = dms[0].content or ""
    assert "He dejado de publicar" in dm
    assert "en un canal que ya no existe" in dm
    assert "el canal se eliminó." in dm
    assert leaks(dm, ("I stopped", "channel", "deleted", "no longer exists")) == []
    assert "le salon a été supprimé." in text
    assert "deleted" not in text


async def test_a_reason_stored_as_english_text_by_an_older_version_is_shown_as_it_is(
    world: World,  # noqa: F811
) -> None:
    async with bot(world) as app:
        await subscribe(world)
        await world.discord.wait_for_message(world.channel)
        repository = updates(app).subscriptions
        (subscription,) = await repository.for_guild(world.guild.id)
        await repository.disable(subscription.id, "the channel was deleted.", world.clock.now())
        shown = await world.discord.slash(world.admin, "settings show", locale="fr")
        text = (await shown.wait_final_message()).all_text()
    assert "the channel was deleted." in text
    assert "⛔ Arrêté" in text
