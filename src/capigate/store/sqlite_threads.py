"""The threads that talk to SQLite: one writer with group commit, one reader, one checkpointer.

The writer owns the only write connection. Jobs that arrive while a transaction is in flight
wait in a queue and then run together inside the next ``BEGIN IMMEDIATE ... COMMIT``: one
fsync serves many callers, and each caller's future resolves only after the commit that made
its work durable. A failing job fails alone: it rolls back to a savepoint taken before it, and
a failing commit fails the whole group. Adjacent ``Mergeable`` jobs of one kind run as one job
(many requests' events in one INSERT); if that fails, each runs again alone in its own
savepoint, so that a failure still reaches only its own caller.

The group's first run (a job, or a merged run) takes no savepoint: the transaction's start is
the same point, so on failure the writer rolls the transaction back and begins it again.
Under load a group is one merged enqueue run, and every statement counts: the writer hands
the GIL back around each SQLite step and may wait a switch interval to take it again while
the event loop is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from capigate.errors import StoreError

T = TypeVar("T")
P = TypeVar("P")
Job = Callable[[sqlite3.Connection], T]

BUSY_TIMEOUT_S = 10.0  # how long to wait for another process's write lock
MAX_GROUP_JOBS = 256  # jobs per group transaction; bounds the latency one commit adds
WRITER_CACHE_KIB = 65536  # page cache of the writer: keeps the hot index pages of a big outbox
READER_CACHE_KIB = 16384
# The checkpointer copies the WAL into the database file this often, on its own thread; the
# writer's commits then checkpoint only past WRITER_CHECKPOINT_PAGES (4 KiB each), should it
# fall behind. Checkpointing at each commit that crossed SQLite's default 1,000 pages cost
# the writer a third of its time with random event ids (every event dirties a random leaf of
# the dedup index).
CHECKPOINT_EVERY_S = 0.25
WRITER_CHECKPOINT_PAGES = 16_000


def connect(path: str, *, synchronous: str, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) on a WAL database."""
    try:
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        if read_only:
            conn.execute("PRAGMA query_only = ON")
            conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        else:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
        conn.execute("PRAGMA temp_store = MEMORY")  # RETURNING buffers each lease's rows there
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open SQLite database {path!r}: {exc}") from exc
    return conn


@dataclass(frozen=True, slots=True)
class Mergeable(Generic[P, T]):
    """A job the writer may run together with the adjacent jobs of the same ``run_all``.

    ``run_all(parts, conn)`` returns one value per part, each what the part would have got
    had the parts run alone, one after the other.
    """

    part: P
    run_all: Callable[[list[P], sqlite3.Connection], list[T]]

    def __call__(self, conn: sqlite3.Connection) -> T:
        return self.run_all([self.part], conn)[0]


@dataclass(slots=True)
class _Pending:
    job: Job[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class Writer:
    """Runs write jobs on a dedicated thread, committing concurrent jobs together."""

    def __init__(self, conn: sqlite3.Connection, *, max_group_jobs: int = MAX_GROUP_JOBS) -> None:
        self.commits = 0  # transactions committed; tests read it to see group commit work
        self._conn = conn
        self._max_group_jobs = max_group_jobs
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="capigate-sqlite-writer")
        self._thread.daemon = True
        self._thread.start()

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` in the next group transaction; returns once that transaction committed."""
        if self._closed:
            raise StoreError("the SQLite store is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Pending(job, future, loop))
        return await future

    async def close(self) -> None:
        """Finish the queued jobs, stop the thread and close the connection."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._conn.close()

    def _serve(self) -> None:
        while (first := self._queue.get()) is not None:
            group = [first]
            stop = False
            while len(group) < self._max_group_jobs:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Pending]) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            first, *rest = _runs([pending.job for pending in group])
            outcomes = self._first(first)
            for run in rest:
                outcomes.extend(self._merged(run) if len(run) > 1 else [self._in_savepoint(run[0])])
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            error = _wrap(exc)
            _settle([(pending, None, error) for pending in group])
            return
        self.commits += 1
        _settle([(pending, *outcome) for pending, outcome in zip(group, outcomes, strict=True)])

    def _first(self, run: list[Any]) -> list[tuple[Any, BaseException | None]]:
        """Run the group's first run with no savepoint: on failure, begin the transaction again
        and answer as ``_merged`` or ``_in_savepoint`` would have."""
        try:
            values = (
                run[0].run_all([job.part for job in run], self._conn)
                if len(run) > 1
                else [run[0](self._conn)]
            )
        except Exception as exc:
            if self._conn.in_transaction:  # some errors end the transaction themselves
                self._conn.execute("ROLLBACK")
            self._conn.execute("BEGIN IMMEDIATE")
            if len(run) > 1:
                return [self._in_savepoint(job) for job in run]  # find whose part fails
            return [(None, _wrap(exc) if isinstance(exc, sqlite3.Error) else exc)]
        return [(value, None) for value in values]

    def _merged(self, jobs: list[Mergeable[Any, Any]]) -> list[tuple[Any, BaseException | None]]:
        self._conn.execute("SAVEPOINT job")
        try:
            values = jobs[0].run_all([job.part for job in jobs], self._conn)
        except Exception:
            self._conn.execute("ROLLBACK TO job")
            self._conn.execute("RELEASE job")
            return [self._in_savepoint(job) for job in jobs]  # find whose part fails
        self._conn.execute("RELEASE job")
        return [(value, None) for value in values]

    def _in_savepoint(self, job: Job[Any]) -> tuple[Any, BaseException | None]:
        self._conn.execute("SAVEPOINT job")
        try:
            value = job(self._conn)
        except Exception as exc:
            self._conn.execute("ROLLBACK TO job")
            self._conn.execute("RELEASE job")
            return None, _wrap(exc) if isinstance(exc, sqlite3.Error) else exc
        self._conn.execute("RELEASE job")
        return value, None


class Checkpointer:
    """Copies committed WAL frames into the database file every ``every_s`` seconds on its own
    thread and connection. A PASSIVE checkpoint waits for no reader and no writer: commits go
    on meanwhile, and the writer starts the WAL over once a checkpoint has caught up with it."""

    def __init__(self, conn: sqlite3.Connection, *, every_s: float = CHECKPOINT_EVERY_S) -> None:
        self.checkpoints = 0  # passes run; tests read it
        self._conn = conn
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="capigate-sqlite-checkpointer")
        self._thread.daemon = True
        self._thread.start()

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint; a failure waits for the next pass (the writer's own
        checkpoints past WRITER_CHECKPOINT_PAGES still bound the WAL)."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.checkpoints += 1

    async def close(self) -> None:
        """Stop the thread and close its connection."""
        if not self._stop.is_set():
            self._stop.set()
            await asyncio.to_thread(self._thread.join)
            self._conn.close()

    def _serve(self) -> None:
        while not self._stop.wait(self._every_s):
            self.checkpoint()


class Reader:
    """Runs read jobs on one thread with its own connection; WAL lets reads overlap writes."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="capigate-sqlite-reader")

    async def run(self, job: Job[T]) -> T:
        """Run ``job`` on the reader thread."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, job, self._conn)
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc
        except RuntimeError as exc:  # the executor was shut down
            raise StoreError("the SQLite store is closed") from exc

    async def close(self) -> None:
        """Close the connection on its thread and stop the thread."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):
            await loop.run_in_executor(self._executor, self._conn.close)
        self._executor.shutdown(wait=False)


def _runs(jobs: list[Job[Any]]) -> Iterator[list[Any]]:
    """The jobs in order, adjacent ``Mergeable`` jobs of one ``run_all`` in one list."""
    run: list[Any] = []
    for job in jobs:
        if run and not (
            isinstance(job, Mergeable)
            and isinstance(run[0], Mergeable)
            and job.run_all is run[0].run_all
        ):
            yield run
            run = []
        run.append(job)
    if run:
        yield run


def _wrap(exc: sqlite3.Error) -> StoreError:
    error = StoreError(f"SQLite: {exc}")
    error.__cause__ = exc
    return error


_Outcome = tuple[_Pending, Any, BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve the callers' futures with one wake-up per event loop, not one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
    for outcome in outcomes:
        by_loop.setdefault(outcome[0].loop, []).append(outcome)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the caller's event loop is already closed
            loop.call_soon_threadsafe(_resolve, settled)


def _resolve(settled: list[_Outcome]) -> None:
    for pending, value, error in settled:
        if pending.future.done():  # the caller was cancelled; the work is committed anyway
            continue
        if error is None:
            pending.future.set_result(value)
        else:
            pending.future.set_exception(error)
