"""The base of every domain error whose text is safe to show to a Discord user."""

from __future__ import annotations

from services.i18n import Message, tr


class UserFacingError(Exception):
    """An expected failure. ``str(error)`` is short, specific, and safe to show a player.

    It never contains a secret (API key, token) and says what to do next where it can. The central
    app-command error handler shows it as an ephemeral message instead of a generic apology, in
    the user's language: the message is the English message id, ``params`` fill its named
    ``{placeholders}`` (``str()`` is the English text).
    """

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    def localised(self, locale: str) -> str:
        """The message in ``locale`` (English where it has no translation)."""
        if not self.message:
            return str(self)
        return tr(locale, self.message, **self.params)

    def as_message(self) -> Message:
        """The error as a message translated later, when the reader's language is known."""
        return Message(self.message or str(self), **self.params)
