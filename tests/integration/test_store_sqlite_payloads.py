"""SQLite keeps each event's payload in marketing_event_payloads (migration 0008): enqueue and
the lifecycle's derived events write exactly one payload row per stored event, in the same
transaction, none for a duplicate; lease, get and list read each event's own payload back."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from capigate.clock import FrozenClock
from capigate.lifecycle import UserState
from capigate.store import NewEvent
from capigate.store.sqlite import SQLiteStore

T0 = 1_763_800_000.0


def _event(event_id: str, pixel_id: str = "1") -> NewEvent:
    payload = {"event_name": "Lead", "event_id": event_id, "custom_data": {"n": event_id * 40}}
    return NewEvent(
        pixel_id, "Lead", event_id, int(T0), "website", "web", None, None, payload, 3, []
    )


def _text(event: NewEvent) -> str:
    return orjson.dumps(event.payload).decode()


def _payload_rows(path: str) -> dict[int, str]:
    with sqlite3.connect(path) as conn:
        return dict(conn.execute("SELECT id, payload FROM marketing_event_payloads"))


def _event_ids(path: str) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM marketing_events ORDER BY id")]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A migrated SQLite store on a file in tmp_path."""
    opened = SQLiteStore(str(tmp_path / "gw.db"), clock=FrozenClock(T0))
    await opened.migrate()
    yield opened
    await opened.close()


async def test_every_stored_event_has_its_own_payload_and_duplicates_none(
    store: SQLiteStore,
) -> None:
    """A 70-event call (one statement of 128 rows, 58 of them padding) with a repeat inside it
    and one of an earlier call (the slow path) stores one payload row per new event, under that
    event's id, and none for either duplicate or the padding."""
    [earlier] = await store.enqueue([_event("old")], now_s=T0)
    events = [_event(f"e{i}") for i in range(68)]
    results = await store.enqueue([*events, _event("e3"), _event("old")], now_s=T0)
    assert [r.status for r in results[-2:]] == ["duplicate", "duplicate"]
    payloads = _payload_rows(store.path)
    assert sorted(payloads) == _event_ids(store.path)
    assert payloads[earlier.id] == _text(_event("old"))
    assert [payloads[r.id] for r in results[:68]] == [_text(e) for e in events]


async def test_lease_get_and_list_read_each_events_payload(store: SQLiteStore) -> None:
    """The leased batch, get and list_events carry the payload stored with each event."""
    events = [_event(f"p{i}") for i in range(5)]
    results = await store.enqueue(events, now_s=T0)
    batch = await store.lease_batch(worker_id="w", now_s=T0, lease_s=60)
    assert batch is not None
    expected = {r.id: _text(e) for r, e in zip(results, events, strict=True)}
    assert {e.id: e.payload_json for e in batch.events} == expected
    listed = await store.list_events(limit=10)
    assert {e.id: e.payload_json for e in listed} == expected
    got = await store.get(results[2].id)
    assert got is not None and got.payload_json == expected[results[2].id]


async def test_derived_events_store_their_payload(store: SQLiteStore) -> None:
    """A lifecycle save's derived event gets its payload row in the save's transaction; a
    derived event whose key is already stored adds none."""
    saved = await store.save_user_state(
        UserState("9"), expected_version=0, events=[_event("d1")], now_s=T0
    )
    assert saved is not None
    [first] = saved
    again = await store.save_user_state(
        UserState("9"), expected_version=1, events=[_event("d1")], now_s=T0
    )
    assert first.status == "queued"
    assert again is not None and [r.status for r in again] == ["duplicate"]
    assert _payload_rows(store.path) == {first.id: _text(_event("d1"))}
    got = await store.get(first.id)
    assert got is not None and got.payload_json == _text(_event("d1"))
