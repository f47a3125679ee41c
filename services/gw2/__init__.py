"""The GW2 API client package: models, errors, cache, rate limiter, metrics and the client
(endpoints in ``client``, resilient core in ``core``, HTTP in ``transport``, TTLs and retries in
``policies``).

Import what you need from here::

    from services.gw2 import GW2Client, Fetched, GW2Metrics, InvalidKeyError
"""

from __future__ import annotations

from .cache import ResponseCache, key_id
from .client import GW2Client
from .core import Fetched
from .errors import (
    BadResponseError,
    EndpointDisabledError,
    GW2APIError,
    InvalidKeyError,
    MissingPermissionError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from .metrics import GW2Metrics
from .policies import FAMILY_POLICIES, CachePolicy, RetryPolicy
from .ratelimit import GW2RateLimiter
from .transport import DEFAULT_USER_AGENT, SCHEMA_VERSION

__all__ = [
    "DEFAULT_USER_AGENT",
    "FAMILY_POLICIES",
    "SCHEMA_VERSION",
    "BadResponseError",
    "CachePolicy",
    "EndpointDisabledError",
    "Fetched",
    "GW2APIError",
    "GW2Client",
    "GW2Metrics",
    "GW2RateLimiter",
    "InvalidKeyError",
    "MissingPermissionError",
    "NotFoundError",
    "RateLimitedError",
    "ResponseCache",
    "RetryPolicy",
    "UnavailableError",
    "key_id",
]
