"""``/alerts`` in French and German, end to end through the fake Discord and GW2 API.

The replies are private, so they speak the admin's Discord language; no English word that has a
translation leaks into them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from services.clock import ManualClock
from tests.cogs.test_alerts_loop import (
    GUILD_ID,
    World,
    baseline,
    bot,
    next_poll,
    posts,
    world,  # noqa: F401 (the fixture)
)
from tests.cogs.test_i18n_e2e import visible_text
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.harness import running_bot

TEAM = "11001"
ENGLISH_WORDS = (
    "Done",
    "gets live alerts",
    "reminders",
    "Reminders",
    "our objectives",
    "Maps",
    "alert subscriptions",
    "Stopped",
    "nothing to stop",
    "WvW alerts",
    "is mentioned",
    "Borderlands",
    "Eternal Battlegrounds",
)
EXPECTED = {
    "fr": {
        "set": "reçoit les alertes en direct",
        "show": "Alertes McM — Vigil Keep",
        "field": "Rappels : activé",
        "off": "Alertes McM arrêtées",
        "again": "il n'y a donc rien à arrêter",
    },
    "de": {
        "set": "erhält Live-Alarme",
        "show": "WvW-Alarme — Vigil Keep",
        "field": "Erinnerungen: an",
        "off": "WvW-Alarme in",
        "again": "es gibt also nichts zu beenden",
    },
}


def english_leaks(text: str) -> list[str]:
    return [w for w in ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_alerts_commands_answer_in_the_admins_language(tmp_path: Path, locale: str) -> None:
    clock = ManualClock()
    async with FakeDiscord() as discord_fake, FakeGW2API(clock=clock) as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        admin = discord_fake.add_member(
            guild, discord_fake.add_user("Alice"), permissions="manage_guild"
        )
        channel = discord_fake.add_text_channel(guild, "wvw-alerts")
        role = discord_fake.add_role(guild, "Defenders")
        async with running_bot(
            discord_fake, tmp_path, gw2=gw2_fake, clock=clock, extensions=("cogs.alerts",)
        ):

            async def ask(command: str, options: dict[str, object]) -> str:
                handle = await discord_fake.slash(admin, command, options, locale=locale)
                message = await handle.wait_final_message()
                assert handle.ephemeral
                return visible_text(message)

            done = await ask(
                "alerts set",
                {"channel": channel, "team": TEAM, "maps": "eb, red", "role": role},
            )
            shown = await ask("alerts show", {})
            bad = await ask("alerts set", {"channel": channel, "team": TEAM, "types": "yaks"})
            off = await ask("alerts off", {"channel": channel})
            again = await ask("alerts off", {"channel": channel})
    expected = EXPECTED[locale]
    assert expected["set"] in done
    assert {"fr": "Champs de bataille éternels", "de": "Ewige Schlachtfelder"}[locale] in done
    assert expected["show"] in shown
    assert expected["field"] in shown
    assert {"fr": "Je ne connais pas", "de": "kenne ich nicht"}[locale] in bad
    assert expected["off"] in off
    assert expected["again"] in again
    for text in (done, shown, bad, off, again):
        assert english_leaks(text) == [], text


POSTS = {
    "fr": {
        "label": "(fort, TF ",
        "title": "Alertes McM",
        "lost": "perdu face à",
        "after": "après 1h 30min",
        "tier": "Niveau",
    },
    "de": {
        "label": "GL, Feste)",
        "title": "WvW-Alarme",
        "lost": "verloren",
        "after": "nach 1h 30 Min.",
        "tier": "Stufe",
    },
}
POST_ENGLISH_WORDS = ("WvW alerts", "lost to", "after", "taken from", "claimed by", "reached tier")


@pytest.mark.parametrize("locale", ["fr", "de"])
async def test_alert_posts_speak_the_servers_language(world: World, locale: str) -> None:  # noqa: F811
    world.guild.preferred_locale = locale
    keep = world.ours("Keep")
    keep.last_flipped = world.clock.now() - timedelta(minutes=90)
    tower = world.ours("Tower")
    async with bot(world) as app:
        await baseline(world, app)
        world.match.flip(keep.id, world.enemy())
        await next_poll(world, app)
        tower.claimed_by = GUILD_ID
        tower.yaks_delivered = 60
        await next_poll(world, app)
    expected = POSTS[locale]
    flip, claim = (m.content or "" for m in posts(world))
    assert expected["title"] in flip
    assert expected["tier"] in flip  # the match title: "EU/NA Niveau|Stufe n"
    assert expected["lost"] in flip
    assert expected["after"] in flip
    assert expected["label"] in flip
    assert {"fr": "revendiqué par **Night Watch**", "de": "beansprucht von **Night Watch**"}[
        locale
    ] in claim
    assert {"fr": "a atteint le niveau 2", "de": "hat Stufe 2 erreicht"}[locale] in claim
    for text in (flip, claim):
        leaks = [w for w in POST_ENGLISH_WORDS if re.search(rf"\b{re.escape(w)}\b", text)]
        assert leaks == [], text
