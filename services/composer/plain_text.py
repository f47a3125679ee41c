"""Model text made plain before anyone sees it: no links, no mentions, no Markdown control.

Mistral's briefing and notes are shown in embeds and republished by "Post to channel". A model can
be talked into (or hallucinate) a masked link ``[Free gems](https://…)``, a role pill ``<@&id>``,
``@everyone`` or Markdown that restyles the message; :func:`plain_text` keeps the sentences and
drops the rest.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

__all__ = ["plain_model", "plain_text"]

# [label](target) and [label](<target>): the label stays, the target goes.
_MASKED_LINK_RE = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?[^()\s]*>?(?:\s+\"[^\"]*\")?\s*\)")
# <@id>, <@!id>, <@&id>, <#id>, </command:id>, <:emoji:id>, <a:emoji:id>, <t:stamp:style>, <id:x>
_ANGLE_TOKEN_RE = re.compile(r"<(?:@[!&]?\d*|#\d*|/[^<>\n]*:\d*|a?:\w*:\d*|t:[^<>\s]*|id:\w*)>")
_URL_RE = re.compile(
    r"(?:<\s*)?\b(?:[a-z][a-z0-9+.-]*://|www\.|discord(?:app)?\.(?:gg|com)/|\w+\.gg/)"
    r"\S*?(?=[.,;:!?)>]*(?:\s|$))",
    flags=re.IGNORECASE,
)
_EVERYONE_RE = re.compile(r"@+(?=(?:everyone|here)\b)", flags=re.IGNORECASE)
_AT_RE = re.compile(r"@(?=\S)")
# Markdown at a line start: headings, subtext, block quotes, and list bullets that restyle.
_LINE_START_RE = re.compile(r"^[ \t]*(?:#{1,6}|-#|>{1,3})[ \t]+", flags=re.MULTILINE)
_EMPHASIS_CHARS_RE = re.compile(r"[*~`|\\]")
_EDGE_UNDERSCORE_RE = re.compile(r"(?<![0-9A-Za-z])_+|_+(?![0-9A-Za-z])")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCTUATION_RE = re.compile(r"[ \t]+([,.;:!?])")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def plain_text(text: str) -> str:
    """``text`` as plain sentences: no links, mentions, custom emoji, Markdown control."""
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    text = _MASKED_LINK_RE.sub(r"\1", text)
    text = _ANGLE_TOKEN_RE.sub("", text)
    text = _URL_RE.sub("", text)
    text = _EVERYONE_RE.sub("", text)
    text = _AT_RE.sub("", text)
    text = _LINE_START_RE.sub("", text)
    text = _EMPHASIS_CHARS_RE.sub("", text)
    text = _EDGE_UNDERSCORE_RE.sub("", text)
    text = text.replace("[", "").replace("]", "")
    text = _SPACES_RE.sub(" ", text)
    text = _SPACE_BEFORE_PUNCTUATION_RE.sub(r"\1", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    return _BLANK_LINES_RE.sub("\n\n", text).strip()


def plain_model(model: M) -> M:
    """A copy of ``model`` with :func:`plain_text` applied to every string field, recursively."""
    updates: dict[str, object] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        cleaned = _plain_value(value)
        if cleaned is not value:
            updates[name] = cleaned
    return model.model_copy(update=updates) if updates else model


def _plain_value(value: object) -> object:
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, BaseModel):
        return plain_model(value)
    if isinstance(value, list | tuple):
        items = [_plain_value(item) for item in value]
        return type(value)(items)
    return value
