"""The base of every domain error whose text is safe to show to a Discord user."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure. ``str(error)`` is short, specific, and safe to show a player.

    It never contains a secret (API key, token) and says what to do next where it can. The central
    app-command error handler shows it as an ephemeral message instead of a generic apology.
    """
