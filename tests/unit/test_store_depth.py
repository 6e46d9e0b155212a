"""The outbox depth gauge: a periodic full count plus this process's own changes."""

from __future__ import annotations

from capigate.clock import FrozenClock
from capigate.store.depth import MAX_COUNT_SHARE, DepthGauge


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


def test_a_slow_count_is_trusted_for_longer() -> None:
    """A count that took 0.3 s is not repeated for 15 s (MAX_COUNT_SHARE of the time counting),
    so a deep outbox does not spend a core's share on counting."""
    clock = FrozenClock()
    gauge = DepthGauge(clock, refresh_s=2.0)
    gauge.counted(1_300_000, took_s=0.3)
    clock.advance(0.3 / MAX_COUNT_SHARE - 0.01)
    assert gauge.current() == 1_300_000
    clock.advance(0.01)
    assert gauge.current() is None


def test_a_quick_count_keeps_the_refresh_interval() -> None:
    """A count that took 10 ms is still repeated after refresh_s, not sooner."""
    clock = FrozenClock()
    gauge = DepthGauge(clock, refresh_s=2.0)
    gauge.counted(5, took_s=0.01)
    clock.advance(1.99)
    assert gauge.current() == 5
    clock.advance(0.01)
    assert gauge.current() is None
