"""The memory store's lifecycle part records its calls and forgets everything on reset."""

from __future__ import annotations

from capigate.lifecycle import UserState
from capigate.store import InMemoryStore

T0 = 1_763_800_000.0


async def test_memory_store_records_lifecycle_calls_and_resets() -> None:
    """Calls are recorded by name; reset() drops users and leases."""
    store = InMemoryStore()
    await store.save_user_state(UserState("1"), expected_version=0, events=[], now_s=T0)
    await store.acquire_scheduler("tick", owner="w1", now_s=T0, lease_s=30)
    assert [name for name, _ in store.calls] == ["save_user_state", "acquire_scheduler"]
    store.reset()
    assert await store.load_user_state("1") is None
    assert await store.acquire_scheduler("tick", owner="w2", now_s=T0, lease_s=30)
