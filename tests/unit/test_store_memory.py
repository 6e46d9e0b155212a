"""The in-memory store's own extras: recorded calls and reset (semantics: tests/contract)."""

from __future__ import annotations

from capigate.store import InMemoryStore, NewEvent

T0 = 1_763_800_000.0


def _event(event_id: str) -> NewEvent:
    return NewEvent("1", "Lead", event_id, int(T0), "website", "web", None, None, {}, 0, [])


async def test_calls_are_recorded_with_their_arguments() -> None:
    """Tests of other components can see what they asked of the store."""
    store = InMemoryStore()
    await store.enqueue([_event("a")], now_s=T0)
    await store.lease_batch(worker_id="w", now_s=T0, lease_s=5.0)
    assert [name for name, _ in store.calls] == ["enqueue", "lease_batch"]
    assert store.calls[0][1] == {"events": [_event("a")], "now_s": T0}
    assert store.calls[1][1]["worker_id"] == "w"


async def test_reset_forgets_events_keys_and_calls() -> None:
    """After reset the store is empty and a former duplicate is new again."""
    store = InMemoryStore()
    await store.enqueue([_event("a")], now_s=T0)
    store.reset()
    assert store.calls == []
    assert await store.list_events() == []
    [result] = await store.enqueue([_event("a")], now_s=T0)
    assert (result.status, result.id) == ("queued", 1)
