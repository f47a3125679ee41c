"""The per-user sliding-window limiter for key-link attempts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clock import ManualClock
from services.errors import UserFacingError
from services.keys.attempts import AttemptLimiter, TooManyAttemptsError, retry_message


def make_limiter(**kwargs: int) -> tuple[AttemptLimiter, ManualClock]:
    clock = ManualClock()
    return AttemptLimiter(clock=clock, **kwargs), clock


def test_five_attempts_pass_and_the_sixth_waits_for_the_window() -> None:
    limiter, clock = make_limiter()
    for _ in range(5):
        assert limiter.check(42) is None
        clock.advance(10)
    retry_after = limiter.check(42)
    assert retry_after == pytest.approx(600 - 50)


def test_the_window_slides() -> None:
    limiter, clock = make_limiter()
    for _ in range(5):
        assert limiter.check(42) is None
        clock.advance(60)
    # t=300: the oldest attempt (t=0) leaves the window at t=600.
    clock.advance(300 - 1)
    assert limiter.check(42) == pytest.approx(1)
    clock.advance(1)
    assert limiter.check(42) is None
    assert limiter.check(42) is not None  # the t=60 attempt is still inside


def test_refused_calls_do_not_extend_the_wait() -> None:
    limiter, clock = make_limiter(max_attempts=2, window_s=100)
    limiter.check(1)
    limiter.check(1)
    for _ in range(20):
        clock.advance(4)
        assert limiter.check(1) is not None
    clock.advance(20)
    assert limiter.check(1) is None


def test_users_are_limited_independently() -> None:
    limiter, _ = make_limiter(max_attempts=1)
    assert limiter.check("alice") is None
    assert limiter.check("alice") is not None
    assert limiter.check("bob") is None


def test_idle_users_are_forgotten() -> None:
    limiter, clock = make_limiter()
    for user in range(1000):
        limiter.check(user)
    assert len(limiter) == 1000
    clock.advance(601)
    limiter.check("newcomer")
    assert len(limiter) == 1


def test_tracked_users_are_capped() -> None:
    limiter, _ = make_limiter(max_tracked_users=50)
    for user in range(500):
        limiter.check(user)
    assert len(limiter) == 50


def test_remaining_and_reset() -> None:
    limiter, _ = make_limiter(max_attempts=3)
    assert limiter.remaining(7) == 3
    limiter.check(7)
    assert limiter.remaining(7) == 2
    limiter.check(7)
    limiter.check(7)
    assert limiter.remaining(7) == 0
    limiter.reset(7)
    assert limiter.remaining(7) == 3
    assert limiter.check(7) is None


def test_enforce_raises_a_user_facing_error_with_the_wait() -> None:
    limiter, _ = make_limiter(max_attempts=1)
    limiter.enforce(9)
    with pytest.raises(TooManyAttemptsError) as caught:
        limiter.enforce(9)
    assert isinstance(caught.value, UserFacingError)
    assert caught.value.retry_after_s == pytest.approx(600)
    assert str(caught.value) == "Too many key attempts. Try again in 10 min."


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (42.1, "43 s"), (59, "59 s"), (60, "1 min"), (61, "2 min"), (599.5, "10 min")],
)
def test_retry_message(seconds: float, text: str) -> None:
    assert retry_message(seconds) == f"Too many key attempts. Try again in {text}."


def test_invalid_configuration_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        AttemptLimiter(max_attempts=0, clock=ManualClock())


@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0, 200)), max_size=60))
def test_allowed_exactly_while_under_the_limit_in_the_window(
    steps: list[tuple[int, float]],
) -> None:
    limiter, clock = make_limiter(max_attempts=3, window_s=100)
    allowed: dict[int, list[float]] = {}
    for user, gap in steps:
        clock.advance(gap)
        now = clock.monotonic()
        recent = [t for t in allowed.get(user, []) if t > now - 100]
        retry_after = limiter.check(user)
        if retry_after is None:
            assert len(recent) < 3
            allowed.setdefault(user, []).append(now)
        else:
            assert len(recent) == 3
            assert retry_after == pytest.approx(recent[0] + 100 - now)
