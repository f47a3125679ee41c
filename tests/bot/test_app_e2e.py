"""The real bot against the fake Discord: start-up, /about, the sidecar, clean shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import discord
import pytest

from bot.client import EXTENSIONS
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeGW2API
from tests.fakes.mistral import FakeMistral, MistralReply
from tests.harness import free_port, running_bot


async def test_about_answers_through_the_real_client(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(discord_fake, tmp_path, gw2=gw2_fake):
            assert {c["name"] for c in discord_fake.synced_commands} >= {"about"}
            handle = await discord_fake.slash(alice, "about")
            message = await handle.wait_final_message()
    assert handle.ephemeral
    embed = message.embed
    assert embed is not None
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Servers"] == "1"
    assert fields["GW2 API"].startswith("online (build ")
    assert fields["Mistral AI"].startswith("not configured")


async def about_fields(tmp_path: Path, mistral: FakeMistral) -> list[dict[str, str]]:
    """Ask /about twice with Mistral configured; the embeds' fields as name → value."""
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake:
        guild = discord_fake.add_guild(name="Vigil Keep")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(
            discord_fake,
            tmp_path,
            gw2=gw2_fake,
            mistral_url=mistral.url,
            mistral_key="mistral-secret-key-for-tests",
        ):
            answers = []
            for _ in range(2):
                message = await (await discord_fake.slash(alice, "about")).wait_final_message()
                assert message.embed is not None
                answers.append({f["name"]: f["value"] for f in message.embed["fields"]})
    return answers


async def test_about_says_mistral_answers_and_probes_once_for_two_asks(tmp_path: Path) -> None:
    async with FakeMistral() as mistral:
        first, second = await about_fields(tmp_path, mistral)
    assert first["Mistral AI"] == "answering (1 models)"
    assert second["Mistral AI"] == first["Mistral AI"]
    assert mistral.model_list_requests == 1  # cached between the two asks
    assert mistral.count == 0  # no chat request, no tokens spent


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (MistralReply.error(401), "configured, but Mistral rejected the API key"),
        (MistralReply.error(503), "not answering (HTTP 503)"),
        (MistralReply.slow(30.0), "not answering (timed out)"),
    ],
)
async def test_about_says_when_mistral_does_not_answer(
    tmp_path: Path, reply: MistralReply, shown: str
) -> None:
    async with FakeMistral(models_reply=reply) as mistral:
        first, _ = await about_fields(tmp_path, mistral)
    assert first["Mistral AI"] == shown
    assert "mistral-secret-key" not in "".join(first.values())


async def test_commands_sync_to_the_dev_guild_when_configured(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Dev")
        async with running_bot(discord_fake, tmp_path, dev_guild_id=guild.id):
            synced = discord_fake.guild_synced_commands[guild.id]
    assert "about" in {c["name"] for c in synced}
    assert discord_fake.synced_commands == []


async def test_sidecar_serves_metrics_health_and_readiness(tmp_path: Path) -> None:
    port = free_port()
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Metrics")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with (
            running_bot(discord_fake, tmp_path, metrics_port=port) as app,
            aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
        ):
            await (await discord_fake.slash(alice, "about")).wait_final_message()
            async with http.get("/healthz") as response:
                assert response.status == 200
            async with http.get("/readyz") as response:
                assert response.status == 200
                assert (await response.json())["status"] == "ready"
            async with http.get("/metrics") as response:
                text = await response.text()
            assert 'gw2opt_build_info{version="' in text
            assert "gw2opt_guilds 1.0" in text
            assert 'gw2opt_app_commands_total{command="about",outcome="ok"} 1.0' in text
            assert "gw2opt_db_query_duration_seconds_bucket" in text
            assert "fake-discord-token" not in text
            await discord_fake.drop_gateway(code=4000)
            assert app.bot is not None


async def test_readiness_is_503_with_a_reason_when_the_database_is_gone(tmp_path: Path) -> None:
    port = free_port()
    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="Ready")
        async with (
            running_bot(discord_fake, tmp_path, metrics_port=port) as app,
            aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http,
        ):
            assert app._services is not None
            await app._services.db.connection.close()
            async with http.get("/readyz") as response:
                assert response.status == 503
                assert (await response.json())["reasons"] == {"database": "not answering"}


async def test_unexpected_errors_get_an_apology_with_a_reference(tmp_path: Path) -> None:
    async with FakeDiscord() as discord_fake:
        guild = discord_fake.add_guild(name="Errors")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        async with running_bot(
            discord_fake, tmp_path, extensions=(*EXTENSIONS, "tests.bot.broken_cog")
        ) as app:
            handle = await discord_fake.slash(alice, "broken")
            message = await handle.wait_final_message()
            deferred = await discord_fake.slash(alice, "broken-late")
            late = await deferred.wait_final_message()
            assert app.bot is not None
            errors = app.metrics.app_commands.labels(command="broken", outcome="error")
            assert errors._value.get() == 1
    assert handle.ephemeral
    assert "reference" in message.content
    assert "internal detail" not in message.content
    assert "reference" in late.content


async def test_shutdown_leaves_no_task_behind(tmp_path: Path) -> None:
    before = asyncio.all_tasks()
    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="Shutdown")
        async with running_bot(discord_fake, tmp_path):
            pass
    await asyncio.sleep(0)
    leftover = {t for t in asyncio.all_tasks() - before if not t.done()}
    assert leftover == set(), [t.get_name() for t in leftover]


async def test_refused_message_content_intent_stops_start_up_clearly(tmp_path: Path) -> None:
    from bot.app import Application
    from tests.harness import make_settings

    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="Intents")
        discord_fake.refuse_privileged_intents()
        app = Application(make_settings(discord_fake, tmp_path))
        try:
            await app.start()
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await app.wait_until_ready(timeout_s=5)
        finally:
            await app.stop()


async def test_without_the_leak_guard_the_privileged_intent_is_not_requested(
    tmp_path: Path,
) -> None:
    async with FakeDiscord() as discord_fake:
        discord_fake.add_guild(name="Intents")
        discord_fake.refuse_privileged_intents()
        async with running_bot(discord_fake, tmp_path, leak_guard=False) as app:
            assert app.bot is not None
            assert app.bot.intents.message_content is False
