"""The ``Store`` for several gateway processes and workers on one PostgreSQL.

psycopg 3 async with a connection pool; payloads as JSONB. Dedup is decided by a unique index
(``INSERT ... ON CONFLICT DO NOTHING``), leasing by ``FOR UPDATE SKIP LOCKED``, so concurrent
processes never both queue one key or lease one event. Driver errors become ``StoreError`` here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from psycopg.rows import DictRow, dict_row, tuple_row
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool

from capigate.clock import Clock, system_clock
from capigate.errors import StoreError
from capigate.store import migrations, rows, sql
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
from capigate.store.identity_postgres import PostgresIdentity
from capigate.store.lifecycle_postgres import PostgresLifecycle
from capigate.store.outcomes import SQLOutcomes
from capigate.store.webhooks_postgres import PostgresWebhooks

Q = sql.load("postgres")
POOL_MAX_SIZE = 10  # connections per process
POOL_TIMEOUT_S = 10.0  # wait this long for a connection, then fail with StoreError
_MAX_ID = 2**63 - 1
Conn = psycopg.AsyncConnection[DictRow]


async def _configure(conn: Conn) -> None:
    set_json_dumps(orjson.dumps, conn)
    set_json_loads(orjson.loads, conn)


class PostgresStore(PostgresLifecycle, PostgresIdentity, PostgresWebhooks, SQLOutcomes):
    """The ``Store`` protocol on PostgreSQL; the pool opens on first use."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = system_clock,
        max_size: int = POOL_MAX_SIZE,
        timeout_s: float = POOL_TIMEOUT_S,
    ) -> None:
        self._clock = clock
        self._depth = DepthGauge(clock)
        self._pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            url,
            connection_class=Conn,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=timeout_s,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=_configure,
        )

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        try:
            await self._pool.open()
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc

    async def _fetchone(self, query: str, params: dict[str, Any]) -> DictRow | None:
        async with self._connection() as conn:
            return await (await conn.execute(query, params)).fetchone()

    async def migrate(self) -> list[str]:
        """Apply pending migrations in one transaction, one migrator per schema at a time."""
        async with self._connection() as conn, conn.transaction():
            await conn.execute(Q["lock_migrations"])
            await conn.execute(Q["create_migrations_table"])
            applied = {row["version"] for row in await _all(conn, Q["applied_migrations"], {})}
            done = []
            for migration in migrations.pending(migrations.load("postgres"), applied):
                await conn.execute(migration.sql.encode())
                params = {"version": migration.version, "name": migration.name}
                await conn.execute(Q["record_migration"], {**params, "now": self._clock()})
                done.append(migration.name)
            return done

    async def close(self) -> None:
        """Close the pool."""
        await self._pool.close()

    async def enqueue(self, events: Sequence[NewEvent], *, now_s: float) -> list[EnqueueResult]:
        """Store events with one atomic statement; committed when it returns.

        Rows go in dedup-key order so that two processes inserting overlapping keys wait for
        each other in the same order and never deadlock.
        """
        params = [rows.insert_params(event, now_s, Jsonb) for event in events]
        if not params:
            return []
        ordered = sorted(params, key=rows.dedup_key)
        columns = {name: [p[name] for p in ordered] for name in ordered[0] if name != "now"}
        async with self._connection() as conn:
            inserted = await _all(conn, Q["insert_event"], {**columns, "now": now_s})
            stored = {rows.dedup_key(row): int(row["id"]) for row in inserted}
            results = []
            for event in params:
                key = rows.dedup_key(event)
                if key in stored:
                    results.append(EnqueueResult("queued", stored.pop(key)))
                else:
                    results.append(EnqueueResult("duplicate", await _original(conn, event)))
        self._depth.add(len(inserted))
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
        """Lease due events of one group; rows other workers hold are skipped, never shared."""
        params = {
            "worker_id": worker_id,
            "now": now_s,
            "lease_expires_at": now_s + lease_s,
            "max_events": max_events,
            "pixel_id": pixel_id,
            "exclude": frozenset(exclude_pixel_ids),
        }
        # No transaction: the group walk locks nothing and lease_group re-checks every row it
        # takes, so each statement may commit alone (two round trips fewer per lease).
        async with self._connection() as conn:
            group = await _ready_group(conn, params, min_age_s)
            if group is None:
                return None
            group_params = {**params, **rows.group_params(group)}
            leased = await _leased_events(conn, Q["lease_group"], group_params)
        if not leased:
            return None
        events = sorted(leased, key=_by_id)
        return Batch(events[0].pixel_id, events[0].test_event_code, events, now_s + lease_s)

    def _json(self, value: dict[str, Any]) -> Any:
        return Jsonb(value)

    async def get(self, event_id: int) -> StoredEvent | None:
        """The record with this id, or ``None``."""
        async with self._connection() as conn:
            found = await _events(conn, Q["get_event"], {"id": event_id})
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
        filters, params = rows.list_filters(wanted, lambda name: f"%({name})s")
        params.update(limit=limit, before_id=_MAX_ID if before_id is None else before_id)
        async with self._connection() as conn:
            return await _events(conn, Q["list_events"].format(filters=filters), params)

    async def stats(self) -> Stats:
        """Counts by status and event name, outbox depth, oldest queued event."""
        async with self._connection() as conn, conn.transaction():
            by_status = await _all(conn, Q["count_by_status"], {})
            by_name = await _all(conn, Q["count_by_event_name"], {})
            oldest = await (await conn.execute(Q["oldest_queued"])).fetchone()
        return rows.build_stats(by_status, by_name, oldest["created_at"] if oldest else None)

    async def outbox_depth(self) -> int:
        """Events still on their way; a full count at most every few seconds (``DepthGauge``)."""
        depth = self._depth.current()
        if depth is None:
            started = self._clock()
            row = await self._fetchone(Q["outbox_depth"], {})
            depth = int(row["n"]) if row else 0
            self._depth.counted(depth, took_s=self._clock() - started)
        return depth

    async def purge(self, *, now_s: float) -> int:
        """Forget dedup keys older than DEDUP_WINDOW_S, a bounded batch per transaction."""
        params = {"cutoff": now_s - DEDUP_WINDOW_S, "limit": rows.PURGE_BATCH_KEYS}
        total = 0
        while True:
            freed = await self._execute(Q["purge_dedup_keys"], params)
            total += freed
            if freed < rows.PURGE_BATCH_KEYS:
                return total

    async def save_circuit(self, circuit: PixelCircuit) -> None:
        """Save a pixel's circuit unless a newer one is saved."""
        await self._execute(Q["save_circuit"], circuit_params(circuit))

    async def circuits(self) -> list[PixelCircuit]:
        """Every saved pixel circuit, by pixel id."""
        async with self._connection() as conn:
            found = await _all(conn, Q["list_circuits"], {})
        return [circuit_from_row(row) for row in found]

    async def _change(self, name: str, ids: Sequence[int], **params: Any) -> int:
        return await self._execute(Q[name], {**params, "ids": list(ids)})

    async def _execute(self, query: str, params: dict[str, Any]) -> int:
        async with self._connection() as conn:
            return (await conn.execute(query, params)).rowcount


def _by_id(event: LeasedEvent) -> int:
    return event.id


async def _all(conn: Conn, query: str, params: dict[str, Any]) -> list[DictRow]:
    return await (await conn.execute(query, params)).fetchall()


async def _events(conn: Conn, query: str, params: dict[str, Any]) -> list[StoredEvent]:
    cursor = conn.cursor(row_factory=tuple_row)
    cursor.adapters.register_loader("jsonb", TextLoader)  # the payload stays JSON text
    await cursor.execute(query, params)
    columns = [column.name for column in cursor.description or ()]
    return rows.stored_events(columns, await cursor.fetchall(), orjson.loads)


async def _leased_events(conn: Conn, query: str, params: dict[str, Any]) -> list[LeasedEvent]:
    cursor = conn.cursor(row_factory=tuple_row)
    cursor.adapters.register_loader("jsonb", TextLoader)  # the payload stays JSON text
    await cursor.execute(query, params)
    return rows.leased_events(await cursor.fetchall())


async def _original(conn: Conn, params: dict[str, Any]) -> int:
    row = await (await conn.execute(Q["find_original"], params)).fetchone()
    if row is None:
        raise StoreError(f"dedup key {rows.dedup_key(params)} conflicts but has no event")
    return int(row["id"])


async def _ready_group(conn: Conn, params: dict[str, Any], min_age_s: float) -> DictRow | None:
    """The group to lease: the longest-due one once it waited ``min_age_s``, else a full one."""
    groups = []
    group = await (await conn.execute(Q["first_due_group"])).fetchone()
    while group is not None:
        groups.append(group)
        found = await conn.execute(Q["next_due_group"], rows.group_params(group))
        group = await found.fetchone()
    now_s = params["now"]
    candidates = rows.due_candidates(groups, now_s, params["pixel_id"], params["exclude"])
    if candidates and rows.is_ready(candidates[0]["next_attempt_at"], now_s, min_age_s):
        return candidates[0]
    for candidate in candidates:
        count = await conn.execute(Q["count_due"], {**params, **rows.group_params(candidate)})
        row = await count.fetchone()
        if row is not None and row["n"] >= params["max_events"]:
            return candidate
    return None
