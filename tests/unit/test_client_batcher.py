"""The in-memory batcher: size and age thresholds, order, bound."""

from __future__ import annotations

import pytest

from capigate.client.batcher import Batcher
from capigate.client.events import Pending

NOW_S = 1_763_800_000.0


def _events(*names: str) -> list[Pending]:
    return [Pending(name.encode()) for name in names]


def test_add_says_flush_when_a_batch_is_full() -> None:
    """The Nth event fills the batch; before that, nothing is due."""
    batcher = Batcher(batch_events=3, interval_s=10.0, max_pending=10)
    flags = [batcher.add(p, now_s=NOW_S) for p in _events("a", "b", "c")]
    assert flags == [False, False, True]
    assert batcher.due(NOW_S)


def test_due_after_the_oldest_waited_the_interval() -> None:
    """Age counts from the oldest pending event, not the newest."""
    batcher = Batcher(batch_events=100, interval_s=10.0, max_pending=1000)
    batcher.add(Pending(b"a"), now_s=NOW_S)
    batcher.add(Pending(b"b"), now_s=NOW_S + 9)
    assert batcher.wait_s(NOW_S + 4) == 6.0
    assert not batcher.due(NOW_S + 9.9)
    assert batcher.due(NOW_S + 10)


def test_empty_batcher_has_no_deadline() -> None:
    """Nothing pending: nothing to wait for."""
    batcher = Batcher(batch_events=2, interval_s=1.0, max_pending=2)
    assert batcher.wait_s(NOW_S) is None
    assert not batcher.due(NOW_S + 1000)


def test_take_empties_and_resets_the_age() -> None:
    """take() returns every event in order and the next event starts a new age."""
    batcher = Batcher(batch_events=10, interval_s=5.0, max_pending=10)
    for p in _events("a", "b"):
        batcher.add(p, now_s=NOW_S)
    assert [p.data for p in batcher.take()] == [b"a", b"b"]
    batcher.add(Pending(b"c"), now_s=NOW_S + 100)
    assert batcher.wait_s(NOW_S + 100) == 5.0


def test_put_back_goes_in_front_and_keeps_the_older_age() -> None:
    """Events put back are older than anything queued since, and stay due."""
    batcher = Batcher(batch_events=10, interval_s=5.0, max_pending=10)
    batcher.add(Pending(b"new"), now_s=NOW_S + 50)
    batcher.put_back(_events("old1", "old2"), since_s=NOW_S)
    assert [p.data for p in batcher.take()] == [b"old1", b"old2", b"new"]


def test_full_at_the_bound() -> None:
    """max_pending is the bound track() checks."""
    batcher = Batcher(batch_events=1, interval_s=1.0, max_pending=2)
    batcher.add(Pending(b"a"), now_s=NOW_S)
    assert not batcher.full
    batcher.add(Pending(b"b"), now_s=NOW_S)
    assert batcher.full


@pytest.mark.parametrize(("events", "pending", "interval"), [(0, 5, 1.0), (6, 5, 1.0), (1, 5, 0)])
def test_batcher_refuses_nonsense(events: int, pending: int, interval: float) -> None:
    """Sizes must be 1 <= batch_events <= max_pending and the interval positive."""
    with pytest.raises(ValueError, match=r"batch_events|interval"):
        Batcher(batch_events=events, interval_s=interval, max_pending=pending)
