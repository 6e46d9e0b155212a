"""SQLite store on real files: group commit, durability, pragmas, several processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.store import NewEvent, Status, open_store
from capigate.store.sqlite import SQLiteStore
from capigate.store.sqlite_threads import Writer, connect

T0 = 1_763_800_000.0


def _event(event_id: str, pixel_id: str = "1") -> NewEvent:
    payload = {"event_name": "Lead", "event_id": event_id}
    return NewEvent(
        pixel_id, "Lead", event_id, int(T0), "website", "web", None, None, payload, 3, []
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A migrated SQLite store on a file in tmp_path."""
    opened = SQLiteStore(str(tmp_path / "gw.db"), clock=FrozenClock(T0))
    await opened.migrate()
    yield opened
    await opened.close()


async def test_concurrent_enqueues_share_transactions(store: SQLiteStore) -> None:
    """200 callers enqueuing at once are committed in far fewer than 200 transactions."""
    before = store.commits
    results = await asyncio.gather(
        *(store.enqueue([_event(f"e{i}")], now_s=T0) for i in range(200))
    )
    assert [r.status for [r] in results] == ["queued"] * 200
    assert store.commits - before < 50


async def test_acknowledged_enqueue_is_visible_from_a_fresh_connection(
    store: SQLiteStore,
) -> None:
    """When enqueue returns, another connection already reads the committed row."""
    [result] = await store.enqueue([_event("durable")], now_s=T0)
    with sqlite3.connect(store.path) as fresh:
        row = fresh.execute(
            "SELECT event_id, status FROM marketing_events WHERE id = ?", (result.id,)
        ).fetchone()
    assert row == ("durable", "queued")


async def test_database_runs_in_wal_with_full_sync_by_default(store: SQLiteStore) -> None:
    """The file is in WAL mode; the writer syncs every commit (power-loss safe)."""
    with sqlite3.connect(store.path) as fresh:
        assert fresh.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert await store._writer.run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 2


async def test_synchronous_normal_can_be_chosen_in_the_url(tmp_path: Path) -> None:
    """?synchronous=normal trades power-loss safety for speed (still safe on process kill)."""
    opened = open_store(f"sqlite:///{tmp_path / 'n.db'}?synchronous=normal")
    assert isinstance(opened, SQLiteStore)
    try:
        assert (
            await opened._writer.run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0]) == 1
        )
    finally:
        await opened.close()


async def test_failing_job_fails_alone_in_its_group(tmp_path: Path) -> None:
    """Jobs queued during a transaction share the next one; a failing job rolls back alone."""
    writer = Writer(connect(str(tmp_path / "w.db"), synchronous="normal"))
    await writer.run(lambda c: c.execute("CREATE TABLE t (v INTEGER UNIQUE)"))
    entered, gate = threading.Event(), threading.Event()

    def hold(_: sqlite3.Connection) -> None:
        entered.set()
        gate.wait(10)

    def insert(value: int) -> Callable[[sqlite3.Connection], object]:
        return lambda c: c.execute("INSERT INTO t VALUES (?)", (value,))

    held = asyncio.ensure_future(writer.run(hold))
    await asyncio.to_thread(entered.wait, 10)
    commits = writer.commits
    jobs = [asyncio.ensure_future(writer.run(insert(v))) for v in (1, 1, 2)]
    await asyncio.sleep(0)  # let the three jobs reach the writer's queue
    gate.set()
    await held
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    assert writer.commits - commits == 2  # the held transaction, then one for all three
    assert isinstance(outcomes[1], StoreError) and "UNIQUE" in str(outcomes[1])
    assert not isinstance(outcomes[0], BaseException)
    assert not isinstance(outcomes[2], BaseException)
    rows = await writer.run(lambda c: c.execute("SELECT v FROM t ORDER BY v").fetchall())
    assert [tuple(r) for r in rows] == [(1,), (2,)]
    await writer.close()


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    """After close, every operation raises StoreError instead of hanging."""
    opened = SQLiteStore(str(tmp_path / "c.db"))
    await opened.migrate()
    await opened.close()
    with pytest.raises(StoreError, match="closed"):
        await opened.enqueue([_event("late")], now_s=T0)
    with pytest.raises(StoreError, match="closed"):
        await opened.get(1)


async def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    """A database in a missing directory fails at open with the path in the message."""
    with pytest.raises(StoreError, match="cannot open SQLite database"):
        SQLiteStore(str(tmp_path / "missing" / "x.db"))


async def test_two_stores_on_one_file_never_lease_one_event(store: SQLiteStore) -> None:
    """A second process on the same file (here: a second store) takes turns, never shares."""
    ids = [r.id for r in await store.enqueue([_event(f"e{i}") for i in range(30)], now_s=T0)]
    other = SQLiteStore(store.path)
    try:
        batches = await asyncio.gather(
            *(
                s.lease_batch(worker_id=f"w{i}", now_s=T0, lease_s=30, max_events=4)
                for i, s in enumerate([store, other] * 4)
            )
        )
        leased = [e.id for b in batches if b for e in b.events]
        assert len(leased) == len(set(leased))
        assert sorted(leased) == sorted(ids)
    finally:
        await other.close()


async def test_two_stores_on_one_file_enqueue_one_key_once(store: SQLiteStore) -> None:
    """Two processes receiving one event at once store it once."""
    other = SQLiteStore(store.path)
    try:
        calls = [s.enqueue([_event("same")], now_s=T0) for s in [store, other] * 3]
        results = [r for rs in await asyncio.gather(*calls) for r in rs]
        assert [r.status for r in results].count("queued") == 1
    finally:
        await other.close()


def test_acknowledged_event_survives_a_killed_process(tmp_path: Path) -> None:
    """A process killed (SIGKILL) right after enqueue returned loses nothing it acknowledged."""
    db = tmp_path / "kill.db"
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from capigate.store import NewEvent, open_store

        async def main():
            store = open_store("sqlite:///{db}?synchronous=normal")
            await store.migrate()
            event = NewEvent("1", "Lead", "kept", 1, "website", "web", None, None, {{}}, 0, [])
            [result] = await store.enqueue([event], now_s=1.0)
            print(result.id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -9, done.stderr
    event_id = int(done.stdout.split()[0])
    with sqlite3.connect(db) as fresh:
        row = fresh.execute(
            "SELECT event_id, status FROM marketing_events WHERE id = ?", (event_id,)
        ).fetchone()
    assert row == ("kept", Status.QUEUED.value)
