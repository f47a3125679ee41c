"""Recognising and masking secrets: GW2 API keys, subtokens, Discord tokens, configured values.

Used by the log redaction filter, the Sentry scrubber and the leak guard, so they all agree on what
a secret looks like.
"""

from __future__ import annotations

import bisect
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
    normalised = normalise_for_secrets(text).text
    return [m.group(0) for m in GW2_API_KEY_RE.finditer(normalised)] + [
        m.group(0) for m in JWT_RE.finditer(normalised)
    ]


def key_spans(text: str) -> list[tuple[int, int]]:
    """Where in ``text`` (original positions) a GW2 API key or subtoken sits, in order."""
    normalised = normalise_for_secrets(text)
    spans: list[tuple[int, int]] = []
    for pattern in _KEY_PATTERNS:
        for match in pattern.finditer(normalised.text):
            if match.end() > match.start():
                start = normalised.original(match.start())
                spans.append((start, normalised.original(match.end() - 1) + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


class Normalised:
    """Text as the key detector reads it, mapping its positions back to the original text."""

    __slots__ = ("_breaks", "_norm_starts", "text")

    def __init__(self, text: str, breaks: list[tuple[int, int]]) -> None:
        self.text = text
        # (normalised index, original index) where the two stop running in step.
        self._breaks = breaks
        self._norm_starts = [b[0] for b in breaks]

    def original(self, index: int) -> int:
        """The position in the original text of normalised character ``index``."""
        at = bisect.bisect_right(self._norm_starts, index) - 1
        if at < 0:
            return index
        norm_start, orig_start = self._breaks[at]
        return orig_start + (index - norm_start)


def normalise_for_secrets(text: str) -> Normalised:
    """``text`` as a key detector should read it.

    Invisible formatting characters (zero-width space and joiners, word joiner, BOM, soft hyphen,
    bidi controls, tags: Unicode category Cf) are dropped, also when written as a ``\\u200b``
    escape (how ``repr`` shows them in a logged payload); Unicode dashes become ``-`` and
    full-width digits and letters their ASCII forms. Text without any of those (nearly all log
    lines) is returned as it is, at the cost of one regex scan.
    """
    if text.isascii() and "\\" not in text:
        return Normalised(text, [])
    pieces: list[str] = []
    breaks: list[tuple[int, int]] = []
    last = length = 0
    for match in _SPECIAL_RE.finditer(text):
        token = match.group(0)
        if token.startswith("\\"):
            if not _is_invisible(_unescape(token)):
                continue  # an ordinary escape sequence: read as written
            replacement = ""
        else:
            replacement = "" if _is_invisible(token) else _fold(token)
        pieces.append(text[last : match.start()])
        length += match.start() - last
        pieces.append(replacement)
        breaks.append((length, match.start()))
        length += len(replacement)
        breaks.append((length, match.end()))
        last = match.end()
    if not breaks:
        return Normalised(text, [])
    pieces.append(text[last:])
    return Normalised("".join(pieces), breaks)


def _invisible_ranges() -> str:
    """A regex class body of every non-ASCII Cf character (BMP scanned once, astral listed)."""
    ranges: list[str] = []
    start: int | None = None
    for code in range(0x80, 0x10000):
        invisible = unicodedata.category(chr(code)) == "Cf"
        if invisible and start is None:
            start = code
        elif not invisible and start is not None:
            ranges.append(f"\\u{start:04x}-\\u{code - 1:04x}")
            start = None
    astral = r"\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    return "".join(ranges) + astral + r"\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"


# Unicode dashes and full-width digits, A-F/a-f and hyphen: what can disguise a key's characters.
_FOLDABLE = r"\u2010-\u2015\u2212\ufe58\ufe63\uff0d\uff10-\uff19\uff21-\uff26\uff41-\uff46"
_SPECIAL_RE = re.compile(
    r"\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|U[0-9A-Fa-f]{8})|["
    + _invisible_ranges()
    + _FOLDABLE
    + "]"
)


def _unescape(escape: str) -> str:
    code = int(escape[2:], 16)
    return chr(code) if code <= 0x10FFFF else ""


def _is_invisible(char: str) -> bool:
    return len(char) == 1 and not char.isascii() and unicodedata.category(char) == "Cf"


def _fold(char: str) -> str:
    if unicodedata.category(char) == "Pd":
        return "-"
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def mask_key(key: str) -> str:
    """The form a key may be shown in: its first 8 characters and an ellipsis."""
    return f"{key[:8]}…" if len(key) > 8 else "…"


def mask_keys(text: str) -> str:
    """``text`` with every key-shaped part shown as :func:`mask_key` does (for echoes of what a
    user typed: mask before shortening, a cut key no longer looks like one)."""
    for start, end in reversed(key_spans(text)):
        text = f"{text[:start]}{mask_key(text[start:end])}{text[end:]}"
    return text


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
