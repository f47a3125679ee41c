"""Re-checking stored keys: the orchestration around the pure policy in ``revalidation.py``.

:meth:`KeyRevalidator.revalidate_all` runs one background cycle (decrypt each stored key, ask
``/v2/tokeninfo``, apply :func:`decide`, persist the new states) and hands back whose owners to
tell; :meth:`KeyRevalidator.use_key` runs a command's call with a stored key and records the answer
the same way. Telling an owner (a DM) is the caller's job: this module knows no Discord.

The store is anything with ``all_keys``, ``decrypt`` and ``save_failure_state`` (the bot's
``LinkedKeyStore``); keys are only ever plaintext between ``decrypt`` and the GW2 client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from services.clock import Clock
from services.gw2 import GW2APIError, GW2Client, InvalidKeyError
from services.keys.metrics import KeyMetrics
from services.keys.revalidation import (
    CheckResult,
    CycleDecision,
    KeyFailureState,
    RevalidationPolicy,
    decide,
)

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4

T = TypeVar("T")


class StoredKey(Protocol):
    """What the revalidator reads of a stored key (never the secret)."""

    @property
    def id(self) -> int: ...

    @property
    def failure(self) -> KeyFailureState: ...


S = TypeVar("S", bound=StoredKey)


class KeyStore(Protocol[S]):
    """The storage the revalidator needs."""

    async def all_keys(self) -> list[S]: ...

    async def decrypt(self, linked: S) -> str: ...

    async def save_failure_state(
        self, key_row_id: int, state: KeyFailureState, *, validated_at: datetime | None = None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RevalidationReport(Generic[S]):
    """One cycle: the policy's decision and the keys whose owners should be told (once)."""

    decision: CycleDecision[int]
    to_notify: Sequence[S]


class KeyRevalidator(Generic[S]):
    """Runs revalidation cycles and records use-time answers for one key store."""

    def __init__(
        self,
        store: KeyStore[S],
        gw2: GW2Client,
        *,
        clock: Clock,
        metrics: KeyMetrics,
        policy: RevalidationPolicy | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.store = store
        self.gw2 = gw2
        self.clock = clock
        self.metrics = metrics
        self.policy = policy or RevalidationPolicy()
        self.concurrency = concurrency

    async def revalidate_all(self) -> RevalidationReport[S]:
        """One background cycle: re-check every stored key, apply the policy, persist."""
        store = self.store
        linked = await store.all_keys()
        by_id = {item.id: item for item in linked}
        results: dict[int, CheckResult] = {}
        gate = asyncio.Semaphore(self.concurrency)

        async def check(item: S) -> None:
            async with gate:
                try:
                    key = await store.decrypt(item)
                except LookupError:
                    return  # removed while the cycle ran
                results[item.id] = await self.check_stored_key(key)

        await asyncio.gather(*(check(item) for item in linked))
        before = {key_id: by_id[key_id].failure for key_id in results}
        now = self.clock.now()
        decision = decide(results, before, now, self.policy)
        self.metrics.record_decision(decision)
        changed = decision.changed(before)
        for key_id, result in results.items():
            if key_id in changed or result is CheckResult.VALID:
                await store.save_failure_state(
                    key_id,
                    decision.states[key_id],
                    validated_at=now if result is CheckResult.VALID else None,
                )
        if decision.outage:
            log.warning(
                "Key revalidation: %d of %d keys answered invalid at once; treating it as a GW2 "
                "API outage and marking none",
                decision.counts[CheckResult.INVALID_KEY],
                len(results),
            )
        log.info(
            "Key revalidation: %d checked, %d valid, %d invalid, %d unanswered, %d marked invalid",
            len(results),
            decision.counts[CheckResult.VALID],
            decision.counts[CheckResult.INVALID_KEY],
            decision.counts[CheckResult.TRANSIENT_ERROR],
            len(decision.mark_invalid),
        )
        return RevalidationReport(decision, [by_id[key_id] for key_id in decision.notify])

    async def use_key(self, linked: S, key: str, call: Callable[[str], Awaitable[T]]) -> T:
        """Run ``call`` with the plaintext ``key`` of ``linked`` and record the answer.

        An invalid-key answer counts once towards marking the key invalid (never drops it on one
        failure) and is re-raised for the user; a success resets the key's failure streak.
        """
        try:
            result = await call(key)
        except InvalidKeyError:
            await self.record_use(linked, CheckResult.INVALID_KEY)
            raise
        await self.record_use(linked, CheckResult.VALID)
        return result

    async def record_use(self, linked: S, result: CheckResult) -> None:
        """Apply the policy to one answer a command got with a stored key."""
        now = self.clock.now()
        decision = decide({linked.id: result}, {linked.id: linked.failure}, now, self.policy)
        self.metrics.record_decision(decision)
        state = decision.states[linked.id]
        if result is CheckResult.VALID or state != linked.failure:
            await self.store.save_failure_state(
                linked.id, state, validated_at=now if result is CheckResult.VALID else None
            )

    async def check_stored_key(self, key: str) -> CheckResult:
        """One key's answer: valid, invalid, or nothing known (a transient error or stale data)."""
        try:
            info = await self.gw2.tokeninfo(key, refresh=True)
        except InvalidKeyError:
            return CheckResult.INVALID_KEY
        except GW2APIError:
            return CheckResult.TRANSIENT_ERROR
        return CheckResult.TRANSIENT_ERROR if info.stale else CheckResult.VALID
