"""Recognising and masking secrets: GW2 API keys, subtokens, Discord tokens, configured values.

Used by the log redaction filter, the Sentry scrubber and the leak guard, so they all agree on what
a secret looks like.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# 8-4-4-4-20-4-4-4-12 hex groups: a GUID, a 20-hex middle and a second GUID (72 characters).
GW2_API_KEY_RE = re.compile(
    r"(?<![0-9A-Fa-f-])"
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{20}"
    r"-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Fa-f-])"
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

_PATTERNS: tuple[re.Pattern[str], ...] = (GW2_API_KEY_RE, JWT_RE, DISCORD_TOKEN_RE)


def find_gw2_api_keys(text: str) -> list[str]:
    """Every substring of ``text`` shaped like a GW2 API key or subtoken (for the leak guard)."""
    return [m.group(0) for m in GW2_API_KEY_RE.finditer(text)] + [
        m.group(0) for m in JWT_RE.finditer(text)
    ]


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
        for pattern in _PATTERNS:
            text = pattern.sub(REDACTED, text)
        text = DISCORD_TOKEN_URL_RE.sub(rf"\1{REDACTED}", text)
        return CREDENTIAL_PARAM_RE.sub(rf"\1{REDACTED}", text)
