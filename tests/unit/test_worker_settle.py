"""What each event's outcome means: per-event retry decisions, lease-time expiry, records."""

from __future__ import annotations

from dataclasses import dataclass

from capigate.classify import Outcome, OutcomeKind
from capigate.retry import DAY_S, DecisionKind, RetryPolicy, max_event_age_s
from capigate.worker.settle import (
    error_record,
    on_lease,
    response_record,
    settle,
    unresolved,
)

NOW_S = 1_763_800_000.0
POLICY = RetryPolicy(max_attempts=5)


@dataclass(frozen=True)
class Ev:
    id: int
    attempts: int = 0
    event_time: int = int(NOW_S) - 60
    action_source: str = "website"


def _outcome(kind: OutcomeKind, **kw: object) -> Outcome:
    return Outcome(kind, **kw)  # type: ignore[arg-type]


def test_delivered_batch_is_acknowledged_as_one() -> None:
    """A 2xx settles every event with one ACK."""
    [s] = settle([Ev(1), Ev(2)], _outcome(OutcomeKind.DELIVERED, status=200), now_s=NOW_S,
                 rand=0.5, policy=POLICY)  # fmt: skip
    assert s.decision.kind is DecisionKind.ACK and s.ids == (1, 2)


def test_transient_failure_retries_each_event_by_its_own_attempts() -> None:
    """A fresh event retries while its neighbour that used every attempt is dead-lettered."""
    outcome = _outcome(OutcomeKind.TRANSIENT, status=500, code=2, message="down")
    found = settle([Ev(1), Ev(2, attempts=4), Ev(3)], outcome, now_s=NOW_S, rand=1.0,
                   policy=POLICY)  # fmt: skip
    kinds = {s.decision.kind: s.ids for s in found}
    assert kinds[DecisionKind.RETRY] == (1, 3)
    assert kinds[DecisionKind.DEAD] == (2,)
    retry = next(s for s in found if s.decision.kind is DecisionKind.RETRY)
    assert retry.decision.retry_at_s == NOW_S + POLICY.base_delay_s


def test_events_whose_window_would_close_expire_instead_of_retrying() -> None:
    """Retrying past an event's 7-day window expires that event only."""
    old = int(NOW_S - 7 * DAY_S + 620)  # 20 s left before the margin
    outcome = _outcome(OutcomeKind.RATE_LIMITED, status=400, code=4)
    found = settle([Ev(1, event_time=old), Ev(2)], outcome, now_s=NOW_S, rand=0.0, policy=POLICY)
    kinds = {s.decision.kind: s.ids for s in found}
    assert kinds == {DecisionKind.EXPIRE: (1,), DecisionKind.RETRY: (2,)}


def test_token_error_pauses_the_whole_request() -> None:
    """190 settles the request as one PAUSE."""
    [s] = settle([Ev(1), Ev(2)], _outcome(OutcomeKind.TOKEN, status=400, code=190),
                 now_s=NOW_S, rand=0.5, policy=POLICY)  # fmt: skip
    assert s.decision.kind is DecisionKind.PAUSE and s.ids == (1, 2)


def test_permanent_refusal_keeps_metas_code_subcode_message_and_trace() -> None:
    """A dead letter's record carries what Meta said."""
    outcome = _outcome(OutcomeKind.PERMANENT, status=400, code=100, subcode=2804009,
                       message="Invalid parameter", user_title="Missing Value",
                       user_msg="Purchase needs value", fbtrace_id="Ab1")  # fmt: skip
    [s] = settle([Ev(7)], outcome, now_s=NOW_S, rand=0.5, policy=POLICY)
    assert s.decision.kind is DecisionKind.DEAD
    record = error_record(s.decision, outcome)
    assert record["code"] == 100 and record["subcode"] == 2804009
    assert record["message"] == "Purchase needs value" and record["fbtrace_id"] == "Ab1"
    assert record["title"] == "Missing Value" and record["status"] == 400
    assert "2804009" in record["reason"]


def test_too_old_refusal_expires() -> None:
    """Meta's 2804003 on one event expires it with Meta's words."""
    outcome = _outcome(OutcomeKind.PERMANENT, status=400, code=100, subcode=2804003,
                       user_title="Event Timestamp Too Old")  # fmt: skip
    [s] = settle([Ev(1)], outcome, now_s=NOW_S, rand=0.5, policy=POLICY)
    assert s.decision.kind is DecisionKind.EXPIRE and "Too Old" in s.decision.reason


def test_on_lease_expires_events_near_their_window_and_keeps_the_rest() -> None:
    """Older than 7 days minus the margin: expired; physical_store gets 62 days."""
    near = int(NOW_S - 7 * DAY_S + 60)
    store_sale = Ev(3, event_time=int(NOW_S - 30 * DAY_S), action_source="physical_store")
    fresh, expired = on_lease([Ev(1, event_time=near), Ev(2), store_sale], now_s=NOW_S,
                              policy=POLICY)  # fmt: skip
    assert [e.id for e in fresh] == [2, 3]
    [(reason, ids)] = expired.items()
    assert ids == [1] and "7 days" in reason


def test_success_record_names_an_events_received_mismatch() -> None:
    """events_received differing from the count sent is kept in the response record."""
    ok = response_record(_outcome(OutcomeKind.DELIVERED, status=200, events_received=3), 3)
    short = response_record(_outcome(OutcomeKind.DELIVERED, status=200, events_received=2), 3)
    assert ok["mismatch"] is None and ok["sent"] == 3
    assert short["mismatch"] == "Meta received 2 of 3 events sent"


def test_unresolved_parts_become_a_retry_that_names_the_cause() -> None:
    """Budget spent: the parts retry, the message says why, Meta's code stays."""
    outcome = _outcome(OutcomeKind.PERMANENT, status=400, code=100, subcode=2804019,
                       user_title="Server Side Api Parameter Error")  # fmt: skip
    again = unresolved(outcome, 12)
    assert again.kind is OutcomeKind.TRANSIENT and again.subcode == 2804019
    assert "12 events still to isolate" in again.message
    [s] = settle([Ev(1)], again, now_s=NOW_S, rand=0.5, policy=POLICY)
    assert s.decision.kind is DecisionKind.RETRY


def _on_lease_one_by_one(events: list[Ev], now_s: float) -> list[int]:
    """The per-event rule on_lease applies: fresh while now <= event_time + age - margin."""

    def deadline_s(e: Ev) -> float:
        return POLICY.deadline_s(e.event_time, max_event_age_s(e.action_source))

    return [e.id for e in events if not now_s > deadline_s(e)]


def test_on_lease_keeps_every_event_of_a_fresh_batch_judged_by_the_oldest() -> None:
    """A batch of one source whose oldest event is still in its window is sent whole."""
    edge = int(NOW_S - 7 * DAY_S + POLICY.window_margin_s)  # exactly at the deadline
    events = [Ev(n, event_time=edge + n) for n in range(5)]
    fresh, expired = on_lease(events, now_s=NOW_S, policy=POLICY)
    assert (fresh, expired) == (events, {})
    assert [e.id for e in fresh] == _on_lease_one_by_one(events, NOW_S)


def test_on_lease_agrees_with_the_per_event_rule_on_mixed_batches() -> None:
    """Whatever the mix of ages and sources, the fresh ones are those the rule keeps."""
    edge = int(NOW_S - 7 * DAY_S + POLICY.window_margin_s)
    for offsets, sources in [
        ((0, 1, -1), ("website",) * 3),
        ((-1, 5, 9), ("website", "app", "chat")),
        ((-1, -60 * DAY_S, 3), ("website", "physical_store", "website")),
        ((-55 * DAY_S, -56 * DAY_S), ("physical_store", "physical_store")),
    ]:
        events = [Ev(n, event_time=edge + o, action_source=s)
                  for n, (o, s) in enumerate(zip(offsets, sources, strict=True))]  # fmt: skip
        fresh, expired = on_lease(events, now_s=NOW_S, policy=POLICY)
        assert [e.id for e in fresh] == _on_lease_one_by_one(events, NOW_S)
        assert sorted(i for ids in expired.values() for i in ids) == sorted(
            {e.id for e in events} - {e.id for e in fresh}
        )


def test_a_permanent_refusal_settles_by_the_most_attempts_and_the_oldest_event() -> None:
    """One decision for all; the ids in order; attempts from the event that spent the most."""
    outcome = _outcome(OutcomeKind.PERMANENT, status=400, code=100, subcode=2804019)
    events = [Ev(3, attempts=1), Ev(1, attempts=4, event_time=int(NOW_S) - 600), Ev(2)]
    [s] = settle(events, outcome, now_s=NOW_S, rand=0.5, policy=POLICY)
    assert s.decision.kind is DecisionKind.DEAD and s.ids == (3, 1, 2)
