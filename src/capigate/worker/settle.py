"""What Meta's answer means for each event of a request, and what the store keeps of it (pure).

``settle`` turns one ``Outcome`` into ``Settlement``s: a ``retry.Decision`` and the ids it
applies to. Retryable outcomes are decided per event, since events of one batch may have
spent different numbers of attempts and have different windows (a fresh event is never
dead-lettered because a neighbour ran out of attempts); one random draw serves the whole
batch, so its events stay together. Other outcomes settle the request as one.

``on_lease`` runs before a batch is sent: an event whose window is about to close is
expired there, so it can never make Meta refuse its neighbours (spec §7.1).

``events_received`` (spec §1.3): a 2xx answer whose count differs from what was sent is
still acknowledged, and the response kept with the mismatch, logged and counted. Meta
documents no partial acceptance (one bad event rejects the whole request), so the count
names no missing event; resending the batch could double-count events Meta does not
deduplicate (business messaging), while acknowledging loses nothing Meta says it lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, Protocol, TypeVar

from capigate.classify import Outcome, OutcomeKind, check_received
from capigate.retry import DAY_S, Decision, RetryPolicy, decide, max_event_age_s


class Deliverable(Protocol):
    """What settling needs to know of a stored event."""

    @property
    def id(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def event_time(self) -> int: ...
    @property
    def action_source(self) -> str: ...


E = TypeVar("E", bound=Deliverable)
_ID: Callable[[Deliverable], int] = attrgetter("id")
_ATTEMPTS: Callable[[Deliverable], int] = attrgetter("attempts")
_EVENT_TIME: Callable[[Deliverable], int] = attrgetter("event_time")
_ACTION_SOURCE: Callable[[Deliverable], str] = attrgetter("action_source")


@dataclass(frozen=True, slots=True)
class Settlement:
    """A decision and the events (store ids) it applies to."""

    decision: Decision
    ids: tuple[int, ...]


def on_lease(
    events: Sequence[E], *, now_s: float, policy: RetryPolicy
) -> tuple[list[E], dict[str, list[int]]]:
    """Split leased events into those still safe to send and, by reason, those to expire."""
    if _all_fresh(events, now_s=now_s, policy=policy):
        return list(events), {}
    fresh: list[E] = []
    expired: dict[str, list[int]] = {}
    for event in events:
        age_s = max_event_age_s(event.action_source)
        if now_s > policy.deadline_s(event.event_time, age_s):
            expired.setdefault(_window_reason(age_s, policy), []).append(event.id)
        else:
            fresh.append(event)
    return fresh, expired


def settle(
    events: Sequence[Deliverable],
    outcome: Outcome,
    *,
    now_s: float,
    rand: float,
    policy: RetryPolicy,
) -> list[Settlement]:
    """The decisions for every event of one request, grouped, in first-event order."""
    if not events:
        return []
    if not outcome.retryable:
        oldest = min(events, key=_EVENT_TIME)
        decision = decide(
            outcome,
            attempts=max(map(_ATTEMPTS, events)) + 1,
            now_s=now_s,
            oldest_event_time_s=oldest.event_time,
            rand=rand,
            age_s=max_event_age_s(oldest.action_source),
            policy=policy,
        )
        return [Settlement(decision, tuple(map(_ID, events)))]
    groups: dict[Decision, list[int]] = {}
    for event in events:
        decision = decide(
            outcome,
            attempts=event.attempts + 1,
            now_s=now_s,
            oldest_event_time_s=event.event_time,
            rand=rand,
            age_s=max_event_age_s(event.action_source),
            policy=policy,
        )
        groups.setdefault(decision, []).append(event.id)
    return [Settlement(decision, tuple(ids)) for decision, ids in groups.items()]


def _all_fresh(events: Sequence[Deliverable], *, now_s: float, policy: RetryPolicy) -> bool:
    """Whether every event is safe to send, judged by the oldest: one age for them all.

    The deadline grows with event_time, so the oldest event's is the earliest.
    """
    if not events:
        return True
    ages = {max_event_age_s(source) for source in set(map(_ACTION_SOURCE, events))}
    if len(ages) != 1:
        return False
    oldest_s = min(map(_EVENT_TIME, events))
    return not now_s > policy.deadline_s(oldest_s, ages.pop())


def unresolved(outcome: Outcome, count: int) -> Outcome:
    """The outcome for parts still refused when the isolation budget ran out: retry them."""
    what = outcome.user_title or outcome.message or "refused"
    message = f"{count} events still to isolate from a batch Meta refused ({what})"
    return replace(outcome, kind=OutcomeKind.TRANSIENT, message=message, user_title=None)


def error_record(decision: Decision, outcome: Outcome) -> dict[str, Any]:
    """What the store keeps of a failed attempt: Meta's code, subcode, message and trace id."""
    return {
        "reason": decision.reason,
        "kind": outcome.kind.value,
        "status": outcome.status,
        "code": decision.code,
        "subcode": decision.subcode,
        "title": outcome.user_title,
        "message": decision.message,
        "fbtrace_id": decision.fbtrace_id,
    }


def response_record(outcome: Outcome, sent: int) -> dict[str, Any]:
    """What the store keeps of a success, with any ``events_received`` mismatch."""
    return {
        "status": outcome.status,
        "events_received": outcome.events_received,
        "sent": sent,
        "messages": list(outcome.messages),
        "fbtrace_id": outcome.fbtrace_id,
        "mismatch": check_received(sent, outcome),
    }


def ids_of(events: Iterable[Deliverable]) -> list[int]:
    """The store ids of ``events``."""
    return [event.id for event in events]


def _window_reason(age_s: float, policy: RetryPolicy) -> str:
    margin_min = policy.window_margin_s / 60
    return (
        f"event_time is too old to send: Meta refuses events older than {age_s / DAY_S:g} days "
        f"(expired {margin_min:g} min before the limit, so the request cannot arrive late)"
    )
