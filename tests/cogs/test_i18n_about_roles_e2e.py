"""/about's Mistral and GW2 status and /roles remove's suggestions in the user's language, through
the fake Discord, GW2 API and Mistral."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cogs.test_roles_e2e import VIGIL, add_rule, roles_world
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API, Fault
from tests.fakes.mistral import FakeMistral, MistralReply
from tests.harness import running_bot

EXPECTED = {
    "fr": ("répond (1 modèles)", "ne répond pas (HTTP 503)", "injoignable (ne répond pas)"),
    "de": ("antwortet (1 Modelle)", "antwortet nicht (HTTP 503)", "nicht erreichbar (antwortet"),
    "es": ("responde (1 modelos)", "no responde (HTTP 503)", "inaccesible (no responde)"),
}


async def about(tmp_path: Path, mistral: FakeMistral, locale: str, *, gw2_down: bool) -> dict:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        if gw2_down:
            gw2_fake.script("/v2/build", Fault(status=503, text="down", times=None))
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(
            discord_fake,
            tmp_path,
            gw2=gw2_fake,
            mistral_url=mistral.url,
            mistral_key="mistral-secret-key-for-tests",
        ):
            handle = await discord_fake.slash(alice, "about", locale=locale)
            message = await handle.wait_final_message()
    assert message.embed is not None
    return {f["name"]: f["value"] for f in message.embed["fields"]}


@pytest.mark.parametrize("locale", ["fr", "de", "es"])
async def test_about_shows_mistral_answering_in_the_users_language(
    tmp_path: Path, locale: str
) -> None:
    async with FakeMistral() as mistral:
        fields = await about(tmp_path, mistral, locale, gw2_down=False)
    assert fields["Mistral AI"] == EXPECTED[locale][0]
    assert "answering" not in fields["Mistral AI"]


@pytest.mark.parametrize("locale", ["fr", "de", "es"])
async def test_about_says_why_mistral_and_gw2_do_not_answer_in_the_users_language(
    tmp_path: Path, locale: str
) -> None:
    async with FakeMistral(models_reply=MistralReply.error(503)) as mistral:
        fields = await about(tmp_path, mistral, locale, gw2_down=True)
    assert fields["Mistral AI"] == EXPECTED[locale][1]
    assert EXPECTED[locale][2] in fields["GW2 API"]
    for text in (fields["Mistral AI"], fields["GW2 API"]):
        assert not re.search(r"\b(answering|unreachable|unavailable)\b", text), text


async def test_roles_remove_suggests_rules_in_the_users_language(tmp_path: Path) -> None:
    async with roles_world(tmp_path) as world:
        await add_rule(world, world.vigil_role, "verified")
        await add_rule(world, world.dragons_role, "guild_member", VIGIL)
        choices = {}
        for locale in ("fr", "de", "en-US"):
            handle = await world.discord.autocomplete(
                world.admin, "roles remove", {"rule": ""}, focused="rule", locale=locale
            )
            choices[locale] = [c["name"] for c in await handle.wait_choices()]
    vigil, dragons = world.vigil_role.name, world.dragons_role.name
    assert choices["fr"] == [
        f"#1 @{vigil} ← a lié une clé d'API GW2 valide",
        f"#2 @{dragons} ← membre de la guilde Vigil Vanguard [VV]",
    ]
    assert choices["de"][0] == f"#1 @{vigil} ← hat einen gültigen GW2-API-Schlüssel verknüpft"
    assert choices["en-US"][1] == f"#2 @{dragons} ← member of guild Vigil Vanguard [VV]"
    assert not any("verified" in c or "guild_member" in c for c in choices["fr"] + choices["de"])
