"""What can go wrong when talking to the GW2 API, as a small hierarchy with player-safe texts.

Every class subclasses :class:`services.errors.UserFacingError`, so ``str(error)`` can be shown to a
player as is. The raw upstream text is kept in ``upstream_text`` for logs; it never contains a key
(ArenaNet does not echo keys) and is never part of ``str()``.

``classify_failure`` is the one place that turns an HTTP status and the API's ``{"text": ...}`` body
into an error and says whether it is worth retrying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.errors import UserFacingError
from services.i18n import N_

__all__ = [
    "BadResponseError",
    "EndpointDisabledError",
    "Failure",
    "GW2APIError",
    "InvalidKeyError",
    "MissingPermissionError",
    "NotFoundError",
    "RateLimitedError",
    "UnavailableError",
    "classify_failure",
]


class GW2APIError(UserFacingError):
    """Base of every GW2 API failure. ``outcome`` is the metric label for this kind of failure."""

    outcome = "error"
    default_message = N_("The GW2 API request failed — try again in a minute.")

    def __init__(
        self,
        message: str | None = None,
        *,
        family: str = "",
        status: int | None = None,
        upstream_text: str = "",
        **params: object,
    ) -> None:
        super().__init__(message or self.default_message, **params)
        self.family = family
        self.status = status
        self.upstream_text = upstream_text


class InvalidKeyError(GW2APIError):
    """The key was rejected (403/401/400 with ``invalid key``/``Invalid access token``).

    ArenaNet sometimes rejects valid keys at random: callers must not drop a stored key on a single
    occurrence; re-check later before marking it broken.
    """

    outcome = "invalid_key"
    default_message = N_(
        "Your GW2 API key was rejected by ArenaNet — create a new one and link it with /key add."
    )


class MissingPermissionError(GW2APIError):
    """The key is valid but lacks a scope (``requires scope <x>``). ``scope`` names it."""

    outcome = "missing_permission"

    def __init__(
        self,
        scope: str,
        *,
        family: str = "",
        status: int | None = None,
        upstream_text: str = "",
    ) -> None:
        self.scope = scope
        super().__init__(
            N_(
                "Your GW2 API key is missing the “{scope}” permission — create a key that "
                "includes it and link it with /key add."
            ),
            scope=scope,
            family=family,
            status=status,
            upstream_text=upstream_text,
        )


class NotFoundError(GW2APIError):
    """The id does not exist (404 ``no such id`` / ``all ids provided are invalid``)."""

    outcome = "not_found"
    default_message = N_("The GW2 API doesn't know that — check the name or id and try again.")


class RateLimitedError(GW2APIError):
    """Too many requests: upstream said 429, or our own limiter could not fit the call in time."""

    outcome = "rate_limited"
    default_message = N_("The GW2 API is busy right now (rate limit) — try again in a few seconds.")

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        family: str = "",
        status: int | None = None,
        upstream_text: str = "",
    ) -> None:
        super().__init__(message, family=family, status=status, upstream_text=upstream_text)
        self.retry_after = retry_after


class EndpointDisabledError(GW2APIError):
    """503 ``API not active``: ArenaNet switched the endpoint off. Never retried."""

    outcome = "endpoint_disabled"
    default_message = N_(
        "The GW2 API has switched this endpoint off (API not active) — ArenaNet usually turns it "
        "back on within a few hours."
    )


class UnavailableError(GW2APIError):
    """5xx, timeouts, connection failures and the API's transient error texts."""

    outcome = "unavailable"
    default_message = N_("The GW2 API is unavailable right now — try again in a minute.")


class BadResponseError(GW2APIError):
    """The API answered something we could not read (broken JSON, unexpected shape, odd status)."""

    outcome = "bad_response"
    default_message = N_("The GW2 API sent an answer we couldn't read — try again in a minute.")


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified failure: the error to raise and whether another attempt may succeed."""

    error: GW2APIError
    retryable: bool


_SCOPE_RE = re.compile(r"requires scope\s+([a-z_]+)", re.IGNORECASE)
_KEY_TEXTS = ("invalid key", "invalid access token", "endpoint requires authentication")
_TRANSIENT_TEXTS = ("errtimeout", "errbaddata", "unknown error")
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 504})
_NOT_FOUND_TEXTS = ("no such id", "all ids provided are invalid", "not found", "no such")


def classify_failure(
    status: int, text: str, *, family: str = "", retry_after: float | None = None
) -> Failure:
    """Map a non-success answer (status + the body's ``text``) to an error and a retry decision.

    Key problems are recognised by status *and* text; the transient texts retry whatever the
    status; ``503 API not active`` and key errors never retry.
    """
    lowered = text.lower()
    scope = _SCOPE_RE.search(text)
    if scope and status in (400, 401, 403):
        error: GW2APIError = MissingPermissionError(
            scope.group(1).lower(), family=family, status=status, upstream_text=text
        )
        return Failure(error, retryable=False)
    if status in (400, 401, 403) and (
        any(t in lowered for t in _KEY_TEXTS) or (status in (401, 403) and not lowered)
    ):
        kind: type[GW2APIError] = InvalidKeyError
        retryable = False
    elif status == 503 and "not active" in lowered:
        kind, retryable = EndpointDisabledError, False
    elif status == 429:
        error = RateLimitedError(
            retry_after=retry_after, family=family, status=status, upstream_text=text
        )
        return Failure(error, retryable=True)
    elif any(t in lowered for t in _TRANSIENT_TEXTS) or status in _RETRYABLE_STATUSES:
        kind, retryable = UnavailableError, True
    elif status >= 500:
        kind, retryable = UnavailableError, False
    elif status == 404 or (status == 400 and any(t in lowered for t in _NOT_FOUND_TEXTS)):
        kind, retryable = NotFoundError, False
    else:
        kind, retryable = BadResponseError, False
    return Failure(kind(family=family, status=status, upstream_text=text), retryable=retryable)
