"""The embedded default ``Store``: one SQLite file in WAL mode.

Writes run on one writer thread with group commit (``sqlite_threads``); reads on another
connection; a third copies the WAL into the database file (``Checkpointer``), so that commits
do not. Durability: with ``synchronous=FULL`` (the default) a committed event survives a
process kill and a power loss; with ``synchronous=NORMAL`` (``?synchronous=normal`` in the URL)
it survives a process kill, but the last commits may be lost on power loss. Several processes
may share the file: ``BEGIN IMMEDIATE`` makes their writes take turns.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from functools import partial
from typing import Any

import orjson

from capigate.clock import Clock, system_clock
from capigate.store import migrations, rows, sql, sqlite_enqueue
from capigate.store.base import (
    DEDUP_WINDOW_S,
    Batch,
    EnqueueResult,
    LeasedEvent,
    NewEvent,
    Stats,
    StoredEvent,
)
from capigate.store.circuits import PixelCircuit, circuit_from_row, circuit_params
from capigate.store.depth import DepthGauge
from capigate.store.identity_sqlite import SQLiteIdentity
from capigate.store.lifecycle_sqlite import SQLiteLifecycle
from capigate.store.outcomes import SQLOutcomes
from capigate.store.sqlite_threads import Checkpointer, Mergeable, Reader, Writer, connect
from capigate.store.webhooks_sqlite import SQLiteWebhooks

Q = sql.load("sqlite")
SYNCHRONOUS_MODES = ("full", "normal")
_MAX_ID = 2**63 - 1
DEAD_ENDS_PREDICATE = "(status = 'dead' OR status = 'expired')"  # as in migration 0007


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


class SQLiteStore(SQLiteLifecycle, SQLiteIdentity, SQLiteWebhooks, SQLOutcomes):
    """The ``Store`` protocol on one SQLite file."""

    def __init__(
        self, path: str, *, clock: Clock = system_clock, synchronous: str = "full"
    ) -> None:
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
        self.path = path
        self._clock = clock
        self._writer = Writer(connect(path, synchronous=synchronous))
        self._reader = Reader(connect(path, synchronous=synchronous, read_only=True))
        self._checkpointer = Checkpointer(connect(path, synchronous=synchronous))
        self._depth = DepthGauge(clock)

    @property
    def commits(self) -> int:
        """Write transactions committed so far (each may carry many callers' work)."""
        return self._writer.commits

    async def migrate(self) -> list[str]:
        """Apply pending migrations in one write transaction."""
        return await self._writer.run(partial(_migrate, self._clock()))

    async def close(self) -> None:
        """Finish queued writes, stop the checkpointer and close the connections."""
        await self._writer.close()
        await self._checkpointer.close()
        await self._reader.close()

    async def enqueue(self, events: Sequence[NewEvent], *, now_s: float) -> list[EnqueueResult]:
        """Store events atomically; durable (committed) when it returns."""
        inserts = [sqlite_enqueue.insert_row(event, _dump, now_s) for event in events]
        results = await self._writer.run(Mergeable(inserts, sqlite_enqueue.enqueue_all))
        self._depth.add(sum(result.status == "queued" for result in results))
        return results

    async def lease_batch(
        self,
        *,
        worker_id: str,
        now_s: float,
        lease_s: float,
        max_events: int = 1000,
        min_age_s: float = 0.0,
        pixel_id: str | None = None,
        exclude_pixel_ids: Collection[str] = (),
    ) -> Batch | None:
        """Lease due events of one group in one write transaction; read them on the reader."""
        params = {
            "worker_id": worker_id,
            "now": now_s,
            "lease_expires_at": now_s + lease_s,
            "max_events": max_events,
            "pixel_id": pixel_id,
        }
        lease = partial(_lease, params, min_age_s, frozenset(exclude_pixel_ids))
        ids = await self._writer.run(lease)
        if not ids:
            return None
        read = partial(_leased_events, {"ids": _dump(ids)})
        events = await self._reader.run(read)  # committed: the reader sees the lease
        return Batch(events[0].pixel_id, events[0].test_event_code, events, now_s + lease_s)

    def _json(self, value: dict[str, Any]) -> Any:
        return _dump(value)

    async def get(self, event_id: int) -> StoredEvent | None:
        """The record with this id, or ``None``."""
        found = await self._reader.run(partial(_events, Q["get_event"], {"id": event_id}))
        return found[0] if found else None

    async def list_events(
        self,
        *,
        status: str | None = None,
        pixel_id: str | None = None,
        event_name: str | None = None,
        source: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[StoredEvent]:
        """Records matching every given filter, newest first."""
        wanted = {"status": status, "pixel_id": pixel_id, "event_name": event_name}
        wanted["source"] = source
        filters, params = rows.list_filters(wanted, lambda name: f":{name}", DEAD_ENDS_PREDICATE)
        params.update(limit=limit, before_id=_MAX_ID if before_id is None else before_id)
        query = Q["list_events"].format(filters=filters)
        return await self._reader.run(partial(_events, query, params))

    async def stats(self) -> Stats:
        """Counts by status and event name, outbox depth, oldest queued event."""
        return await self._reader.run(_stats)

    async def outbox_depth(self) -> int:
        """Events still on their way; a full count at most every few seconds (``DepthGauge``)."""
        depth = self._depth.current()
        if depth is None:
            started = self._clock()
            row = await self._reader.run(partial(_fetchone, Q["outbox_depth"], {}))
            depth = int(row["n"]) if row else 0
            self._depth.counted(depth, took_s=self._clock() - started)
        return depth

    async def purge(self, *, now_s: float) -> int:
        """Forget dedup keys older than DEDUP_WINDOW_S, a bounded batch per transaction."""
        params = {"cutoff": now_s - DEDUP_WINDOW_S, "limit": rows.PURGE_BATCH_KEYS}
        total = 0
        while True:
            freed = await self._writer.run(partial(_rowcount, Q["purge_dedup_keys"], params))
            total += freed
            if freed < rows.PURGE_BATCH_KEYS:
                return total

    async def save_circuit(self, circuit: PixelCircuit) -> None:
        """Save a pixel's circuit unless a newer one is saved."""
        params = circuit_params(circuit)
        await self._writer.run(partial(_rowcount, Q["save_circuit"], params))

    async def circuits(self) -> list[PixelCircuit]:
        """Every saved pixel circuit, by pixel id."""
        found = await self._reader.run(partial(_fetchall, Q["list_circuits"], {}))
        return [circuit_from_row(row) for row in found]

    async def _change(self, name: str, ids: Sequence[int], **params: Any) -> int:
        params["ids"] = _dump(list(ids))
        return await self._writer.run(partial(_rowcount, Q[name], params))


def _fetchone(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(query, params).fetchone()
    return row


def _events(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> list[StoredEvent]:
    cursor = conn.execute(query, params)
    return rows.stored_events(_columns(cursor), cursor.fetchall(), orjson.loads)


def _leased_events(params: dict[str, Any], conn: sqlite3.Connection) -> list[LeasedEvent]:
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples, each made a LeasedEvent by position
    return rows.leased_events(cursor.execute(Q["leased_events"], params).fetchall())


def _columns(cursor: sqlite3.Cursor) -> list[str]:
    return [column[0] for column in cursor.description]


def _fetchall(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(query, params).fetchall()


def _rowcount(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> int:
    return conn.execute(query, params).rowcount


def _lease(
    params: dict[str, Any],
    min_age_s: float,
    exclude: frozenset[str],
    conn: sqlite3.Connection,
) -> list[int]:
    group = _ready_group(params, min_age_s, exclude, conn)
    if group is None:
        return []
    leased = conn.execute(Q["lease_group"], {**params, **rows.group_params(group)})
    return [row[0] for row in leased]


def _ready_group(
    params: dict[str, Any], min_age_s: float, exclude: frozenset[str], conn: sqlite3.Connection
) -> sqlite3.Row | None:
    """The group to lease: the longest-due one once it waited ``min_age_s``, else a full one."""
    groups: list[sqlite3.Row] = []
    group = conn.execute(Q["first_due_group"]).fetchone()
    while group is not None:
        groups.append(group)
        group = conn.execute(Q["next_due_group"], rows.group_params(group)).fetchone()
    candidates = rows.due_candidates(groups, params["now"], params["pixel_id"], exclude)
    if candidates and rows.is_ready(candidates[0]["next_attempt_at"], params["now"], min_age_s):
        return candidates[0]
    for candidate in candidates:
        count = conn.execute(Q["count_due"], {**params, **rows.group_params(candidate)})
        if count.fetchone()["n"] >= params["max_events"]:
            return candidate
    return None


def _stats(conn: sqlite3.Connection) -> Stats:
    by_status = conn.execute(Q["count_by_status"]).fetchall()
    by_name = conn.execute(Q["count_by_event_name"]).fetchall()
    oldest = conn.execute(Q["oldest_queued"]).fetchone()
    return rows.build_stats(by_status, by_name, oldest["created_at"] if oldest else None)


def _migrate(now_s: float, conn: sqlite3.Connection) -> list[str]:
    conn.execute(Q["lock_migrations"])
    conn.execute(Q["create_migrations_table"])
    applied = {row[0] for row in conn.execute(Q["applied_migrations"])}
    done = []
    for migration in migrations.pending(migrations.load("sqlite"), applied):
        for statement in _statements(migration.sql):
            conn.execute(statement)
        conn.execute(Q["record_migration"], {**_migration_params(migration), "now": now_s})
        done.append(migration.name)
    return done


def _migration_params(migration: migrations.Migration) -> dict[str, Any]:
    return {"version": migration.version, "name": migration.name}


def _statements(script: str) -> list[str]:
    """Split a script into statements (sqlite3 executes one at a time inside a transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
