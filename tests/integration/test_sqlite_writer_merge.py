"""The SQLite writer runs adjacent mergeable jobs of one group as one, answering each caller as
if its job had run alone; enqueue calls that meet in a group share their INSERTs."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.store import NewEvent, Status
from capigate.store.sqlite import SQLiteStore
from capigate.store.sqlite_threads import Mergeable, Writer, connect
from tests.writer_kit import held as _held

T0 = 1_763_800_000.0


class _Recorder:
    """A ``run_all`` that writes each part to table t and remembers how it was called."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, parts: list[str], conn: sqlite3.Connection) -> list[str]:
        self.calls.append(list(parts))
        for part in parts:
            conn.execute("INSERT INTO t VALUES (?)", (part,))
            if part.startswith("bad"):
                raise ValueError(part)
        return [part.upper() for part in parts]


async def _grouped(writer: Writer, jobs: list[object]) -> list[object]:
    """Run ``jobs`` in one group commit; each job's value or exception, in order."""
    held, entered, gate = _held(writer)
    await asyncio.to_thread(entered.wait, 10)
    futures = [asyncio.ensure_future(writer.run(job)) for job in jobs]  # type: ignore[arg-type]
    await asyncio.sleep(0)  # every job is in the writer's queue before the group starts
    gate.set()
    await held
    return list(await asyncio.gather(*futures, return_exceptions=True))


@pytest.fixture
async def writer(tmp_path: Path) -> Writer:
    conn = connect(str(tmp_path / "w.db"), synchronous="normal")
    conn.execute("CREATE TABLE t (part TEXT)")
    return Writer(conn)


def _parts(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT part FROM t ORDER BY rowid")]


async def test_adjacent_mergeable_jobs_run_in_one_call(writer: Writer, tmp_path: Path) -> None:
    """Three adjacent jobs of one kind make one call; a plain job between splits the run."""
    record = _Recorder()
    jobs: list[object] = [Mergeable(p, record) for p in ("a", "b", "c")]
    jobs.append(lambda conn: conn.execute("INSERT INTO t VALUES ('plain')").rowcount)
    jobs.append(Mergeable("d", record))
    assert await _grouped(writer, jobs) == ["A", "B", "C", 1, "D"]
    await writer.close()
    assert record.calls == [["a", "b", "c"], ["d"]]
    assert _parts(tmp_path / "w.db") == ["a", "b", "c", "plain", "d"]


async def test_a_failing_part_fails_only_its_own_caller(writer: Writer, tmp_path: Path) -> None:
    """When the merged call fails, each part runs again alone: the failing one rolls back and
    gets its error, the others are stored and answered."""
    record = _Recorder()
    outcomes = await _grouped(writer, [Mergeable(p, record) for p in ("a", "bad1", "c")])
    await writer.close()
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], ValueError)
    assert record.calls == [["a", "bad1", "c"], ["a"], ["bad1"], ["c"]]
    assert _parts(tmp_path / "w.db") == ["a", "c"]


def _event(event_id: str) -> NewEvent:
    payload = {"event_name": "Lead", "event_id": event_id}
    return NewEvent("1", "Lead", event_id, int(T0), "website", "web", None, None, payload, 3, [])


async def test_enqueues_in_one_group_answer_as_if_run_in_turn(tmp_path: Path) -> None:
    """Requests merged into one INSERT: a key repeated by a later request is its duplicate,
    and each stored event keeps its own request's time."""
    store = SQLiteStore(str(tmp_path / "gw.db"), clock=FrozenClock(T0))
    await store.migrate()
    held, entered, gate = _held(store._writer)
    await asyncio.to_thread(entered.wait, 10)
    calls = [
        store.enqueue([_event("a"), _event("b")], now_s=T0 + 1),
        store.enqueue([_event("c")], now_s=T0 + 2),
        store.enqueue([_event("b"), _event("d"), _event("d")], now_s=T0 + 3),
    ]
    futures = [asyncio.ensure_future(call) for call in calls]
    await asyncio.sleep(0)
    gate.set()
    await held
    first, second, third = await asyncio.gather(*futures)
    assert [r.status for r in first + second + third] == [
        "queued", "queued", "queued", "duplicate", "queued", "duplicate",
    ]  # fmt: skip
    assert third[0].id == first[1].id and third[2].id == third[1].id
    times = {}
    for result in (*first, *second, third[1]):
        stored = await store.get(result.id)
        assert stored is not None and stored.status is Status.QUEUED
        times[stored.event_id] = stored.created_at
    await store.close()
    assert times == {"a": T0 + 1, "b": T0 + 1, "c": T0 + 2, "d": T0 + 3}


async def test_closed_store_still_refuses_enqueue(tmp_path: Path) -> None:
    """A mergeable enqueue on a closed store is refused like any write."""
    store = SQLiteStore(str(tmp_path / "gw.db"))
    await store.migrate()
    await store.close()
    with pytest.raises(StoreError):
        await store.enqueue([_event("late")], now_s=T0)


def _trace(writer: Writer) -> list[str]:
    seen: list[str] = []
    writer._conn.set_trace_callback(seen.append)
    return seen


async def test_the_first_run_of_a_group_takes_no_savepoint(writer: Writer) -> None:
    """The group's first run writes straight into the transaction; a later job still gets a
    savepoint of its own."""
    record = _Recorder()
    held, entered, gate = _held(writer)
    await asyncio.to_thread(entered.wait, 10)
    seen = _trace(writer)
    jobs: list[Callable[[sqlite3.Connection], object]] = [
        Mergeable("a", record),
        Mergeable("b", record),
        lambda conn: conn.execute("INSERT INTO t VALUES ('plain')").rowcount,
    ]
    futures = [asyncio.ensure_future(writer.run(job)) for job in jobs]
    await asyncio.sleep(0)
    gate.set()
    await held
    assert await asyncio.gather(*futures) == ["A", "B", 1]
    await writer.close()
    assert seen[seen.index("BEGIN IMMEDIATE") :] == [
        "BEGIN IMMEDIATE",
        "INSERT INTO t VALUES ('a')",
        "INSERT INTO t VALUES ('b')",
        "SAVEPOINT job",
        "INSERT INTO t VALUES ('plain')",
        "RELEASE job",
        "COMMIT",
    ]


async def test_a_failing_first_job_fails_alone(writer: Writer, tmp_path: Path) -> None:
    """When the group's first job fails, the transaction begins again: its writes are gone,
    its caller gets the error, and the jobs after it commit."""
    record = _Recorder()

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES ('bad')")
        raise ValueError("bad")

    commits = writer.commits
    outcomes = await _grouped(writer, [bad, Mergeable("b", record), Mergeable("c", record)])
    await writer.close()
    assert isinstance(outcomes[0], ValueError) and outcomes[1:] == ["B", "C"]
    assert writer.commits - commits == 2  # the holding job's group, then this one
    assert _parts(tmp_path / "w.db") == ["b", "c"]
