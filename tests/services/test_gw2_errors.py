"""Classification of GW2 API failures: which error, which retry decision, which message."""

from __future__ import annotations

import pytest

from services.errors import UserFacingError
from services.gw2.errors import (
    BadResponseError,
    EndpointDisabledError,
    GW2APIError,
    InvalidKeyError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    classify_failure,
)


@pytest.mark.parametrize(
    ("status", "text", "kind", "retryable"),
    [
        (403, "Invalid access token", InvalidKeyError, False),
        (401, "invalid key", InvalidKeyError, False),
        (400, "invalid key", InvalidKeyError, False),
        (403, "endpoint requires authentication", InvalidKeyError, False),
        (403, "", InvalidKeyError, False),
        (403, "requires scope characters", MissingPermissionError, False),
        (404, "no such id", NotFoundError, False),
        (400, "all ids provided are invalid", NotFoundError, False),
        (429, "too many requests", RateLimitedError, True),
        (503, "API not active", EndpointDisabledError, False),
        (503, "", UnavailableError, False),
        (500, "", UnavailableError, True),
        (502, "", UnavailableError, True),
        (504, "", UnavailableError, True),
        (408, "", UnavailableError, True),
        (400, "ErrTimeout", UnavailableError, True),
        (500, "ErrBadData", UnavailableError, True),
        (200, "unknown error", UnavailableError, True),
        (418, "I'm a teapot", BadResponseError, False),
    ],
)
def test_classification(status: int, text: str, kind: type[GW2APIError], retryable: bool) -> None:
    failure = classify_failure(status, text, family="account")

    assert type(failure.error) is kind
    assert failure.retryable is retryable
    assert failure.error.status == status
    assert failure.error.family == "account"


def test_missing_permission_carries_the_scope() -> None:
    error = classify_failure(403, "requires scope wvw").error

    assert isinstance(error, MissingPermissionError)
    assert error.scope == "wvw"
    assert "“wvw”" in str(error)


def test_rate_limited_carries_retry_after() -> None:
    error = classify_failure(429, "", retry_after=7.0).error

    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    ("error", "phrase"),
    [
        (InvalidKeyError(), "/key add"),
        (MissingPermissionError("builds"), "builds"),
        (NotFoundError(), "check"),
        (RateLimitedError(), "try again"),
        (EndpointDisabledError(), "API not active"),
        (UnavailableError(), "try again in a minute"),
        (BadResponseError(), "couldn't read"),
    ],
)
def test_every_error_is_user_facing_with_a_next_step(error: GW2APIError, phrase: str) -> None:
    assert isinstance(error, UserFacingError)
    assert phrase in str(error)


def test_upstream_text_is_kept_out_of_the_message() -> None:
    error = classify_failure(500, "internal detail 12345").error

    assert "12345" not in str(error)
    assert error.upstream_text == "internal detail 12345"
