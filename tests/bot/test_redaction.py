from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest

from bot.config import LogFormat
from bot.logging import JsonFormatter, RedactingFilter, setup_logging
from services.secrets import SecretRedactor, find_gw2_api_keys, mask_key


def make_gw2_key() -> str:
    first, second = uuid.uuid4().hex.upper(), uuid.uuid4().hex.upper()
    guid1 = f"{first[:8]}-{first[8:12]}-{first[12:16]}-{first[16:20]}-{first[20:]}"
    guid2 = f"{second[:8]}-{second[8:12]}-{second[12:16]}-{second[16:20]}-{second[20:]}"
    return f"{guid1}{guid2[:8]}-{guid2[9:13]}-{guid2[14:18]}-{guid2[19:23]}-{guid2[24:]}"


DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
MISTRAL_KEY = "mistral-secret-0123456789abcdef"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.setLogRecordFactory(factory)


def _logger(stream: io.StringIO, fmt: LogFormat) -> logging.Logger:
    redactor = SecretRedactor([MISTRAL_KEY, DISCORD_TOKEN])
    handler = setup_logging("DEBUG", fmt, redactor)
    handler.setStream(stream)  # type: ignore[attr-defined]
    return logging.getLogger("tests.redaction")


def test_generated_key_has_the_real_shape() -> None:
    key = make_gw2_key()
    assert len(key) == 72
    assert find_gw2_api_keys(f"my key is {key}, thanks") == [key]


@pytest.mark.parametrize("fmt", [LogFormat.TEXT, LogFormat.JSON])
def test_secrets_in_message_and_args_are_masked(stream: io.StringIO, fmt: LogFormat) -> None:
    key = make_gw2_key()
    logger = _logger(stream, fmt)
    logger.info("user pasted %s", key)
    logger.warning("token %s and mistral %s", DISCORD_TOKEN, MISTRAL_KEY)
    logger.error(f"inline {key.lower()} in an f-string")
    output = stream.getvalue()
    for secret in (key, key.lower(), DISCORD_TOKEN, MISTRAL_KEY):
        assert secret not in output
    assert output.count("[redacted]") >= 4


def test_secrets_in_tracebacks_and_extra_fields_are_masked(stream: io.StringIO) -> None:
    key = make_gw2_key()
    logger = _logger(stream, LogFormat.JSON)
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        logger.exception("validation failed", extra={"detail": f"?access_token={key}"})
    output = stream.getvalue()
    assert key not in output
    entry = json.loads(output.strip().splitlines()[-1])
    assert entry["message"] == "validation failed"
    assert "[redacted]" in entry["exception"]
    assert entry["detail"] == "?access_token=[redacted]"


def test_interaction_and_webhook_urls_lose_their_token() -> None:
    redactor = SecretRedactor()
    url = "POST https://discord.com/api/v10/webhooks/1234/aW50ZXJhY3Rpb246MTIzNDU2Nzg5Om15dG9rZW4/messages/@original"
    assert "aW50ZXJhY3Rpb24" not in redactor.redact(url)
    callback = "/api/v10/interactions/99887766/aW50ZXJhY3Rpb246OTk4ODc3NjY6dG9rZW4x/callback"
    assert "aW50ZXJhY3Rpb24" not in redactor.redact(callback)


def test_ordinary_text_is_left_alone() -> None:
    redactor = SecretRedactor(["abc"])  # too short to be a secret: ignored
    text = "Match 1-3: Moogooloo 215,442 / Rall's Rest 198,001; id 12345678-1234"
    assert redactor.redact(text) == text


def test_mask_key_shows_only_a_prefix() -> None:
    key = make_gw2_key()
    assert mask_key(key) == key[:8] + "…"


def test_filter_survives_a_broken_format_string() -> None:
    record = logging.makeLogRecord({"msg": "%d items", "args": ("not a number",)})
    assert RedactingFilter(SecretRedactor()).filter(record)
    assert "items" in record.getMessage()


def test_json_formatter_outputs_one_object_per_line() -> None:
    record = logging.makeLogRecord({"msg": "hello %s", "args": ("world",), "levelname": "INFO"})
    line = JsonFormatter(SecretRedactor()).format(record)
    assert json.loads(line)["message"] == "hello world"
