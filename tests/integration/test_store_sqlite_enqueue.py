"""SQLite's enqueue answers as if the events were inserted one at a time, in a bounded number
of statements per group commit."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.store import NewEvent
from capigate.store.sqlite import SQLiteStore
from capigate.store.sqlite_enqueue import (
    FIXED_PARAMETERS,
    PAYLOAD_AT,
    ROW_WIDTH,
    insert_sql,
    max_rows,
    payloads_sql,
    shape,
)
from tests.writer_kit import held as _held

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


@pytest.mark.parametrize("size", [1, 5, 64, 100, 150, 1000, 1100])
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


SHAPES = [1, 2, 8, 64, 512]


@pytest.mark.parametrize("size", SHAPES)
def test_insert_statement_numbers_every_parameter_once(size: int) -> None:
    """?1 (the id before the rows) and ?2 (the real rows), then one VALUES row per event: its
    index k from 1, and its parameters but the payload (bound, left out: its own table stores
    it, migration 0008); the last row's time is the highest number, so the statement takes
    the rows' values as they are. No RETURNING: no row to fetch."""
    statement = insert_sql(size)
    numbers = {int(n) for n in re.findall(r"\?(\d+)", statement)}
    payloads = {FIXED_PARAMETERS + row * ROW_WIDTH + PAYLOAD_AT + 1 for row in range(size)}
    assert numbers == set(range(1, FIXED_PARAMETERS + size * ROW_WIDTH + 1)) - payloads
    indexes = re.findall(r"\((\d+), \?", statement)
    assert [int(k) for k in indexes] == list(range(1, size + 1))
    assert "RETURNING" not in statement


@pytest.mark.parametrize("size", SHAPES)
def test_payload_statement_numbers_each_payload_after_its_index(size: int) -> None:
    """One (k, payload) row per event, k from 1 as in insert_event, so each payload takes the
    id of its event."""
    statement = payloads_sql(size)
    rows = re.findall(r"\((\d+), \?(\d+)\)", statement)
    want = [(k, FIXED_PARAMETERS + k) for k in range(1, size + 1)]
    assert [(int(k), int(n)) for k, n in rows] == want


@pytest.mark.parametrize(("count", "size"), [(1, 1), (3, 4), (100, 128), (400, 512)])
def test_rows_pad_to_the_next_power_of_two(count: int, size: int) -> None:
    """A few statement sizes serve every count from the statement cache."""
    assert shape(count) == size


@pytest.mark.parametrize(("variables", "rows"), [(999, 64), (32766, 512), (250000, 512)])
def test_statement_rows_stay_within_the_parameter_limit(variables: int, rows: int) -> None:
    """The rows per statement shrink to the connection's limit of parameters (999 on old
    builds)."""
    conn = sqlite3.connect(":memory:")
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, variables)
    assert max_rows(conn) == rows
    assert FIXED_PARAMETERS + rows * ROW_WIDTH <= conn.getlimit(
        sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER
    )
    conn.close()


async def test_a_low_parameter_limit_splits_a_big_call(
    stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    """Under the 999-parameter limit of old builds a 300-event call with repeats goes in
    several statements and still answers like single inserts."""
    batched, single = stores
    batched._writer._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    events = _mixed_batch(300)
    got = await batched.enqueue(events, now_s=T0)
    want = [(await single.enqueue([event], now_s=T0))[0] for event in events]
    assert [r.status for r in got] == [r.status for r in want]
    assert await _holders(batched, [r.id for r in got]) == await _holders(
        single, [r.id for r in want]
    )


def _statements(store: SQLiteStore) -> list[str]:
    """Record the first word of every statement the writer's connection runs."""
    seen: list[str] = []
    store._writer._conn.set_trace_callback(lambda text: seen.append(" ".join(text.split()[:2])))
    return seen


async def _grouped(
    store: SQLiteStore, calls: list[list[NewEvent]], *, return_exceptions: bool = False
) -> list[Any]:
    """Enqueue ``calls`` in one group commit: each call's results (or, with
    ``return_exceptions``, the error a failing call raised)."""
    held, entered, gate = _held(store._writer)
    await asyncio.to_thread(entered.wait, 10)
    futures = [asyncio.ensure_future(store.enqueue(call, now_s=T0)) for call in calls]
    await asyncio.sleep(0)
    gate.set()
    await held
    return list(await asyncio.gather(*futures, return_exceptions=return_exceptions))


async def test_a_group_of_new_events_costs_a_fixed_number_of_statements(
    stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    """Eight 100-event calls in one group: begin, the highest id, two INSERTs of events (512
    rows each at most), two of payloads, commit; no savepoint, no RETURNING row."""
    store, _ = stores
    commits = store.commits
    calls = [[_event(f"c{c}-{n}") for n in range(100)] for c in range(8)]
    seen = _statements(store)
    answers = await _grouped(store, calls)
    store._writer._conn.set_trace_callback(None)
    assert store.commits == commits + 2  # the holding job's group, then the calls' group
    group = seen[seen.index("BEGIN IMMEDIATE", 1) :]
    assert group == [
        "BEGIN IMMEDIATE", "SELECT coalesce(max(id),", "INSERT INTO", "INSERT INTO",
        "INSERT INTO", "INSERT INTO", "COMMIT",
    ]  # fmt: skip
    ids = [result.id for results in answers for result in results]
    assert ids == list(range(ids[0], ids[0] + 800))


async def test_duplicates_inside_and_across_calls_of_a_group_take_the_slow_path(
    stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    """Keys repeated within a call, across calls of the group and from an earlier group: every
    repeat is a duplicate of the event that holds its key, each stored event has its own
    payload, and the slow path costs two statements more."""
    store, _ = stores
    [old] = await store.enqueue([_event("old", marker=-1)], now_s=T0)
    calls = [
        [_event("a", marker=0), _event("b", marker=1), _event("a", marker=2)],
        [_event("old", marker=3), _event("c", marker=4)],
        [_event("b", marker=5), _event("d", marker=6)],
    ]
    seen = _statements(store)
    first, second, third = await _grouped(store, calls)
    store._writer._conn.set_trace_callback(None)
    statuses = [r.status for r in first + second + third]
    assert statuses == [
        "queued", "queued", "duplicate", "duplicate", "queued", "duplicate", "queued",
    ]  # fmt: skip
    assert first[2].id == first[0].id and second[0].id == old.id
    assert third[0].id == first[1].id
    holders = await _holders(store, [r.id for r in first + second + third])
    assert [marker for _, _, marker in holders] == [0, 1, 0, -1, 4, 1, 6]
    group = seen[seen.index("BEGIN IMMEDIATE", 1) :]
    assert group == [
        "BEGIN IMMEDIATE", "SELECT coalesce(max(id),", "INSERT INTO", "SELECT json_group_array(id)",
        "SELECT json_group_array(json_array(k.key,", "INSERT INTO", "COMMIT",
    ]  # fmt: skip


async def test_a_failing_call_of_a_group_fails_alone(
    stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    """An event the table refuses (no event_time) fails its own call: the merged INSERT rolls
    back and each call runs again alone, the others stored under ids that hold their own
    payloads."""
    store, _ = stores
    broken = dataclasses.replace(_event("broken"), event_time=None)  # type: ignore[arg-type]
    calls = [[_event("a", marker=1)], [_event("b", marker=2), broken], [_event("c", marker=3)]]
    first, failed, third = await _grouped(store, calls, return_exceptions=True)
    assert isinstance(failed, StoreError) and "NOT NULL" in str(failed)
    assert isinstance(first, list) and isinstance(third, list)
    ids = [first[0].id, third[0].id]
    assert [marker for _, _, marker in await _holders(store, ids)] == [1, 3]
    assert [event.event_id for event in await store.list_events()] == ["c", "a"]
