"""Answers sent many times unchanged: serialised once, never registered per message.

A popular match is asked for many times a second around raid time, and the rendered answer is the
same until its data changes. discord.py turns an embed and a view into JSON on every send, and
stores every sent view in its view store; for an answer reused across interactions both are
wasted work:

- :func:`frozen_embed` returns an embed whose ``to_dict`` is computed once. Treat it as read-only.
- :class:`SharedView` holds only :class:`discord.ui.DynamicItem` buttons (dispatched by custom id
  through ``bot.add_dynamic_items``), so it needs no per-message registration: it reports itself
  finished, which makes discord.py skip the view store; its components are built once.
"""

from __future__ import annotations

from typing import Any

import discord


class FrozenEmbed(discord.Embed):
    """An embed serialised once (see :func:`frozen_embed`)."""

    def to_dict(self) -> Any:
        cached = self.__dict__.get("_frozen_dict")
        if cached is None:
            cached = self.__dict__["_frozen_dict"] = super().to_dict()
        return cached


def frozen_embed(embed: discord.Embed) -> FrozenEmbed:
    """A read-only copy of ``embed`` that is turned into JSON once, however often it is sent."""
    return FrozenEmbed.from_dict(embed.to_dict())


class SharedView(discord.ui.View):
    """Dynamic buttons shared by many messages: components built once, never stored per message.

    Add only :class:`discord.ui.DynamicItem` items (their classes registered with
    ``bot.add_dynamic_items``), then call :meth:`freeze`.
    """

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self._components: list[dict[str, Any]] | None = None

    def freeze(self) -> SharedView:
        if not all(isinstance(item, discord.ui.DynamicItem) for item in self.children):
            raise TypeError("a SharedView holds only dynamic items")
        self._components = super().to_components()
        return self

    def to_components(self) -> list[dict[str, Any]]:
        if self._components is None:
            return super().to_components()
        return self._components

    def is_finished(self) -> bool:
        # discord.py stores unfinished views per message; dynamic items need no such entry.
        return self._components is not None or super().is_finished()
