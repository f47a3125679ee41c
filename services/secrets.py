"""Recognising and masking secrets: GW2 API keys, subtokens, Discord tokens, configured values.

Used by the log redaction filter, the Sentry scrubber and the leak guard, so they all agree on what
a secret looks like.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# 8-4-4-4-20-4-4-4-12 hex groups: a GUID, a 20-hex middle and a second GUID (72 characters).
# No hex boundary around it: the shape is long and rigid enough on its own, and a boundary would
# miss a key pasted twice without a separator or right after a hex character ("a<key>").
GW2_API_KEY_RE = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{20}"
    r"-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
# GW2 subtokens are JWTs; any JWT in a log line is a credential.
JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# Discord bot tokens: base64(user id) . timestamp . HMAC.
DISCORD_TOKEN_RE = re.compile(
    r"\b[MNOW][A-Za-z0-9_-]{22,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b"
)
# Interaction and webhook URLs carry a token in their path.
DISCORD_TOKEN_URL_RE = re.compile(
    r"(/(?:interactions|webhooks)/\d+/)[A-Za-z0-9_.-]{20,}", flags=re.IGNORECASE
)
# Credentials that travel as query parameters or headers.
CREDENTIAL_PARAM_RE = re.compile(
    r"((?:access_token|token|api_key|apikey|authorization)[\"']?\s*[=:]\s*[\"']?(?:Bearer\s+)?)"
    r"[^\s&\"',;]{6,}",
    flags=re.IGNORECASE,
)

REDACTED = "[redacted]"

_KEY_PATTERNS: tuple[re.Pattern[str], ...] = (GW2_API_KEY_RE, JWT_RE)


def find_gw2_api_keys(text: str) -> list[str]:
    """Every GW2 API key or subtoken in ``text`` (for the leak guard), as it reads once invisible
    characters are removed: a key with a zero-width space in it is still a key."""
    normalised, _ = normalise_for_secrets(text)
    return [m.group(0) for m in GW2_API_KEY_RE.finditer(normalised)] + [
        m.group(0) for m in JWT_RE.finditer(normalised)
    ]


def key_spans(text: str) -> list[tuple[int, int]]:
    """Where in ``text`` (original positions) a GW2 API key or subtoken sits, in order."""
    normalised, origin = normalise_for_secrets(text)
    spans: list[tuple[int, int]] = []
    for pattern in _KEY_PATTERNS:
        for match in pattern.finditer(normalised):
            if match.end() > match.start():
                spans.append((origin[match.start()], origin[match.end() - 1] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def normalise_for_secrets(text: str) -> tuple[str, list[int]]:
    """``text`` as a key detector should read it, and each character's position in ``text``.

    Invisible formatting characters (zero-width space and joiners, word joiner, BOM, soft hyphen,
    bidi controls: Unicode category Cf) are dropped, also when written as a ``\\u200b`` escape
    (how ``repr`` shows them in a logged payload); dashes become ``-`` and full-width forms their
    ASCII letters (NFKC).
    """
    if text.isascii() and "\\" not in text:
        return text, list(range(len(text)))
    chars: list[str] = []
    origin: list[int] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char == "\\":
            escape = _ESCAPE_RE.match(text, index)
            if escape is not None and _is_invisible(_unescape(escape)):
                index = escape.end()
                continue
        if not _is_invisible(char):
            for folded in _fold(char):
                chars.append(folded)
                origin.append(index)
        index += 1
    return "".join(chars), origin


_ESCAPE_RE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|x([0-9A-Fa-f]{2})|U([0-9A-Fa-f]{8}))")


def _unescape(escape: re.Match[str]) -> str:
    code = int(escape.group(1) or escape.group(2) or escape.group(3), 16)
    return chr(code) if code <= 0x10FFFF else ""


def _is_invisible(char: str) -> bool:
    return len(char) == 1 and not char.isascii() and unicodedata.category(char) == "Cf"


def _fold(char: str) -> str:
    if char.isascii():
        return char
    if unicodedata.category(char) == "Pd":
        return "-"
    return unicodedata.normalize("NFKC", char)


def mask_key(key: str) -> str:
    """The form a key may be shown in: its first 8 characters and an ellipsis."""
    return f"{key[:8]}…" if len(key) > 8 else "…"


class SecretRedactor:
    """Masks secrets in text: known shapes, plus literal values registered at start-up.

    Literal values cover secrets without a recognisable shape (a Mistral key, a Sentry DSN).
    """

    def __init__(self, literals: Iterable[str] = ()) -> None:
        self._literals: set[str] = set()
        for literal in literals:
            self.add_literal(literal)

    def add_literal(self, value: str | None) -> None:
        """Register a configured secret; values shorter than 6 characters are too common to mask."""
        if value and len(value) >= 6:
            self._literals.add(value)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``[redacted]``."""
        for literal in sorted(self._literals, key=len, reverse=True):
            if literal in text:
                text = text.replace(literal, REDACTED)
        for start, end in reversed(key_spans(text)):
            text = f"{text[:start]}{REDACTED}{text[end:]}"
        text = DISCORD_TOKEN_RE.sub(REDACTED, text)
        text = DISCORD_TOKEN_URL_RE.sub(rf"\1{REDACTED}", text)
        return CREDENTIAL_PARAM_RE.sub(rf"\1{REDACTED}", text)

    def contains_secret(self, text: str) -> bool:
        return self.redact(text) != text
