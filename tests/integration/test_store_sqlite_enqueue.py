"""SQLite's multi-row enqueue answers as if the events were inserted one at a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.store import NewEvent
from capigate.store.sqlite import SQLiteStore
from capigate.store.sqlite_enqueue import (
    INSERT_CHUNKS,
    INSERT_COLUMNS,
    PAYLOAD_AT,
    insert_sql,
    payload_sql,
)

T0 = 1_763_800_000.0


def _event(event_id: str, pixel_id: str = "1", marker: int = 0) -> NewEvent:
    payload = {"event_name": "Lead", "event_id": event_id, "marker": marker}
    return NewEvent(
        pixel_id, "Lead", event_id, int(T0), "website", "web", "k", None, payload, 3, []
    )


async def _open(path: Path) -> SQLiteStore:
    store = SQLiteStore(str(path), clock=FrozenClock(T0))
    await store.migrate()
    return store


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    """Two empty stores: one fed in batches, one fed an event at a time."""
    batched, single = await _open(tmp_path / "a.db"), await _open(tmp_path / "b.db")
    yield batched, single
    await batched.close()
    await single.close()


def _mixed_batch(size: int) -> list[NewEvent]:
    """Fresh keys, repeats inside the batch far apart, keys stored before, a second pixel."""
    events = []
    for n in range(size):
        if n % 7 == 3:
            events.append(_event(f"e{n // 3}", marker=n))  # repeats an earlier key of the batch
        elif n % 11 == 5:
            events.append(_event(f"old{n % 4}", marker=n))  # stored by an earlier call
        else:
            events.append(_event(f"e{n}", pixel_id="2" if n % 5 == 0 else "1", marker=n))
    return events


@pytest.mark.parametrize("size", [1, 5, 64, 100, 150, 1000])
async def test_batch_answers_like_one_at_a_time(
    stores: tuple[SQLiteStore, SQLiteStore], size: int
) -> None:
    """Statuses, which event holds each id, and the stored payloads match single inserts."""
    batched, single = stores
    earlier = [_event(f"old{i}") for i in range(4)]
    await batched.enqueue(earlier, now_s=T0)
    for event in earlier:
        await single.enqueue([event], now_s=T0)
    events = _mixed_batch(size)
    got = await batched.enqueue(events, now_s=T0 + 1)
    want = [(await single.enqueue([event], now_s=T0 + 1))[0] for event in events]
    assert [r.status for r in got] == [r.status for r in want]
    assert await _holders(batched, [r.id for r in got]) == await _holders(
        single, [r.id for r in want]
    )


async def _holders(store: SQLiteStore, ids: list[int]) -> list[tuple[str, str, object]]:
    """The key and payload marker of the stored event behind each id."""
    found = []
    for event_id in ids:
        stored = await store.get(event_id)
        assert stored is not None
        found.append((stored.pixel_id, stored.event_id, stored.payload.get("marker")))
    return found


@pytest.mark.parametrize("count", INSERT_CHUNKS)
def test_insert_statement_numbers_every_parameter_once(count: int) -> None:
    """One VALUES row per event, 10 parameters and the row's time each, within 999; each row's
    payload parameter is bound but left out (its own table stores it, migration 0008), and the
    last row's time is the highest number, so the statement takes the rows' values as they
    are."""
    statement = insert_sql(count)
    numbers = {int(n) for n in re.findall(r"\?(\d+)", statement)}
    width = len(INSERT_COLUMNS) + 1
    payloads = {row * width + PAYLOAD_AT + 1 for row in range(count)}
    assert numbers == set(range(1, count * width + 1)) - payloads
    assert max(numbers) == count * width
    assert statement.count("'queued'") == count
    assert count * width <= 999
    assert ("RETURNING" in statement) == (count > 1)  # one row: the cursor tells its fate


@pytest.mark.parametrize("count", INSERT_CHUNKS)
def test_payload_statement_pairs_each_id_with_its_payload(count: int) -> None:
    """One (id, payload) pair of parameters per event, numbered in order, within 999."""
    statement = payload_sql(count)
    pairs = re.findall(r"\(\?(\d+), \?(\d+)\)", statement)
    assert [(int(a), int(b)) for a, b in pairs] == [(2 * i + 1, 2 * i + 2) for i in range(count)]
    assert 2 * count <= 999
