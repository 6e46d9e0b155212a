"""A serving gateway freezes its start-up heap and collects young objects less often; an app
built for tests or embedding leaves the process's garbage collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from capigate.clock import FrozenClock
from capigate.store import InMemoryStore
from capigate.web.app import SERVING_GC_YOUNG_ALLOCATIONS, create_app
from tests.unit.web_kit import NOW_S, live_settings


@pytest.fixture
def restored_gc() -> Iterator[tuple[int, int, int]]:
    """The collector's thresholds before the test; unfrozen and reset after it."""
    before = gc.get_threshold()
    yield before
    gc.unfreeze()
    gc.set_threshold(*before)


async def _started(serving: bool) -> tuple[tuple[int, int, int], int]:
    clock = FrozenClock(NOW_S)
    app = create_app(
        live_settings(), store=InMemoryStore(clock=clock), clock=clock, serving=serving
    )
    async with app.router.lifespan_context(app):
        return gc.get_threshold(), gc.get_freeze_count()


async def test_a_serving_app_tunes_the_collector_once_started(
    restored_gc: tuple[int, int, int],
) -> None:
    """After start-up the young threshold is raised, the older ones kept, the heap frozen."""
    threshold, frozen = await _started(serving=True)
    assert threshold == (SERVING_GC_YOUNG_ALLOCATIONS, *restored_gc[1:])
    assert frozen > 0


async def test_an_app_not_serving_leaves_the_collector_alone(
    restored_gc: tuple[int, int, int],
) -> None:
    """``create_app`` without ``serving`` changes neither thresholds nor the frozen heap."""
    gc.unfreeze()
    threshold, frozen = await _started(serving=False)
    assert threshold == restored_gc
    assert frozen == 0
