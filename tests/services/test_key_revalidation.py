"""The revalidation policy: thresholds over time, transient errors, the outage guard, one DM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.keys.metrics import KeyMetrics
from services.keys.revalidation import (
    CheckResult,
    KeyFailureState,
    RevalidationPolicy,
    decide,
    is_outage,
    record_result,
)

VALID = CheckResult.VALID
INVALID = CheckResult.INVALID_KEY
TRANSIENT = CheckResult.TRANSIENT_ERROR
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def run(results: list[tuple[timedelta, CheckResult]]) -> KeyFailureState:
    """Feed one key's answers (offset from T0) through ``decide`` one cycle at a time."""
    state = KeyFailureState()
    for offset, result in results:
        state = decide({1: result}, {1: state}, T0 + offset).states[1]
    return state


def healthy_cycle(invalid_keys: dict[int, CheckResult]) -> dict[int, CheckResult]:
    """Mix the keys under test into a cycle where ten other keys answer valid."""
    return {**{100 + i: VALID for i in range(10)}, **invalid_keys}


def test_three_invalid_answers_over_six_hours_mark_the_key() -> None:
    state = run([(0 * HOUR, INVALID), (3 * HOUR, INVALID), (6 * HOUR, INVALID)])
    assert state.invalid
    assert state.consecutive_invalid == 3
    assert state.first_invalid_at == T0
    assert state.last_invalid_at == T0 + 6 * HOUR


def test_three_quick_invalid_answers_are_not_enough() -> None:
    state = run([(0 * HOUR, INVALID), (1 * HOUR, INVALID), (2 * HOUR, INVALID)])
    assert not state.invalid
    assert state.consecutive_invalid == 3


def test_many_answers_within_the_span_wait_for_the_span() -> None:
    state = run([(i * 30 * timedelta(minutes=1), INVALID) for i in range(12)])  # 5.5 h
    assert not state.invalid
    state = decide({1: INVALID}, {1: state}, T0 + 6 * HOUR).states[1]
    assert state.invalid


def test_two_answers_over_a_long_time_are_not_enough() -> None:
    state = run([(0 * HOUR, INVALID), (48 * HOUR, INVALID)])
    assert not state.invalid


def test_a_valid_answer_resets_the_streak() -> None:
    state = run([(0 * HOUR, INVALID), (3 * HOUR, INVALID), (4 * HOUR, VALID), (7 * HOUR, INVALID)])
    assert not state.invalid
    assert state.consecutive_invalid == 1
    assert state.first_invalid_at == T0 + 7 * HOUR


def test_transient_errors_neither_count_nor_reset() -> None:
    state = run(
        [
            (0 * HOUR, INVALID),
            (1 * HOUR, TRANSIENT),
            (2 * HOUR, TRANSIENT),
            (3 * HOUR, INVALID),
            (4 * HOUR, TRANSIENT),
        ]
    )
    assert state.consecutive_invalid == 2
    assert not state.invalid
    state = decide({1: INVALID}, {1: state}, T0 + 6 * HOUR).states[1]
    assert state.invalid


def test_the_owner_is_notified_once() -> None:
    states: dict[int, KeyFailureState] = {}
    notified_at = []
    for hour in range(0, 30, 3):
        decision = decide(healthy_cycle({1: INVALID}), states, T0 + hour * HOUR)
        if 1 in decision.notify:
            notified_at.append(hour)
        states = decision.states
    assert notified_at == [6]
    assert states[1].invalid
    assert states[1].notified


def test_mark_invalid_lists_keys_only_in_the_cycle_they_turn_invalid() -> None:
    states: dict[int, KeyFailureState] = {}
    marked = []
    for hour in range(0, 15, 3):
        decision = decide(healthy_cycle({1: INVALID}), states, T0 + hour * HOUR)
        marked.append(decision.mark_invalid)
        states = decision.states
    assert marked == [frozenset(), frozenset(), frozenset({1}), frozenset(), frozenset()]


def test_a_marked_key_that_answers_valid_recovers_and_may_be_notified_again() -> None:
    invalid_state = KeyFailureState(3, T0, T0 + 6 * HOUR, invalid=True, notified=True)
    decision = decide({1: VALID}, {1: invalid_state}, T0 + 7 * HOUR)
    assert decision.recovered == {1}
    assert decision.states[1] == KeyFailureState()

    states = decision.states
    for hour in (8, 11, 14):
        decision = decide({1: INVALID}, states, T0 + hour * HOUR)
        states = decision.states
    assert decision.notify == {1}


def test_outage_cycle_counts_and_marks_nothing() -> None:
    almost = KeyFailureState(2, T0, T0 + 3 * HOUR)
    states = {1: almost, 2: almost, 3: KeyFailureState(), 4: KeyFailureState()}
    cycle = {1: INVALID, 2: INVALID, 3: INVALID, 4: VALID}
    decision = decide(cycle, states, T0 + 8 * HOUR)
    assert decision.outage
    assert decision.mark_invalid == frozenset()
    assert decision.notify == frozenset()
    assert decision.states[1] == almost
    assert decision.states[3] == KeyFailureState()
    assert decision.changed(states) == {}


def test_valid_answers_still_reset_in_an_outage_cycle() -> None:
    started = KeyFailureState(1, T0, T0)
    decision = decide({1: VALID, 2: INVALID, 3: INVALID, 4: INVALID}, {1: started}, T0 + HOUR)
    assert decision.outage
    assert decision.states[1] == KeyFailureState()


def test_half_the_keys_invalid_is_an_outage() -> None:
    assert is_outage({1: INVALID, 2: INVALID, 3: VALID, 4: VALID})
    assert not is_outage({1: INVALID, 2: VALID, 3: VALID, 4: VALID})


def test_fewer_than_four_checked_is_never_an_outage() -> None:
    assert not is_outage({1: INVALID, 2: INVALID, 3: INVALID})
    decision = decide({1: INVALID}, {1: KeyFailureState(2, T0, T0)}, T0 + 6 * HOUR)
    assert not decision.outage
    assert decision.mark_invalid == {1}


def test_outage_share_is_taken_over_definitive_answers() -> None:
    assert is_outage({1: INVALID, 2: INVALID, 3: TRANSIENT, 4: TRANSIENT, 5: VALID})
    assert not is_outage({1: TRANSIENT, 2: TRANSIENT, 3: TRANSIENT, 4: TRANSIENT})
    assert not is_outage(dict.fromkeys(range(20), VALID) | {99: INVALID})


def test_policy_is_configurable() -> None:
    policy = RevalidationPolicy(invalid_threshold=2, min_failure_span=HOUR)
    state = record_result(KeyFailureState(), INVALID, T0, policy)
    state = record_result(state, INVALID, T0 + HOUR, policy)
    assert state.invalid


def test_unknown_keys_start_fresh_and_changed_lists_only_differences() -> None:
    before = {1: KeyFailureState(), 2: KeyFailureState()}
    decision = decide(healthy_cycle({1: VALID, 2: INVALID, 3: TRANSIENT}), before, T0)
    assert decision.states[3] == KeyFailureState()
    assert set(decision.changed(before)) == {2}
    assert decision.counts == {VALID: 11, INVALID: 1, TRANSIENT: 1}


cycles = st.lists(
    st.tuples(st.integers(min_value=0, max_value=12 * 3600), st.sampled_from(list(CheckResult))),
    max_size=30,
)


@given(cycles)
def test_never_marked_without_enough_invalid_answers_spread_over_time(
    steps: list[tuple[int, CheckResult]],
) -> None:
    now = T0
    state = KeyFailureState()
    streak: list[datetime] = []
    for gap, result in steps:
        now += timedelta(seconds=gap)
        before = state
        state = record_result(state, result, now)
        if result is VALID:
            streak = []
        elif result is INVALID:
            streak.append(now)
        if state.invalid and not before.invalid:
            assert len(streak) >= 3
            assert streak[-1] - streak[0] >= timedelta(hours=6)
        assert state.consecutive_invalid == len(streak)


@given(st.lists(st.sampled_from([VALID, TRANSIENT]), max_size=20))
def test_keys_that_never_answer_invalid_are_never_marked(results: list[CheckResult]) -> None:
    state = KeyFailureState()
    for i, result in enumerate(results):
        state = record_result(state, result, T0 + i * 7 * HOUR)
    assert state == KeyFailureState()


@given(st.dictionaries(st.integers(), st.sampled_from(list(CheckResult)), min_size=4))
def test_an_outage_cycle_never_marks_or_notifies(cycle: dict[int, CheckResult]) -> None:
    near = KeyFailureState(5, T0, T0)
    decision = decide(cycle, dict.fromkeys(cycle, near), T0 + 24 * HOUR)
    if decision.outage:
        assert not decision.mark_invalid
        assert not decision.notify


def test_metrics_record_a_decision() -> None:
    registry = CollectorRegistry()
    metrics = KeyMetrics(registry)
    states = {1: KeyFailureState(2, T0, T0)}
    metrics.record_decision(decide(healthy_cycle({1: INVALID}), states, T0 + 6 * HOUR))
    metrics.record_decision(decide({1: INVALID, 2: INVALID, 3: INVALID, 4: VALID}, {}, T0))
    metrics.link_attempt("missing_permissions")
    metrics.leaked_key("could_not_delete")

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("gw2opt_key_revalidations_total", outcome="valid") == 11
    assert value("gw2opt_key_revalidations_total", outcome="invalid_key") == 4
    assert value("gw2opt_key_revalidations_total", outcome="transient_error") == 0
    assert value("gw2opt_keys_marked_invalid_total") == 1
    assert value("gw2opt_key_revalidation_outage_cycles_total") == 1
    assert value("gw2opt_key_link_attempts_total", outcome="missing_permissions") == 1
    assert value("gw2opt_key_link_attempts_total", outcome="linked") == 0
    assert value("gw2opt_leaked_keys_total", action="could_not_delete") == 1
    assert value("gw2opt_leaked_keys_total", action="deleted") == 0
