"""What to do after a send, and when to try a paused pixel again: pure, time and chance as inputs.

``decide`` turns a classified ``Outcome`` into a ``Decision``: acknowledge, retry at a time the
store keeps (so it survives restarts), dead-letter, expire, or pause the pixel. Retries back off
exponentially with jitter, honour Meta's wait hints up to a cap, and never land past the events'
window: Meta rejects a whole request holding one event older than 7 days (spec §7.1).

A token error (190, 102, 104) opens the pixel's circuit instead of spending retries; the
``CircuitState`` functions below say when to probe the token and when delivery resumes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Final

from capigate.classify import Outcome, OutcomeKind, ProbeVerdict
from capigate.errors import ConfigError

DAY_S: Final = 86_400.0
MAX_EVENT_AGE_S: Final = 7 * DAY_S  # spec §7.1: older events fail the whole request
PHYSICAL_STORE_MAX_EVENT_AGE_S: Final = 62 * DAY_S  # spec §7.1, offline conversions
TOO_OLD_SUBCODE: Final = 2804003  # Meta's "Event Timestamp Too Old"
_MAX_EXPONENT: Final = 64  # keeps multiplier ** attempts finite; the delay is capped long before


def max_event_age_s(action_source: str | None) -> float:
    """How old an event of this ``action_source`` may be when Meta receives it."""
    return PHYSICAL_STORE_MAX_EVENT_AGE_S if action_source == "physical_store" else MAX_EVENT_AGE_S


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff, caps and windows; the defaults suit Meta's Graph API.

    With the defaults a batch that keeps failing is retried for about 3 hours (20 attempts,
    2 s doubling up to 15 min) before it is dead-lettered; replay can send it again later.
    """

    base_delay_s: float = 2.0
    multiplier: float = 2.0
    max_delay_s: float = 15 * 60.0
    jitter: float = 0.25  # the delay is drawn from [(1 - jitter) * backoff, backoff]
    max_attempts: int = 20
    max_retry_after_s: float = 3600.0  # Meta's Retry-After / regain-access hints, capped
    rate_limit_min_delay_s: float = 60.0  # Meta's shortest throttling block (spec §9)
    policy_block_delay_s: float = 3600.0  # code 368: blocked for a policy violation
    window_margin_s: float = 600.0  # clock skew and request time before the window closes
    probe_base_delay_s: float = 30.0
    probe_max_delay_s: float = 15 * 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"retry jitter must be between 0 and 1, got {self.jitter}")
        if not 1 <= self.multiplier <= 10:
            raise ConfigError(f"retry multiplier must be between 1 and 10, got {self.multiplier}")
        if self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be at least 1, got {self.max_attempts}")
        delays = (self.base_delay_s, self.max_delay_s, self.probe_base_delay_s)
        if min(delays) <= 0:
            raise ConfigError("retry and probe delays must be positive")

    def backoff_s(self, attempts: int, rand: float) -> float:
        """The jittered exponential delay after ``attempts`` failures; ``rand`` is in [0, 1]."""
        exponent = min(attempts - 1, _MAX_EXPONENT)
        backoff = min(self.max_delay_s, self.base_delay_s * self.multiplier**exponent)
        return backoff * (1 - self.jitter + self.jitter * rand)

    def delay_s(self, outcome: Outcome, attempts: int, rand: float) -> float:
        """The wait before the next attempt: backoff, raised to Meta's hints and the floors."""
        floor = 0.0
        if outcome.kind is OutcomeKind.RATE_LIMITED:
            floor = self.rate_limit_min_delay_s
        if outcome.policy_block:
            floor = max(floor, self.policy_block_delay_s)
        if outcome.retry_after_s is not None:
            floor = max(floor, min(outcome.retry_after_s, self.max_retry_after_s))
        return max(self.backoff_s(attempts, rand), floor)

    def deadline_s(self, event_time_s: float, age_s: float = MAX_EVENT_AGE_S) -> float:
        """The last moment an event stamped ``event_time_s`` may safely be sent."""
        return event_time_s + age_s - self.window_margin_s

    def probe_delay_s(self, failed_probes: int) -> float:
        """How long to wait before the next token probe."""
        exponent = min(failed_probes, _MAX_EXPONENT)
        return min(self.probe_max_delay_s, self.probe_base_delay_s * 2.0**exponent)


DEFAULT_POLICY: Final = RetryPolicy()


class DecisionKind(StrEnum):
    """What the worker does with the events of a request."""

    ACK = "ack"  # delivered
    RETRY = "retry"  # send again at retry_at_s
    DEAD = "dead"  # dead-letter, keeping Meta's code, subcode and message
    EXPIRE = "expire"  # the events' window closes before they could be sent
    PAUSE = "pause"  # token refused: open the pixel's circuit; the attempt is not counted


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one request; ``reason`` is what the dashboard shows."""

    kind: DecisionKind
    reason: str
    retry_at_s: float | None = None
    code: int | None = None
    subcode: int | None = None
    message: str = ""
    fbtrace_id: str | None = None


def decide(
    outcome: Outcome,
    *,
    attempts: int,
    now_s: float,
    oldest_event_time_s: float,
    rand: float,
    age_s: float = MAX_EVENT_AGE_S,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> Decision:
    """Decide what follows ``outcome``.

    ``attempts`` counts the attempts made so far, this one included; ``oldest_event_time_s`` is
    the event whose window (``age_s``, see ``max_event_age_s``) closes first; ``rand`` is a
    uniform draw in [0, 1] that spreads retries out.
    """
    if attempts < 1 or not 0 <= rand <= 1:
        raise ValueError(f"decide needs attempts >= 1 and 0 <= rand <= 1, got {attempts}, {rand}")
    if not outcome.retryable:
        return _settle(outcome)
    what = _describe(outcome)
    if attempts >= policy.max_attempts:
        reason = f"gave up after {attempts} attempts; last: {what}"
        return _decision(DecisionKind.DEAD, reason, outcome)
    retry_at_s = now_s + policy.delay_s(outcome, attempts, rand)
    if retry_at_s > policy.deadline_s(oldest_event_time_s, age_s):
        window = f"{age_s / DAY_S:g}-day window"
        reason = f"the next attempt would pass the events' {window}; last: {what}"
        return _decision(DecisionKind.EXPIRE, reason, outcome)
    reason = f"retry {attempts + 1} in {retry_at_s - now_s:.0f} s: {what}"
    return _decision(DecisionKind.RETRY, reason, outcome, retry_at_s=retry_at_s)


def _settle(outcome: Outcome) -> Decision:
    """The decision for an outcome that no retry changes: delivered, token or permanent."""
    what = _describe(outcome)
    if outcome.kind is OutcomeKind.DELIVERED:
        return _decision(DecisionKind.ACK, "delivered", outcome)
    if outcome.kind is OutcomeKind.TOKEN:
        return _decision(DecisionKind.PAUSE, f"access token refused: {what}", outcome)
    if outcome.subcode == TOO_OLD_SUBCODE:
        return _decision(DecisionKind.EXPIRE, f"Meta says too old: {what}", outcome)
    return _decision(DecisionKind.DEAD, f"Meta refused the events: {what}", outcome)


def _describe(outcome: Outcome) -> str:
    """Meta's words plus its code, e.g. ``Event Timestamp Too Old (code 100/2804003)``."""
    text = outcome.user_title or outcome.message or outcome.kind.value
    if outcome.code is None:
        return text
    code = f"{outcome.code}/{outcome.subcode}" if outcome.subcode is not None else str(outcome.code)
    return f"{text} (code {code})"


def _decision(
    kind: DecisionKind, reason: str, outcome: Outcome, *, retry_at_s: float | None = None
) -> Decision:
    return Decision(
        kind,
        reason,
        retry_at_s=retry_at_s,
        code=outcome.code,
        subcode=outcome.subcode,
        message=outcome.user_msg or outcome.message,
        fbtrace_id=outcome.fbtrace_id,
    )


# --- the per-pixel token circuit ---------------------------------------------------------------


class CircuitStatus(StrEnum):
    """Whether a pixel's delivery runs."""

    CLOSED = "closed"  # delivering
    OPEN = "open"  # paused by a token error; waiting for the next probe
    HALF_OPEN = "half_open"  # a probe is in flight


@dataclass(frozen=True, slots=True)
class CircuitState:
    """One pixel's circuit; ``reason`` says why delivery is paused (for logs and /readyz)."""

    status: CircuitStatus = CircuitStatus.CLOSED
    opened_at_s: float | None = None
    reason: str = ""
    next_probe_at_s: float | None = None
    failed_probes: int = 0

    @property
    def paused(self) -> bool:
        """Whether delivery to this pixel waits for a working token."""
        return self.status is not CircuitStatus.CLOSED


CLOSED: Final = CircuitState()


def on_token_error(
    state: CircuitState, now_s: float, *, reason: str, policy: RetryPolicy = DEFAULT_POLICY
) -> CircuitState:
    """A send was refused for its token: open the circuit (an open one only updates its reason,
    so that sends already in flight do not push the next probe back)."""
    if state.paused:
        return replace(state, reason=reason)
    next_probe_at_s = now_s + policy.probe_delay_s(0)
    return CircuitState(CircuitStatus.OPEN, now_s, reason, next_probe_at_s)


def on_success(state: CircuitState) -> CircuitState:
    """Meta accepted something for this pixel: the token works, delivery runs."""
    return CLOSED


def probe_due(state: CircuitState, now_s: float) -> bool:
    """Whether to probe the token now (a probe lost in flight falls due again)."""
    return state.next_probe_at_s is not None and now_s >= state.next_probe_at_s


def start_probe(
    state: CircuitState, now_s: float, *, policy: RetryPolicy = DEFAULT_POLICY
) -> CircuitState:
    """A probe is being sent; if no result ever comes, the next one falls due after a backoff."""
    next_probe_at_s = now_s + policy.probe_delay_s(state.failed_probes + 1)
    return replace(state, status=CircuitStatus.HALF_OPEN, next_probe_at_s=next_probe_at_s)


def on_probe_result(
    state: CircuitState,
    verdict: ProbeVerdict,
    now_s: float,
    *,
    reason: str | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> CircuitState:
    """Close on a passed probe; otherwise stay open, backing off further after a failure."""
    if verdict is ProbeVerdict.PASSED:
        return CLOSED
    failed = state.failed_probes + (verdict is ProbeVerdict.FAILED)
    return replace(
        state,
        status=CircuitStatus.OPEN,
        reason=reason or state.reason,
        failed_probes=failed,
        next_probe_at_s=now_s + policy.probe_delay_s(failed),
    )
