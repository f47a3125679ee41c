"""When to give up on a stored key: a pure policy over revalidation answers.

A key is marked invalid only after ``invalid_threshold`` invalid-key answers in a row that span at
least ``min_failure_span``; a valid answer resets the streak and transient errors (timeouts, 5xx,
rate limits) neither count nor reset. A cycle in which most checked keys suddenly come back
invalid is an API outage, not a mass deletion: no invalid answer counts in that cycle.

The caller (the background loop, or a command that just used a key) runs the checks, passes the
answers and the stored ``KeyFailureState`` of each key to ``decide``, persists the new states,
then DMs the owners of the keys in ``decision.notify`` (their state is already ``notified``, so a
user is told once per key going invalid).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class CheckResult(StrEnum):
    """What one revalidation of one key answered."""

    VALID = "valid"
    INVALID_KEY = "invalid_key"  # the API said the key is invalid (deleted, revoked, expired)
    TRANSIENT_ERROR = "transient_error"  # timeout, 5xx, rate limited, endpoint disabled ...


@dataclass(frozen=True)
class RevalidationPolicy:
    """The thresholds; the defaults suit an hourly-or-slower background loop."""

    invalid_threshold: int = 3
    min_failure_span: timedelta = timedelta(hours=6)
    outage_fraction: float = 0.5
    outage_min_checked: int = 4


DEFAULT_POLICY = RevalidationPolicy()


@dataclass(frozen=True)
class KeyFailureState:
    """What storage keeps per key between checks. A new key starts as ``KeyFailureState()``."""

    consecutive_invalid: int = 0
    first_invalid_at: datetime | None = None
    last_invalid_at: datetime | None = None
    invalid: bool = False
    notified: bool = False


@dataclass(frozen=True)
class CycleDecision(Generic[K]):
    """The outcome of one revalidation cycle (or of a single use-time check)."""

    outage: bool
    states: dict[K, KeyFailureState]  # new state of every key that was checked
    mark_invalid: frozenset[K]  # newly marked invalid in this cycle
    notify: frozenset[K]  # owners to tell once, by DM
    recovered: frozenset[K]  # were marked invalid, answered valid again
    counts: dict[CheckResult, int]  # answers by result, for metrics

    def changed(self, before: Mapping[K, KeyFailureState]) -> dict[K, KeyFailureState]:
        """The states that differ from ``before`` (what needs writing back)."""
        return {
            key: state
            for key, state in self.states.items()
            if before.get(key, KeyFailureState()) != state
        }


def record_result(
    state: KeyFailureState,
    result: CheckResult,
    now: datetime,
    policy: RevalidationPolicy = DEFAULT_POLICY,
) -> KeyFailureState:
    """``state`` after one answer for its key (no outage guard: see ``decide``)."""
    if result is CheckResult.TRANSIENT_ERROR:
        return state
    if result is CheckResult.VALID:
        return KeyFailureState()
    first = state.first_invalid_at or now
    count = state.consecutive_invalid + 1
    reached = count >= policy.invalid_threshold and now - first >= policy.min_failure_span
    return replace(
        state,
        consecutive_invalid=count,
        first_invalid_at=first,
        last_invalid_at=now,
        invalid=state.invalid or reached,
    )


def is_outage(
    cycle_results: Mapping[K, CheckResult], policy: RevalidationPolicy = DEFAULT_POLICY
) -> bool:
    """Whether so many keys came back invalid at once that the API, not the keys, is at fault.

    Needs at least ``outage_min_checked`` keys checked; then invalid answers making up at least
    ``outage_fraction`` of the definitive (valid or invalid) answers mean an outage.
    """
    if len(cycle_results) < policy.outage_min_checked:
        return False
    invalid = sum(1 for r in cycle_results.values() if r is CheckResult.INVALID_KEY)
    definitive = sum(1 for r in cycle_results.values() if r is not CheckResult.TRANSIENT_ERROR)
    return invalid > 0 and invalid >= policy.outage_fraction * definitive


def decide(
    cycle_results: Mapping[K, CheckResult],
    states: Mapping[K, KeyFailureState],
    now: datetime,
    policy: RevalidationPolicy = DEFAULT_POLICY,
) -> CycleDecision[K]:
    """New states and actions for every key in ``cycle_results``.

    Keys missing from ``states`` start fresh. In an outage cycle invalid answers are ignored
    (valid answers still reset their keys: that evidence is good either way).
    """
    outage = is_outage(cycle_results, policy)
    new_states: dict[K, KeyFailureState] = {}
    mark_invalid: set[K] = set()
    notify: set[K] = set()
    recovered: set[K] = set()
    counts = dict.fromkeys(CheckResult, 0)
    for key, result in cycle_results.items():
        counts[result] += 1
        before = states.get(key, KeyFailureState())
        if outage and result is CheckResult.INVALID_KEY:
            new_states[key] = before
            continue
        after = record_result(before, result, now, policy)
        if after.invalid and not before.invalid:
            mark_invalid.add(key)
        if before.invalid and not after.invalid:
            recovered.add(key)
        if after.invalid and not after.notified:
            notify.add(key)
            after = replace(after, notified=True)
        new_states[key] = after
    return CycleDecision(
        outage=outage,
        states=new_states,
        mark_invalid=frozenset(mark_invalid),
        notify=frozenset(notify),
        recovered=frozenset(recovered),
        counts=counts,
    )
