"""The outbox depth gauge: a periodic full count plus this process's own changes."""

from __future__ import annotations

from capigate.clock import FrozenClock
from capigate.store.depth import DepthGauge


def test_gauge_needs_a_first_count() -> None:
    """Before any count the gauge asks for one."""
    assert DepthGauge(FrozenClock()).current() is None


def test_gauge_adds_local_changes_to_the_count() -> None:
    """Between counts, local enqueues and completions move the estimate."""
    gauge = DepthGauge(FrozenClock())
    gauge.counted(10)
    gauge.add(5)
    gauge.add(-3)
    assert gauge.current() == 12


def test_gauge_asks_for_a_recount_when_stale() -> None:
    """After refresh_s the estimate is stale; a new count resets the local changes."""
    clock = FrozenClock()
    gauge = DepthGauge(clock, refresh_s=2.0)
    gauge.counted(10)
    gauge.add(1)
    clock.advance(2.0)
    assert gauge.current() is None
    gauge.counted(4)
    assert gauge.current() == 4


def test_gauge_never_goes_negative() -> None:
    """Completions counted twice by a race cannot make the depth negative."""
    gauge = DepthGauge(FrozenClock())
    gauge.counted(1)
    gauge.add(-3)
    assert gauge.current() == 0
