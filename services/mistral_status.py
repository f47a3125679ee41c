"""Whether Mistral actually answers, for ``/about``: a cheap, cached, time-boxed probe.

The probe lists the models (``GET /v1/models``, no tokens spent) with a short timeout. The answer
is kept for ``ttl_s`` (a failure for ``failure_ttl_s``, so a recovery shows soon), and concurrent
callers share one request. The result never carries the key or the provider's error text; its
message is translated where it is shown (``/about`` renders it in the reader's language).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from mistralai.client import Mistral
from mistralai.client import errors as mistral_errors

from services.clock import Clock
from services.i18n import Message

log = logging.getLogger(__name__)

ProbeState = Literal["answering", "rejected_key", "not_answering"]


@dataclass(frozen=True, slots=True)
class MistralStatus:
    """One probe's outcome; ``message`` (state and detail) is what ``/about`` shows."""

    state: ProbeState
    message: Message


class MistralProbe:
    """Asks Mistral for its model list at most once per TTL."""

    def __init__(
        self,
        *,
        api_key: str,
        clock: Clock,
        server_url: str | None = None,
        timeout_s: float = 2.0,
        ttl_s: float = 300.0,
        failure_ttl_s: float = 60.0,
    ) -> None:
        self.clock = clock
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self.failure_ttl_s = failure_ttl_s
        self._client = Mistral(
            api_key=api_key, server_url=server_url, timeout_ms=int(timeout_s * 1000)
        )
        self._cached: tuple[float, MistralStatus] | None = None
        self._flight: asyncio.Task[MistralStatus] | None = None

    async def status(self) -> MistralStatus:
        """The cached status, or a fresh probe when it expired (shared by concurrent callers)."""
        now = self.clock.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]
        if self._flight is None or self._flight.done():
            self._flight = asyncio.ensure_future(self._probe())
        status = await asyncio.shield(self._flight)
        ttl = self.ttl_s if status.state == "answering" else self.failure_ttl_s
        self._cached = (self.clock.monotonic() + ttl, status)
        return status

    async def aclose(self) -> None:
        """Close the SDK's HTTP clients."""
        if self._flight is not None and not self._flight.done():
            self._flight.cancel()
        await self._client.__aexit__(None, None, None)  # type: ignore[no-untyped-call]

    async def _probe(self) -> MistralStatus:
        try:
            async with asyncio.timeout(self.timeout_s):
                listed = await self._client.models.list_async(timeout_ms=int(self.timeout_s * 1000))
        except TimeoutError:
            return MistralStatus("not_answering", Message("not answering (timed out)"))
        except mistral_errors.SDKError as error:
            if error.status_code in (401, 403):
                return MistralStatus(
                    "rejected_key", Message("configured, but Mistral rejected the API key")
                )
            return MistralStatus(
                "not_answering",
                Message("not answering (HTTP {status})", status=error.status_code),
            )
        except Exception as error:  # transport errors come from httpx, not the SDK
            log.info("Mistral probe failed (%s)", type(error).__name__)
            return MistralStatus("not_answering", Message("not answering (unreachable)"))
        count = len(listed.data or [])
        return MistralStatus("answering", Message("answering ({count} models)", count=count))
