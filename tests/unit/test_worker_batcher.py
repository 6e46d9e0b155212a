"""Bisection of a refused batch: bad events isolated, good ones kept, requests bounded."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.classify import Outcome, OutcomeKind
from capigate.worker.batcher import Bisection, halves, request_budget, splittable


def _run(
    size: int, bad: set[int], poison_budget: int = 4
) -> tuple[set[int], set[int], int, tuple[int, ...]]:
    """Play a bisection where a part is refused when it holds a bad item."""
    plan = Bisection.start(tuple(range(size)), poison_budget)
    delivered: set[int] = set()
    dead: set[int] = set()
    while (part := plan.next_part()) is not None:
        if bad & set(part) and len(part) > 1:
            plan = plan.refused()
            continue
        plan = plan.settled()
        (dead if bad & set(part) else delivered).update(part)
    return delivered, dead, plan.sent, plan.remaining


def _permanent(code: int | None = 100, subcode: int | None = 2804009) -> Outcome:
    return Outcome(OutcomeKind.PERMANENT, status=400, code=code, subcode=subcode)


def test_one_poison_event_in_1000_is_isolated_in_21_requests_or_fewer() -> None:
    """999 events delivered, the bad one alone, within 1 + 2·⌈log2 1000⌉ requests."""
    delivered, dead, sent, remaining = _run(1000, {617})
    assert dead == {617}
    assert delivered == set(range(1000)) - {617}
    assert sent <= 1 + 2 * math.ceil(math.log2(1000))
    assert remaining == ()


def test_several_poison_events_are_each_isolated() -> None:
    """Three bad events spread over a batch end up dead, every other event delivered."""
    bad = {0, 500, 999}
    delivered, dead, sent, _ = _run(1000, bad)
    assert dead == bad
    assert delivered == set(range(1000)) - bad
    assert sent <= 1 + 2 * len(bad) * math.ceil(math.log2(1000))


def test_a_batch_of_only_bad_events_stops_at_the_budget() -> None:
    """All-bad batches never cost 2n requests: the budget stops them, the rest stays pending."""
    delivered, dead, sent, remaining = _run(1000, set(range(1000)))
    assert sent == request_budget(1000)
    assert delivered == set()
    assert len(dead) + len(remaining) == 1000
    assert remaining


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 300),
    data=st.data(),
)
def test_bisection_never_loses_or_misfiles_an_event(size: int, data: st.DataObject) -> None:
    """Every event ends delivered (good), dead (bad) or pending; dead ones are all bad."""
    bad = set(data.draw(st.sets(st.integers(0, size - 1), max_size=6)))
    delivered, dead, sent, remaining = _run(size, bad)
    assert delivered | dead | set(remaining) == set(range(size))
    assert not delivered & bad and dead <= bad
    assert sent <= request_budget(size)
    if len(bad) <= 4:
        assert dead == bad and remaining == ()


def test_budget_grows_with_log2_of_the_size() -> None:
    """The request budget: 1 for one event, 1 + 2·4·⌈log2 n⌉ otherwise."""
    assert request_budget(1) == 1
    assert request_budget(2) == 9
    assert request_budget(1000) == 81
    assert request_budget(1000, poison_budget=1) == 21


def test_halves_put_the_shorter_half_first() -> None:
    """Odd parts split as floor/ceil."""
    assert halves((1, 2, 3)) == ((1,), (2, 3))
    assert halves((1, 2)) == ((1,), (2,))


def test_a_single_event_cannot_be_split() -> None:
    """Refusing a one-event part is a bug in the caller."""
    with pytest.raises(ValueError, match="one event"):
        Bisection.start((1,)).refused()


def test_an_empty_delivery_has_nothing_to_send() -> None:
    """No events, no request."""
    assert Bisection.start(()).next_part() is None


def test_only_event_level_refusals_are_split() -> None:
    """100 with a CAPI subcode splits; 100/33, bare 100, other codes and one event do not."""
    assert splittable(_permanent(), 2)
    assert splittable(_permanent(subcode=2804003), 1000)
    assert not splittable(_permanent(), 1)
    assert not splittable(_permanent(subcode=33), 10)
    assert not splittable(_permanent(subcode=None), 10)
    assert not splittable(_permanent(code=200, subcode=None), 10)
    assert not splittable(Outcome(OutcomeKind.TRANSIENT, status=500, code=2), 10)
    assert not splittable(Outcome(OutcomeKind.TOKEN, status=400, code=190), 10)
