"""Sentry performance tracing through the fakes: one transaction per command, button, modal and
scheduled cycle, spans for GW2, Mistral, database and Discord REST calls, and no secret in any
envelope (a fake transport keeps them all).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sentry_sdk

from bot.config import GW2Settings, MistralSettings
from bot.sentry import init_sentry
from bot.tracing import cycle_transaction, db_span, interaction_transaction_name, path_template
from services.secrets import SecretRedactor
from tests.bot.test_redaction import make_gw2_key
from tests.bot.test_sentry import RecordingTransport
from tests.cogs.test_account_flow import account_world, ownership_code_in
from tests.fakes.discord import FakeDiscord
from tests.fakes.gw2_api import FakeCharacter, FakeGW2API
from tests.fakes.mistral import FakeMistral
from tests.harness import TEST_TOKEN, make_settings, running_bot

DSN = "https://public0123456789abcdef@o0.ingest.sentry.io/1"
MISTRAL_KEY = "mistral-secret-key-for-tracing-tests"


@pytest.fixture
def sentry_off_afterwards() -> Iterator[None]:
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # back to a disabled client


def _start_tracing(*secrets: str) -> RecordingTransport:
    transport = RecordingTransport()
    assert init_sentry(
        DSN,
        redactor=SecretRedactor([TEST_TOKEN, DSN, *secrets]),
        release="test",
        environment="test",
        transport=transport,
        traces_sample_rate=1.0,
    )
    return transport


def _transactions(transport: RecordingTransport) -> list[dict[str, Any]]:
    sentry_sdk.flush()
    found = []
    for envelope in transport.envelopes:
        for item in envelope.items:
            if item.headers.get("type") == "transaction":
                found.append(json.loads(item.payload.get_bytes()))
    return found


def _by_name(transactions: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["transaction"]: t for t in transactions}


def _span_names(transaction: dict[str, Any], op: str) -> set[str]:
    return {s["description"] for s in transaction.get("spans", []) if s.get("op") == op}


# --- Pure parts ---------------------------------------------------------------------------------


GW2 = "https://api.guildwars2.com"
DISCORD = "http://127.0.0.1:1/api/v10"
TOKEN = "aW50ZXJhY3Rpb24"


@pytest.mark.parametrize(
    ("url", "template"),
    [
        (f"{GW2}/v2/characters/Zojja%20Prime/core?access_token=x", "/v2/characters/{name}/core"),
        (
            f"{DISCORD}/interactions/1234567/{TOKEN}/callback?with_response=1",
            "/api/v10/interactions/{id}/{token}/callback",
        ),
        (
            f"{DISCORD}/webhooks/42/{TOKEN}/messages/@original",
            "/api/v10/webhooks/{id}/{token}/messages/@original",
        ),
        ("/v2/guild/4FB44673-C2CF-E611-80D3-AC162DC085C0", "/v2/guild/{value}"),
        ("/api/v10/channels/99/messages", "/api/v10/channels/{id}/messages"),
        ("/v2/wvw/matches?world=2008", "/v2/wvw/matches"),
    ],
)
def test_span_names_are_path_templates(url: str, template: str) -> None:
    assert path_template(url) == template


def test_interaction_names_carry_no_user_data() -> None:
    subcommand = {"type": 3, "name": "account", "value": "Alice.1234"}
    command = SimpleNamespace(
        data={"name": "key", "options": [{"type": 1, "name": "remove", "options": [subcommand]}]}
    )
    button = SimpleNamespace(data={"custom_id": "compose:reroll:15:zerg:123456789012345678:f:0"})

    assert interaction_transaction_name("discord.command", command) == "/key remove"
    assert (
        interaction_transaction_name("discord.component", button)
        == "component compose:reroll:15:zerg:{id}:f:0"
    )


# --- Through the fakes --------------------------------------------------------------------------


async def test_commands_buttons_and_modals_are_transactions_without_secrets(
    tmp_path: Path, sentry_off_afterwards: None
) -> None:
    key = make_gw2_key()
    transport = _start_tracing(key)
    characters = [FakeCharacter(f"Secret Name {i:02d}", "Necromancer", [60]) for i in range(12)]
    gw2_query = GW2Settings(auth_transport="query")  # the key travels in the URL: the worst case
    async with account_world(tmp_path) as world:
        assert world.app.bot is not None
        world.app.settings.gw2 = gw2_query
        world.app.bot.services.gw2.auth_transport = "query"
        world.discord.close_dms(world.alice.user)
        handle = await world.discord.slash(world.alice, "key add")
        reply = await handle.wait_final_message()
        world.gw2.add_key(
            key,
            account_name="Alice.1234",
            token_name=ownership_code_in(reply),
            characters=characters,
        )
        click = await world.discord.click(world.alice, reply, "gw2opt:key:paste")
        await click.wait_modal()
        submitted = await world.discord.submit_modal(world.alice, click, {"key": key})
        await submitted.wait_final_message()
        listing = await world.discord.slash(world.alice, "characters")
        message = await listing.wait_final_message()
        page = await world.discord.click(world.alice, message, "gw2opt:chars:next")
        await page.wait_final_message()
    transactions = _by_name(_transactions(transport))
    assert {"/key add", "/characters"} <= set(transactions)
    assert "component gw2opt:key:paste" in transactions
    assert "component gw2opt:chars:next" in transactions
    (modal_name,) = [name for name in transactions if name.startswith("modal ")]
    assert transactions[modal_name]["contexts"]["trace"]["op"] == "discord.modal"
    characters_tx = transactions["/characters"]
    assert transactions["/key add"]["contexts"]["trace"]["op"] == "discord.command"
    http_spans = _span_names(characters_tx, "http.client")
    assert "GET /v2/characters" in http_spans  # GW2 API, path only
    assert "POST /api/v10/interactions/{id}/{token}/callback" in http_spans  # Discord REST
    modal_tx = transactions[modal_name]
    assert "GET /v2/tokeninfo" in _span_names(modal_tx, "http.client")
    assert any(name.startswith("INSERT INTO linked_keys") for name in _span_names(modal_tx, "db"))
    # Nothing private left the process: no key, token, DSN, character name or query string.
    payload = transport.serialized()
    assert key not in payload
    assert TEST_TOKEN not in payload
    assert "public0123456789abcdef" not in payload
    assert "Secret Name" not in payload
    assert "access_token" not in payload
    assert "/metrics" not in payload


async def test_mistral_calls_are_spans_of_the_compose_transaction(
    tmp_path: Path, sentry_off_afterwards: None
) -> None:
    transport = _start_tracing(MISTRAL_KEY)
    async with FakeDiscord() as discord_fake, FakeGW2API() as gw2_fake, FakeMistral() as mistral:
        guild = discord_fake.add_guild(name="Traced")
        alice = discord_fake.add_member(guild, discord_fake.add_user("Alice"))
        settings = make_settings(discord_fake, tmp_path, gw2=gw2_fake)
        settings.mistral = MistralSettings(api_key=MISTRAL_KEY, server_url=mistral.url)
        async with running_bot(
            discord_fake,
            tmp_path,
            gw2=gw2_fake,
            settings=settings,
            extensions=("cogs.compose",),
        ):
            handle = await discord_fake.slash(alice, "compose", {"size": 10, "mode": "zerg"})
            await handle.wait_final_message()
    compose = _by_name(_transactions(transport))["/compose"]
    assert "POST /v1/chat/completions" in _span_names(compose, "http.client")
    assert MISTRAL_KEY not in transport.serialized()


async def test_a_scheduled_cycle_is_one_transaction(sentry_off_afterwards: None) -> None:
    transport = _start_tracing()
    with cycle_transaction("match updates"):
        await asyncio.sleep(0)
    (cycle,) = _transactions(transport)
    assert cycle["transaction"] == "match updates"
    assert cycle["contexts"]["trace"]["op"] == "task.cycle"


async def test_tracing_is_off_by_default(sentry_off_afterwards: None) -> None:
    transport = RecordingTransport()
    init_sentry(
        DSN, redactor=SecretRedactor(), release="t", environment="test", transport=transport
    )
    with cycle_transaction("match updates"):
        pass
    assert _transactions(transport) == []


async def test_database_spans_name_the_backend_in_use(sentry_off_afterwards: None) -> None:
    transport = _start_tracing()
    with cycle_transaction("match updates"):
        for system in ("sqlite", "postgresql"):
            span = db_span("SELECT 1  FROM guild_settings WHERE guild_id = ?", system)
            assert span is not None
            span.finish()
    (cycle,) = _transactions(transport)
    spans = [s for s in cycle["spans"] if s["op"] == "db"]
    assert [s["data"]["db.system"] for s in spans] == ["sqlite", "postgresql"]
    assert spans[0]["description"] == "SELECT 1 FROM guild_settings WHERE guild_id = ?"
