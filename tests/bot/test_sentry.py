from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from bot.sentry import Scrubber, init_sentry
from services.secrets import SecretRedactor
from tests.bot.test_redaction import DISCORD_TOKEN, make_gw2_key


class RecordingTransport(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)

    def serialized(self) -> str:
        return "".join(
            item.payload.get_bytes().decode("utf-8", "replace")
            for envelope in self.envelopes
            for item in envelope.items
        )


@pytest.fixture
def sentry_off_afterwards() -> Iterator[None]:
    yield
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # back to a disabled client


def test_nothing_is_initialised_without_a_dsn(sentry_off_afterwards: None) -> None:
    assert init_sentry(None, redactor=SecretRedactor(), release="t", environment="test") is False
    client = sentry_sdk.get_client()
    assert client.transport is None
    assert client.dsn is None


def test_an_event_carrying_a_key_and_a_token_leaves_with_neither(
    sentry_off_afterwards: None,
) -> None:
    key = make_gw2_key()
    transport = RecordingTransport()
    redactor = SecretRedactor([DISCORD_TOKEN])
    assert init_sentry(
        "https://public@o0.ingest.sentry.io/1",
        redactor=redactor,
        release="t",
        environment="test",
        transport=transport,
    )
    sentry_sdk.add_breadcrumb(
        category="httplib",
        data={
            "url": "https://discord.com/api/v10/interactions/1234/aW50ZXJhY3Rpb246MTIzNDp0b2tlbg/callback",
            "method": "POST",
        },
    )
    with sentry_sdk.new_scope() as scope:
        scope.set_extra("nested", {"deep": [{"user_input": f"here is {key}"}]})
        scope.set_extra("headers", {"Authorization": f"Bot {DISCORD_TOKEN}"})
        scope.set_context("odd", {"weird_name_x": DISCORD_TOKEN})
        try:
            raise RuntimeError(f"GW2 rejected {key}")
        except RuntimeError as error:
            sentry_sdk.capture_exception(error)
    sentry_sdk.flush()
    payload = transport.serialized()
    assert "GW2 rejected" in payload  # the event itself did go out
    assert key not in payload
    assert DISCORD_TOKEN not in payload
    assert "aW50ZXJhY3Rpb246MTIzNDp0b2tlbg" not in payload


def test_scrubber_masks_secret_named_keys_whatever_their_value() -> None:
    scrubbed = Scrubber(SecretRedactor()).scrub(
        {"request": {"headers": {"Authorization": "anything"}, "query": {"token": "t0ps3cret"}}}
    )
    assert scrubbed["request"]["headers"]["Authorization"] == "[redacted]"
    assert scrubbed["request"]["query"]["token"] == "[redacted]"
