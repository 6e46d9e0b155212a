"""Retry policy: backoff with jitter, Meta's wait hints, caps, windows, the token circuit."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate import retry
from capigate.classify import Outcome, OutcomeKind, ProbeVerdict
from capigate.errors import ConfigError
from capigate.retry import CircuitState, CircuitStatus, Decision, DecisionKind, RetryPolicy

NOW_S = 1_763_800_000.0
FRESH_S = NOW_S - 60.0  # an event from a minute ago
DAY_S = 86_400.0
POLICY = RetryPolicy()

TRANSIENT = Outcome(
    OutcomeKind.TRANSIENT, status=503, message="HTTP 503 without a Graph error body"
)
THROTTLED = Outcome(OutcomeKind.RATE_LIMITED, status=400, code=80004, message="too many calls")


def _decide(outcome: Outcome, attempts: int = 1, rand: float = 0.5, **kw: float) -> Decision:
    kw.setdefault("oldest_event_time_s", FRESH_S)
    return retry.decide(outcome, attempts=attempts, now_s=NOW_S, rand=rand, **kw)  # type: ignore[arg-type]


def _delay(decision: Decision) -> float:
    assert decision.kind is DecisionKind.RETRY and decision.retry_at_s is not None
    return decision.retry_at_s - NOW_S


# --- every decision kind -----------------------------------------------------------------------


def test_delivered_is_acknowledged() -> None:
    """A 2xx acknowledges the events."""
    decision = _decide(Outcome(OutcomeKind.DELIVERED, status=200, events_received=3))
    assert (decision.kind, decision.reason, decision.retry_at_s) == (
        DecisionKind.ACK,
        "delivered",
        None,
    )


def test_permanent_is_dead_lettered_with_meta_code() -> None:
    """A permanent rejection keeps Meta's code, subcode, user message and trace id."""
    outcome = Outcome(
        OutcomeKind.PERMANENT,
        status=400,
        code=100,
        subcode=2804009,
        message="Invalid parameter",
        user_title="Missing Value for Purchase Event",
        user_msg="Purchase events need a value.",
        fbtrace_id="Ab1",
    )
    assert _decide(outcome, attempts=1) == Decision(
        DecisionKind.DEAD,
        "Meta refused the events: Missing Value for Purchase Event (code 100/2804009)",
        code=100,
        subcode=2804009,
        message="Purchase events need a value.",
        fbtrace_id="Ab1",
    )


def test_too_old_rejection_expires() -> None:
    """Meta's "Event Timestamp Too Old" (100/2804003) means expired, not a payload bug."""
    outcome = Outcome(OutcomeKind.PERMANENT, code=100, subcode=2804003, message="Invalid parameter")
    decision = _decide(outcome)
    assert decision.kind is DecisionKind.EXPIRE
    assert decision.reason == "Meta says too old: Invalid parameter (code 100/2804003)"
    assert decision.subcode == 2804003


@pytest.mark.parametrize("code", [190, 102, 104])
def test_token_error_pauses_without_dead_letters(code: int) -> None:
    """A token error pauses the pixel, even when the attempts are spent."""
    outcome = Outcome(OutcomeKind.TOKEN, code=code, message="Invalid OAuth access token")
    decision = _decide(outcome, attempts=POLICY.max_attempts)
    assert decision.kind is DecisionKind.PAUSE
    assert decision.reason == f"access token refused: Invalid OAuth access token (code {code})"


def test_transient_is_retried() -> None:
    """A 5xx schedules a retry with a reason the dashboard can show."""
    decision = _decide(TRANSIENT, attempts=1, rand=1.0)
    assert _delay(decision) == 2.0
    assert decision.reason == "retry 2 in 2 s: HTTP 503 without a Graph error body"


def test_attempts_exhausted_dead_letters_with_the_last_error() -> None:
    """After max_attempts the events are dead-lettered, keeping the last code."""
    outcome = Outcome(OutcomeKind.TRANSIENT, code=2, message="Service temporarily unavailable")
    decision = _decide(outcome, attempts=POLICY.max_attempts)
    assert decision.kind is DecisionKind.DEAD
    assert decision.code == 2
    assert decision.reason == (
        f"gave up after {POLICY.max_attempts} attempts; last: "
        "Service temporarily unavailable (code 2)"
    )
    assert _decide(outcome, attempts=POLICY.max_attempts - 1).kind is DecisionKind.RETRY


# --- backoff and jitter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "full_s"), [(1, 2.0), (2, 4.0), (3, 8.0), (9, 512.0), (10, 900.0), (19, 900.0)]
)
def test_backoff_doubles_up_to_the_cap_with_bounded_jitter(attempts: int, full_s: float) -> None:
    """rand=1 gives the full backoff, rand=0 the smallest jittered one (1 - jitter)."""
    assert _delay(_decide(TRANSIENT, attempts=attempts, rand=1.0)) == full_s
    assert _delay(_decide(TRANSIENT, attempts=attempts, rand=0.0)) == full_s * 0.75


def test_backoff_survives_huge_attempt_counts() -> None:
    """A very large attempt count still gives the capped delay, not an overflow."""
    assert POLICY.backoff_s(10_000, 1.0) == POLICY.max_delay_s


@settings(max_examples=300, deadline=None)
@given(attempts=st.integers(1, 200), rand=st.floats(0, 1))
def test_jitter_stays_within_bounds(attempts: int, rand: float) -> None:
    """Every delay lies in [(1 - jitter) * backoff, backoff] and under max_delay_s."""
    low = POLICY.backoff_s(attempts, 0.0)
    high = POLICY.backoff_s(attempts, 1.0)
    assert low <= POLICY.backoff_s(attempts, rand) <= high <= POLICY.max_delay_s


@pytest.mark.parametrize(("attempts", "rand"), [(0, 0.5), (1, -0.1), (1, 1.5)])
def test_decide_refuses_nonsense_inputs(attempts: int, rand: float) -> None:
    """Attempts start at 1 and rand is a uniform draw in [0, 1]."""
    with pytest.raises(ValueError, match="decide needs"):
        _decide(TRANSIENT, attempts=attempts, rand=rand)


# --- Meta's hints and floors -------------------------------------------------------------------


def test_retry_after_is_honoured() -> None:
    """A Retry-After longer than the backoff is waited out exactly."""
    outcome = dataclasses.replace(TRANSIENT, retry_after_s=120.0)
    assert _delay(_decide(outcome, rand=1.0)) == 120.0


def test_retry_after_is_capped() -> None:
    """A Retry-After of a day waits only max_retry_after_s."""
    outcome = dataclasses.replace(TRANSIENT, retry_after_s=DAY_S)
    assert _delay(_decide(outcome)) == POLICY.max_retry_after_s


def test_short_retry_after_does_not_shorten_the_backoff() -> None:
    """Retry-After is a minimum: a longer backoff still applies."""
    outcome = dataclasses.replace(TRANSIENT, retry_after_s=1.0)
    assert _delay(_decide(outcome, attempts=5, rand=1.0)) == 32.0


def test_rate_limit_waits_at_least_the_throttling_block() -> None:
    """A throttle without hints waits rate_limit_min_delay_s, not 2 s."""
    assert _delay(_decide(THROTTLED, rand=1.0)) == POLICY.rate_limit_min_delay_s


def test_rate_limit_honours_regain_access_hint() -> None:
    """A throttle with estimated_time_to_regain_access (as retry_after_s) waits that long."""
    outcome = dataclasses.replace(THROTTLED, retry_after_s=300.0)
    assert _delay(_decide(outcome)) == 300.0


def test_policy_block_waits_much_longer() -> None:
    """Code 368 (policy block) waits policy_block_delay_s even on the first retry."""
    outcome = Outcome(OutcomeKind.TRANSIENT, code=368, message="Temporarily blocked")
    decision = _decide(outcome, rand=1.0)
    assert _delay(decision) == POLICY.policy_block_delay_s
    assert decision.reason.endswith("Temporarily blocked (code 368)")


# --- the event window --------------------------------------------------------------------------


def test_never_schedules_past_the_window() -> None:
    """An event whose 7-day window closes before the next attempt expires instead."""
    oldest = NOW_S - 7 * DAY_S + POLICY.window_margin_s + 100.0  # 100 s left
    assert _delay(_decide(TRANSIENT, rand=1.0, oldest_event_time_s=oldest)) == 2.0
    outcome = dataclasses.replace(TRANSIENT, retry_after_s=120.0)
    decision = _decide(outcome, oldest_event_time_s=oldest)
    assert decision.kind is DecisionKind.EXPIRE
    assert decision.reason == (
        "the next attempt would pass the events' 7-day window; "
        "last: HTTP 503 without a Graph error body"
    )


def test_physical_store_events_have_62_days() -> None:
    """physical_store events keep retrying where a website event would expire."""
    oldest = NOW_S - 30 * DAY_S
    assert _decide(TRANSIENT, oldest_event_time_s=oldest).kind is DecisionKind.EXPIRE
    age_s = retry.max_event_age_s("physical_store")
    assert _decide(TRANSIENT, oldest_event_time_s=oldest, age_s=age_s).kind is DecisionKind.RETRY


def test_window_per_action_source() -> None:
    """Only physical_store gets 62 days; everything else has 7."""
    assert retry.max_event_age_s("physical_store") == 62 * DAY_S
    assert retry.max_event_age_s("website") == 7 * DAY_S
    assert retry.max_event_age_s(None) == 7 * DAY_S


def test_deadline_keeps_a_safety_margin() -> None:
    """The deadline is event_time + window - margin."""
    assert POLICY.deadline_s(NOW_S) == NOW_S + 7 * DAY_S - POLICY.window_margin_s


# --- the policy itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"multiplier": 0.5},
        {"multiplier": 11},
        {"max_attempts": 0},
        {"base_delay_s": 0},
        {"probe_base_delay_s": -1},
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    """A policy that could never retry sensibly fails at start-up."""
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_custom_policy_is_used() -> None:
    """decide follows the policy it is given."""
    policy = RetryPolicy(base_delay_s=10.0, jitter=0.0, max_attempts=2)
    decision = retry.decide(
        TRANSIENT, attempts=1, now_s=NOW_S, oldest_event_time_s=FRESH_S, rand=0.3, policy=policy
    )
    assert _delay(decision) == 10.0
    decision = retry.decide(
        TRANSIENT, attempts=2, now_s=NOW_S, oldest_event_time_s=FRESH_S, rand=0.3, policy=policy
    )
    assert decision.kind is DecisionKind.DEAD


# --- the token circuit -------------------------------------------------------------------------


def _opened() -> CircuitState:
    return retry.on_token_error(retry.CLOSED, NOW_S, reason="token refused (code 190)")


def test_token_error_opens_the_circuit() -> None:
    """A closed circuit opens, remembers why and when, and schedules the first probe."""
    state = _opened()
    assert state == CircuitState(
        CircuitStatus.OPEN,
        opened_at_s=NOW_S,
        reason="token refused (code 190)",
        next_probe_at_s=NOW_S + POLICY.probe_base_delay_s,
    )
    assert state.paused and not retry.CLOSED.paused


def test_more_token_errors_do_not_push_the_probe_back() -> None:
    """Sends already in flight that fail too only update the reason."""
    state = retry.on_token_error(_opened(), NOW_S + 5, reason="expired (code 190/463)")
    assert state.reason == "expired (code 190/463)"
    assert (state.opened_at_s, state.next_probe_at_s) == (NOW_S, NOW_S + POLICY.probe_base_delay_s)


def test_probe_falls_due_after_its_delay() -> None:
    """No probe before next_probe_at_s; one at or after it; never on a closed circuit."""
    state = _opened()
    assert not retry.probe_due(state, NOW_S + POLICY.probe_base_delay_s - 1)
    assert retry.probe_due(state, NOW_S + POLICY.probe_base_delay_s)
    assert not retry.probe_due(retry.CLOSED, NOW_S + DAY_S)


def test_probe_in_flight_is_half_open_and_falls_due_again_if_lost() -> None:
    """Starting a probe half-opens the circuit; a lost probe is retried after a backoff."""
    probe_at = NOW_S + POLICY.probe_base_delay_s
    state = retry.start_probe(_opened(), probe_at)
    assert state.status is CircuitStatus.HALF_OPEN and state.paused
    assert not retry.probe_due(state, probe_at + 1)
    assert retry.probe_due(state, probe_at + POLICY.probe_delay_s(1))


def test_passed_probe_closes_the_circuit() -> None:
    """A probe that proves the token resumes delivery."""
    state = retry.start_probe(_opened(), NOW_S + 30)
    assert retry.on_probe_result(state, ProbeVerdict.PASSED, NOW_S + 31) == retry.CLOSED


def test_failed_probes_back_off_up_to_a_cap() -> None:
    """Each failed probe doubles the wait for the next one, up to probe_max_delay_s."""
    state, now_s, waits = _opened(), NOW_S, []
    for _ in range(8):
        now_s = state.next_probe_at_s or now_s
        state = retry.start_probe(state, now_s)
        state = retry.on_probe_result(state, ProbeVerdict.FAILED, now_s + 1, reason="still 190")
        waits.append((state.next_probe_at_s or 0) - (now_s + 1))
    assert waits == [60.0, 120.0, 240.0, 480.0, 900.0, 900.0, 900.0, 900.0]
    assert (state.status, state.failed_probes, state.reason) == (CircuitStatus.OPEN, 8, "still 190")
    assert state.opened_at_s == NOW_S


def test_inconclusive_probe_tries_again_without_counting_a_failure() -> None:
    """A probe that could not reach Meta keeps the reason and the backoff level."""
    state = retry.start_probe(_opened(), NOW_S + 30)
    state = retry.on_probe_result(state, ProbeVerdict.INCONCLUSIVE, NOW_S + 31)
    assert (state.status, state.failed_probes, state.reason) == (
        CircuitStatus.OPEN,
        0,
        "token refused (code 190)",
    )
    assert state.next_probe_at_s == NOW_S + 31 + POLICY.probe_base_delay_s


def test_any_success_closes_the_circuit() -> None:
    """A delivery that succeeds (a send already in flight, say) proves the token works."""
    assert retry.on_success(_opened()) == retry.CLOSED
    assert retry.on_success(retry.CLOSED) == retry.CLOSED
