"""Messages kept in the database without a language, translated when someone reads them.

A text written once and shown later (why a scheduled post or alert subscription stopped) is
stored as JSON: the message id and its parameters, e.g.
``{"id": "I'm missing {permissions} there — ...", "params": {"permissions": [{"id": "Send
Messages"}]}}``. A parameter is a string, a number, a nested message or a list of those (shown
joined with commas). :func:`render_stored` shows it in the reader's language; a row written before
this format (plain English text) is shown as it is. :func:`render_message` shows such a message
before it is stored (the DM sent when it is written).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final, TypeAlias

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from services.i18n import ListOf, Message, tr


class StoredMessage(BaseModel):
    """A message id and its parameters, as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    params: dict[str, StoredValue] = {}


StoredItem: TypeAlias = str | int | float | StoredMessage
StoredValue: TypeAlias = StoredItem | list[StoredItem]
StoredMessage.model_rebuild()

_ADAPTER: Final = TypeAdapter(StoredMessage)


def dump_message(message: Message) -> str:
    """``message`` as stored JSON (language-neutral)."""
    return json.dumps(_stored(message).model_dump(exclude_defaults=True), ensure_ascii=False)


def render_message(message: Message, locale: str) -> str:
    """``message`` in ``locale``, list parameters included (``tr`` fills single values only)."""
    return _render(_stored(message), locale)


def render_stored(stored: str, locale: str) -> str:
    """A stored message in ``locale``; text that is not a stored message is shown as it is."""
    if not stored.startswith("{"):
        return stored  # plain text written before messages were stored language-neutral
    try:
        message = _ADAPTER.validate_json(stored)
    except ValidationError:
        return stored
    return _render(message, locale)


def _stored(message: Message) -> StoredMessage:
    if type(message) is not Message:  # a plural or a list would lose what makes it one
        raise TypeError(f"a stored message cannot be a {type(message).__name__}")
    return StoredMessage(id=message.id, params={k: _value(v) for k, v in message.params.items()})


def _value(value: object) -> StoredValue:
    if isinstance(value, Message):
        return _stored(value)
    if isinstance(value, str | int | float):
        return value
    if isinstance(value, Sequence):
        return [_item(v) for v in value]
    raise TypeError(f"a stored message parameter cannot be a {type(value).__name__}")


def _item(value: object) -> StoredItem:
    if isinstance(value, Message):
        return _stored(value)
    if isinstance(value, str | int | float):
        return value
    raise TypeError(f"a stored message list cannot hold a {type(value).__name__}")


def _render(message: StoredMessage, locale: str) -> str:
    return tr(locale, message.id, **{k: _shown(v, locale) for k, v in message.params.items()})


def _shown(value: StoredValue, locale: str) -> str | int | float:
    if isinstance(value, StoredMessage):
        return _render(value, locale)
    if isinstance(value, list):  # permission names...: a plain comma list
        return ListOf([str(_shown(v, locale)) for v in value], style="comma").render(locale)
    return value
