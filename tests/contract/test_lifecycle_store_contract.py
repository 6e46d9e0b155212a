"""The lifecycle part of the Store contract: every implementation keeps user state the same way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.lifecycle import Flow, UserState
from capigate.store import NewEvent, Store, open_store
from tests.contract.conftest import T0
from tests.contract.pg_schema import pg_schema_url

MakeEvent = Callable[..., NewEvent]
SCHEDULER = "lifecycle"

FULL = UserState(
    user_key="42",
    telegram_id="42",
    user_id="u-1",
    pixel_id="1234567890",
    test_event_code="TEST1",
    registered_at=T0 - 86_400,
    last_activity_at=T0,
    entries_count=3,
    first_entry_at=T0 - 3600,
    return_7d_at=T0 - 60,
    retention_done=frozenset({14, 30}),
    onboarding_values={"language": "uz", "phone": "ab" * 32},
    onboarding=Flow("onb-1", T0 - 600, T0 - 60, "phone"),
    onboarding_completed_at=None,
    checkout=Flow("pay-1", T0 - 30, T0 - 20, None),
    next_due_at=T0 + 1740,
)


async def _save(store: Store, state: UserState, expected: int = 0, *events: NewEvent) -> object:
    return await store.save_user_state(
        state, expected_version=expected, events=list(events), now_s=T0
    )


async def test_unknown_user_has_no_state(store: Store) -> None:
    """Loading a user never saved answers None."""
    assert await store.load_user_state("nobody") is None


async def test_state_round_trips_every_field(store: Store) -> None:
    """Saved state comes back whole: ids, times, counters, sets, values, both flows."""
    assert await _save(store, FULL) == []
    loaded = await store.load_user_state("42")
    assert loaded == replace(FULL, version=1)


async def test_empty_state_round_trips(store: Store) -> None:
    """A state with nothing but its key (no flows, no values) reads back the same."""
    await _save(store, UserState("7"))
    assert await store.load_user_state("7") == UserState("7", version=1)


async def test_save_over_the_read_version_bumps_it(store: Store) -> None:
    """Each save names the version it read; the stored version goes up by one."""
    await _save(store, FULL)
    await _save(store, replace(FULL, entries_count=4, onboarding=None), 1)
    loaded = await store.load_user_state("42")
    assert loaded is not None
    assert (loaded.version, loaded.entries_count, loaded.onboarding) == (2, 4, None)


async def test_stale_save_changes_nothing_and_enqueues_nothing(
    store: Store, make_event: MakeEvent
) -> None:
    """A save over an old version, or a 'new' user that exists, is refused with no trace."""
    await _save(store, FULL)
    assert await _save(store, replace(FULL, entries_count=9), 0, make_event("x1")) is None
    assert await _save(store, replace(FULL, entries_count=9), 5, make_event("x2")) is None
    assert await _save(store, UserState("new"), 3) is None
    loaded = await store.load_user_state("42")
    assert loaded is not None and (loaded.version, loaded.entries_count) == (1, 3)
    assert await store.load_user_state("new") is None
    assert await store.list_events() == []


async def test_save_enqueues_derived_events_with_dedup(store: Store, make_event: MakeEvent) -> None:
    """Derived events are stored with the state; an id a source already sent is a duplicate."""
    [backfill] = await store.enqueue([make_event("retention30_42")], now_s=T0)
    results = await _save(store, FULL, 0, make_event("retention30_42"), make_event("ret7_42"))
    assert isinstance(results, list)
    assert [r.status for r in results] == ["duplicate", "queued"]
    assert results[0].id == backfill.id
    assert [e.event_id for e in await store.list_events()] == ["ret7_42", "retention30_42"]
    assert await store.outbox_depth() == 2


async def test_due_users_are_found_oldest_first_up_to_the_limit(store: Store) -> None:
    """Only users whose next_due_at has come, ordered by it, at most ``limit``."""
    for key, due in [("a", T0 + 10), ("b", T0 - 5), ("c", None), ("d", T0 - 50), ("e", T0)]:
        await _save(store, UserState(key, next_due_at=due))
    found = await store.due_user_states(now_s=T0, limit=10)
    assert [s.user_key for s in found] == ["d", "b", "e"]
    assert [s.user_key for s in await store.due_user_states(now_s=T0, limit=2)] == ["d", "b"]
    assert found[0].version == 1


async def test_a_user_leaves_the_due_list_once_saved_without_a_deadline(store: Store) -> None:
    """Clearing next_due_at takes the user off the tick's list."""
    await _save(store, UserState("a", next_due_at=T0 - 1))
    await _save(store, UserState("a"), 1)
    assert await store.due_user_states(now_s=T0, limit=10) == []


async def test_scheduler_lease_has_one_holder(store: Store) -> None:
    """One owner holds the lease; it renews; another gets it only after expiry or release."""
    assert await store.acquire_scheduler(SCHEDULER, owner="w1", now_s=T0, lease_s=30)
    assert not await store.acquire_scheduler(SCHEDULER, owner="w2", now_s=T0 + 10, lease_s=30)
    assert await store.acquire_scheduler(SCHEDULER, owner="w1", now_s=T0 + 20, lease_s=30)
    assert not await store.acquire_scheduler(SCHEDULER, owner="w2", now_s=T0 + 49, lease_s=30)
    assert await store.acquire_scheduler(SCHEDULER, owner="w2", now_s=T0 + 50, lease_s=30)
    await store.release_scheduler(SCHEDULER, owner="w1")  # not the holder: no effect
    assert not await store.acquire_scheduler(SCHEDULER, owner="w1", now_s=T0 + 51, lease_s=30)
    await store.release_scheduler(SCHEDULER, owner="w2")
    assert await store.acquire_scheduler(SCHEDULER, owner="w1", now_s=T0 + 52, lease_s=30)


async def test_leases_are_per_name(store: Store) -> None:
    """Two scheduler names never block each other."""
    assert await store.acquire_scheduler("a", owner="w1", now_s=T0, lease_s=30)
    assert await store.acquire_scheduler("b", owner="w2", now_s=T0, lease_s=30)


# --- two stores on one database (two processes) ---------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, Store]]:
    """Two store instances (as two processes would open them) on one migrated database."""

    async def opened(url: str) -> AsyncIterator[tuple[Store, Store]]:
        stores = (open_store(url, clock=FrozenClock(T0)), open_store(url, clock=FrozenClock(T0)))
        await stores[0].migrate()
        try:
            yield stores
        finally:
            for one in stores:
                await one.close()

    if request.param == "sqlite":
        async for pair in opened(f"sqlite:///{tmp_path / 'two.db'}"):
            yield pair
    else:
        async with pg_schema_url() as url:
            async for pair in opened(url):
                yield pair


async def test_concurrent_saves_of_one_version_have_one_winner(
    two_stores: tuple[Store, Store], make_event: MakeEvent
) -> None:
    """Saves racing over the same version from two processes: exactly one is stored."""
    first, second = two_stores
    for round_ in range(5):
        key = f"race{round_}"
        calls = [
            s.save_user_state(
                UserState(key, entries_count=i),
                expected_version=0,
                events=[make_event(f"{key}-{i}")],
                now_s=T0,
            )
            for i, s in enumerate((first, second) * 3)
        ]
        results = await asyncio.gather(*calls)
        winners = [i for i, r in enumerate(results) if r is not None]
        assert len(winners) == 1
        stored = await first.load_user_state(key)
        assert stored is not None and stored.entries_count == winners[0]
        events = [e.event_id for e in await first.list_events() if e.event_id.startswith(key)]
        assert events == [f"{key}-{winners[0]}"]


async def test_only_one_process_holds_the_scheduler(two_stores: tuple[Store, Store]) -> None:
    """Two processes racing for the tick's lease: one wins until it expires."""
    first, second = two_stores
    for round_ in range(5):
        now_s = T0 + round_ * 100  # each round starts after the previous lease expired
        calls = [
            s.acquire_scheduler(SCHEDULER, owner=f"w{i}", now_s=now_s, lease_s=60)
            for i, s in enumerate((first, second) * 3)
        ]
        assert sum(await asyncio.gather(*calls)) == 1
