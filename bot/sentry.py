"""Sentry error reporting and tracing: off without ``SENTRY_DSN``; everything sent is scrubbed.

The default scrubber misses secrets in nested data and under unusual names, and the aiohttp
integration records Discord interaction/webhook URLs (which contain tokens) as breadcrumbs, so
``before_send`` and ``before_breadcrumb`` walk the whole payload and mask anything secret-shaped.
Performance transactions (``SENTRY_TRACES_SAMPLE_RATE``, see bot/tracing.py) go through the same
scrubber in ``before_send_transaction``, after their HTTP spans are cut down to path templates.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sentry_sdk
from sentry_sdk.consts import DEFAULT_OPTIONS
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.types import Event, Hint

from services.secrets import REDACTED, SecretRedactor

from .tracing import install_httpx2_spans, install_interaction_tracing, template_http_spans

log = logging.getLogger(__name__)

# Keys whose values are secrets whatever they look like.
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "access_token",
        "token",
        "api_key",
        "apikey",
        "key",
        "password",
        "secret",
        "dsn",
        "cookie",
        "x-api-key",
        "encrypted_key",
        "key_encryption_key",
    }
)


class Scrubber:
    """Masks secrets anywhere in a Sentry event or breadcrumb."""

    def __init__(self, redactor: SecretRedactor) -> None:
        self.redactor = redactor

    def scrub(self, value: Any, key: str | None = None) -> Any:
        if key is not None and key.lower() in _SECRET_KEYS and value not in (None, "", [], {}):
            return REDACTED
        if isinstance(value, str):
            return self.redactor.redact(value)
        if isinstance(value, dict):
            return {k: self.scrub(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.scrub(v) for v in value]
        return value

    def before_send(self, event: Event, _hint: Hint) -> Event | None:
        scrubbed: Event = self.scrub(event)
        return scrubbed

    def before_breadcrumb(self, crumb: dict[str, Any], _hint: Hint) -> dict[str, Any] | None:
        scrubbed: dict[str, Any] = self.scrub(crumb)
        return scrubbed

    def before_send_transaction(self, event: Event, _hint: Hint) -> Event | None:
        templated = template_http_spans(dict(event))
        scrubbed: Event = self.scrub(templated)
        return scrubbed


def _traces_sampler(rate: float) -> Any:
    def sampler(context: dict[str, Any]) -> float:
        transaction = context.get("transaction_context") or {}
        # The aiohttp integration would trace every /metrics scrape of the sidecar: never.
        if transaction.get("op") == "http.server":
            return 0.0
        return rate

    return sampler


def init_sentry(
    dsn: str | None,
    *,
    redactor: SecretRedactor,
    release: str,
    environment: str,
    transport: Any = None,
    traces_sample_rate: float = 0.0,
    profiles_sample_rate: float = 0.0,
) -> bool:
    """Initialise Sentry inside the running event loop; returns whether it is on.

    With ``traces_sample_rate`` > 0, interactions and scheduled cycles become transactions.
    """
    if not dsn:
        log.info("Sentry is off (SENTRY_DSN is not set)")
        return False
    scrubber = Scrubber(redactor)
    options: dict[str, Any] = {
        "dsn": dsn,
        "release": f"gw2optimizer@{release}",
        "environment": environment,
        "include_local_variables": False,
        "before_send": scrubber.before_send,
        "before_breadcrumb": scrubber.before_breadcrumb,
        "integrations": [LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        # No sentry-trace/baggage headers to Discord, the GW2 API or Mistral.
        "trace_propagation_targets": [],
    }
    if traces_sample_rate > 0:
        options["traces_sampler"] = _traces_sampler(traces_sample_rate)
        options["profiles_sample_rate"] = profiles_sample_rate
        options["before_send_transaction"] = scrubber.before_send_transaction
    if "data_collection" in DEFAULT_OPTIONS:
        # No user info, request bodies, cookies or frame variables; our scrubber does the rest.
        options["data_collection"] = {
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
            "gen_ai": {"inputs": False, "outputs": False},
        }
    else:  # sentry-sdk releases before data_collection existed
        options["send_default_pii"] = False
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    if traces_sample_rate > 0:
        install_interaction_tracing(asyncio.get_running_loop())
        install_httpx2_spans()
    log.info(
        "Sentry is on (environment %s, traces sample rate %s, profiles sample rate %s)",
        environment,
        traces_sample_rate,
        profiles_sample_rate,
    )
    return True


def capture_exception(error: BaseException, **tags: str) -> str | None:
    """Report an exception with tags; returns Sentry's event id (None when Sentry is off)."""
    with sentry_sdk.new_scope() as scope:
        for name, value in tags.items():
            scope.set_tag(name, value)
        return sentry_sdk.capture_exception(error, scope=scope)
