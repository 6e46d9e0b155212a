"""Retry timing: exponential backoff with equal jitter, capped, and Retry-After."""

from __future__ import annotations

import pytest

from capigate.client import RetryPolicy
from capigate.client.backoff import parse_retry_after

NOW_S = 1_763_800_000.0  # Sat, 22 Nov 2025 08:26:40 GMT


def test_backoff_doubles_up_to_the_cap_with_jitter_between_half_and_all() -> None:
    """random()=0 waits half the ceiling, random()=1 all of it; the ceiling doubles, capped."""
    policy = RetryPolicy(attempts=10, base_s=0.5, cap_s=4.0)
    low = [policy.backoff_s(n, lambda: 0.0) for n in range(1, 7)]
    high = [policy.backoff_s(n, lambda: 1.0) for n in range(1, 7)]
    assert low == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_wait_stops_when_the_tries_are_used() -> None:
    """attempts counts every try: three tries allow two retries."""
    policy = RetryPolicy(attempts=3, base_s=1.0, cap_s=8.0)
    waits = [policy.wait_s(n, None, lambda: 0.5) for n in (1, 2, 3)]
    assert waits == [0.75, 1.5, None]


def test_wait_honours_retry_after_when_longer_than_the_backoff() -> None:
    """Retry-After is a floor; a shorter one leaves the backoff as it is."""
    policy = RetryPolicy(attempts=5, base_s=1.0, cap_s=8.0, max_retry_after_s=60.0)
    assert policy.wait_s(1, 7.0, lambda: 0.5) == 7.0
    assert policy.wait_s(3, 1.0, lambda: 0.5) == 3.0


def test_wait_gives_up_on_a_retry_after_beyond_the_maximum() -> None:
    """A pause longer than max_retry_after_s ends the call (the spool waits instead)."""
    policy = RetryPolicy(attempts=5, max_retry_after_s=60.0)
    assert policy.wait_s(1, 61.0, lambda: 0.5) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        (" 120 ", 120.0),
        ("Sat, 22 Nov 2025 08:27:10 GMT", 30.0),
        ("Sat, 22 Nov 2025 08:00:00 GMT", 0.0),  # in the past: at once
        (None, None),
        ("", None),
        ("-3", None),
        ("soon", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Delta-seconds and HTTP dates are read; anything else is ignored."""
    assert parse_retry_after(value, now_s=NOW_S) == seconds


def test_policy_refuses_nonsense() -> None:
    """No tries, or a base above the cap, is a configuration error."""
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=10.0, cap_s=1.0)
