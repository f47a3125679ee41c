"""The one key detector behind the leak guard and log redaction: pastes that used to slip past."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.secrets import SecretRedactor, find_gw2_api_keys, key_spans
from tests.bot.test_redaction import make_gw2_key

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"]


def test_a_key_pasted_twice_without_separator_is_two_keys() -> None:
    first, second = make_gw2_key(), make_gw2_key()
    text = f"{first}{second}"
    assert find_gw2_api_keys(text) == [first, second]
    assert SecretRedactor().redact(text) == "[redacted][redacted]"


@pytest.mark.parametrize("before", ["a", "F", "0", "deadbeef", "-"])
def test_a_key_right_after_a_hex_character_is_found(before: str) -> None:
    key = make_gw2_key()
    assert find_gw2_api_keys(f"{before}{key}") == [key]
    assert SecretRedactor().redact(f"x{before}{key}!") == f"x{before}[redacted]!"


@pytest.mark.parametrize("invisible", INVISIBLE)
def test_a_key_with_an_invisible_character_is_found_and_fully_masked(invisible: str) -> None:
    key = make_gw2_key()
    pasted = f"{key[:13]}{invisible}{key[13:40]}{invisible}{key[40:]}"
    assert find_gw2_api_keys(f"key: {pasted} thanks") == [key]
    redacted = SecretRedactor().redact(f"key: {pasted} thanks")
    assert redacted == "key: [redacted] thanks"


def test_an_escaped_invisible_character_in_a_logged_payload_is_masked() -> None:
    key = make_gw2_key()
    payload = {"content": f"{key[:20]}\u200b{key[20:]}", "author": "Ålice"}
    logged = str(payload)  # how discord.py's DEBUG gateway line shows it: '\\u200b'
    assert "\\u200b" in logged
    redacted = SecretRedactor().redact(logged)
    assert key[:20] not in redacted
    assert key[21:] not in redacted
    assert "Ålice" in redacted


def test_full_width_and_unicode_dashes_are_read_as_ascii() -> None:
    key = make_gw2_key()
    disguised = key.replace("-", "\u2011", 3).replace("A", "\uff21")
    assert find_gw2_api_keys(disguised) == [key]
    assert SecretRedactor().redact(f"<{disguised}>") == "<[redacted]>"


def test_game_text_with_typography_is_untouched() -> None:
    text = "Rall’s Rest — 215 442 · Moogooloo\u00a0(4‑2) “Far Shiverpeaks”"
    assert SecretRedactor().redact(text) == text
    assert key_spans(text) == []


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(max_size=20),
    after=st.text(max_size=20),
    cuts=st.lists(st.integers(min_value=1, max_value=71), max_size=4),
    invisible=st.sampled_from(INVISIBLE),
)
def test_no_disguised_key_survives_redaction(
    before: str, after: str, cuts: list[int], invisible: str
) -> None:
    key = make_gw2_key()
    pasted = key
    for cut in sorted(set(cuts), reverse=True):
        pasted = pasted[:cut] + invisible + pasted[cut:]
    text = f"{before}{pasted}{after}"
    assert key in find_gw2_api_keys(text)
    redacted = SecretRedactor().redact(text)
    assert key not in find_gw2_api_keys(redacted)
    assert "[redacted]" in redacted
