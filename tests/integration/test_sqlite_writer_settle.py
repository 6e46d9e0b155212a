"""The SQLite writer settles a group's callers together: each on its own event loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capigate.errors import StoreError
from capigate.store.sqlite_threads import Writer, connect
from tests.writer_kit import held as _held


class _FailingCommit(sqlite3.Connection):
    """A connection whose COMMIT fails, as a full disk would make it."""

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


def _value(n: int) -> Callable[[sqlite3.Connection], int]:
    return lambda conn: int(conn.execute("SELECT ?", (n,)).fetchone()[0])


async def test_jobs_from_two_event_loops_resolve_on_their_own_loop(tmp_path: Path) -> None:
    """Callers on two loops sharing one group each get their own result on their own loop."""
    writer = Writer(connect(str(tmp_path / "w.db"), synchronous="normal"))
    held, entered, gate = _held(writer)
    await asyncio.to_thread(entered.wait, 10)
    other: dict[str, object] = {}
    submitted = threading.Event()

    def other_loop() -> None:
        async def run() -> list[int]:
            jobs = [asyncio.ensure_future(writer.run(_value(n))) for n in (10, 11)]
            await asyncio.sleep(0)  # both jobs are in the writer's queue
            submitted.set()
            return list(await asyncio.gather(*jobs))

        other["results"] = asyncio.run(run())

    thread = threading.Thread(target=other_loop)
    thread.start()
    mine = [asyncio.ensure_future(writer.run(_value(n))) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    await asyncio.to_thread(submitted.wait, 10)
    commits = writer.commits
    gate.set()
    await held
    assert await asyncio.gather(*mine) == [1, 2, 3]
    await asyncio.to_thread(thread.join, 10)
    assert other["results"] == [10, 11]
    assert writer.commits - commits == 2  # the held transaction, then one for all five
    await writer.close()


async def test_a_failed_commit_fails_every_caller_of_the_group(tmp_path: Path) -> None:
    """When COMMIT fails, every job of that transaction gets the StoreError."""
    conn = sqlite3.connect(
        str(tmp_path / "w.db"),
        isolation_level=None,
        check_same_thread=False,
        factory=_FailingCommit,
    )
    writer = Writer(conn)
    outcomes = await asyncio.gather(
        *(writer.run(_value(n)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, StoreError) and "disk is full" in str(o) for o in outcomes)
    assert writer.commits == 0
    await writer.close()


async def test_a_cancelled_caller_leaves_the_rest_of_its_group_settled(tmp_path: Path) -> None:
    """A caller that gave up does not keep the others of its group from their results."""
    writer = Writer(connect(str(tmp_path / "w.db"), synchronous="normal"))
    held, entered, gate = _held(writer)
    await asyncio.to_thread(entered.wait, 10)
    jobs = [asyncio.ensure_future(writer.run(_value(n))) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    jobs[1].cancel()
    gate.set()
    await held
    outcomes = await asyncio.gather(*jobs, return_exceptions=True)
    assert outcomes[0] == 1 and outcomes[2] == 3
    assert isinstance(outcomes[1], asyncio.CancelledError)
    await writer.close()
