"""Stopped live alerts speak the reader's language, through the fake Discord and GW2 API.

The admin's DM speaks the server's language; ``alert_subscriptions.last_error`` is stored
language-neutral and ``/alerts show`` renders it in the reader's; an old row's English text is
shown as it is.
"""

from __future__ import annotations

import re

from tests.cogs.test_alerts_loop import (
    World,
    alerts,
    baseline,
    bot,
    next_poll,
    world,  # noqa: F401 (the fixture)
)


def leaks(text: str, words: tuple[str, ...]) -> list[str]:
    return [w for w in words if re.search(rf"\b{re.escape(w)}\b", text)]


async def test_a_deleted_channel_is_told_in_the_servers_language_and_shown_in_the_readers(
    world: World,  # noqa: F811
) -> None:
    world.guild.preferred_locale = "de"
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        await world.discord.delete_channel(world.channel)
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        dms = world.discord.sent_dms(world.admin.user)
        shown = await world.discord.slash(world.admin, "alerts show", locale="es-ES")
        text = (await shown.wait_final_message()).all_text()
        gone = alerts(app).metrics.disabled.labels(reason="channel_gone")._value.get()

    assert len(dms) == 1
    dm = dms[0].content or ""
    assert "Ich poste keine WvW-Alarme mehr in einem Kanal, den es nicht mehr gibt" in dm
    assert "auf **Vigil Keep**: der Kanal wurde gelöscht." in dm
    assert "`/alerts set`" in dm
    assert leaks(dm, ("I stopped", "WvW alerts", "deleted", "your server", "Fix it")) == []
    assert "el canal se eliminó." in text
    assert leaks(text, ("deleted", "channel", "Stopped")) == []
    assert gone == 1  # the label still comes from the error's type


async def test_a_lost_permission_is_told_in_french(world: World) -> None:  # noqa: F811
    world.guild.preferred_locale = "fr"
    keep = world.ours("Keep")
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        world.discord.deny_bot_permission(world.channel, "send_messages")
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        dms = world.discord.sent_dms(world.admin.user)
        shown = await world.discord.slash(world.admin, "alerts show", locale="en-US")
        english = (await shown.wait_final_message()).all_text()
        forbidden = alerts(app).metrics.disabled.labels(reason="forbidden")._value.get()

    assert len(dms) == 1
    dm = dms[0].content or ""
    assert "J'ai arrêté de publier les alertes McM dans #wvw-alerts sur **Vigil Keep**" in dm
    assert "Envoyer des messages" in dm
    assert leaks(dm, ("I stopped", "Send Messages", "refused", "there again")) == []
    assert "Send Messages" in english  # the same stored reason, read in English
    assert forbidden == 1


async def test_a_reason_stored_as_english_text_by_an_older_version_is_shown_as_it_is(
    world: World,  # noqa: F811
) -> None:
    async with bot(world) as app:
        await baseline(world, app, reminders=False)
        repository = alerts(app).repository
        ids = [s.id for s in await repository.active()]
        await repository.disable(ids, "the channel was deleted.", world.clock.now())
        shown = await world.discord.slash(world.admin, "alerts show", locale="fr")
        text = (await shown.wait_final_message()).all_text()
    assert "the channel was deleted." in text
    assert "**Arrêtée :** the channel was deleted." in text
