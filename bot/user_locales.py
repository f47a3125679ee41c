"""The Discord language each key owner last used, for messages sent outside an interaction.

A DM the bot starts (a key stopped working) or a reply to a plain DM carries no locale: the
language is the one the user's last command or ``/key add`` showed, kept on their linked keys
(``linked_keys.locale``; users without keys are not stored). Each process remembers what it
wrote for a while, so a command costs a database write only when the user's language changed.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from services.clock import Clock
from services.i18n import DEFAULT_LOCALE, resolve_locale

log = logging.getLogger(__name__)

# How long a process trusts what it last wrote (another process may have written since).
REMEMBERED_S: Final = 600.0
REMEMBERED_MAX: Final = 50_000


class LocaleStore(Protocol):
    async def remember_locale(self, user_id: int, locale: str) -> bool: ...

    async def locale_of(self, user_id: int) -> str | None: ...


class UserLocales:
    """Writes a user's language when it changed; reads it back (English when never seen)."""

    def __init__(self, store: LocaleStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._written: dict[int, tuple[str, float]] = {}

    async def remember(self, user_id: int, discord_locale: object) -> None:
        """The user just used the bot in ``discord_locale``; never raises (a command matters
        more than its language being kept)."""
        locale = resolve_locale(discord_locale)
        now = self.clock.monotonic()
        known = self._written.get(user_id)
        if known is not None and known[0] == locale and known[1] > now:
            return
        try:
            await self.store.remember_locale(user_id, locale)
        except Exception:
            log.warning("Could not keep a user's language", exc_info=True)
            return
        if len(self._written) >= REMEMBERED_MAX:
            self._written.clear()
        self._written[user_id] = (locale, now + REMEMBERED_S)

    async def of(self, user_id: int) -> str:
        """The user's last seen language, English when unknown."""
        try:
            stored = await self.store.locale_of(user_id)
        except Exception:
            log.warning("Could not read a user's language", exc_info=True)
            return DEFAULT_LOCALE
        return resolve_locale(stored)
