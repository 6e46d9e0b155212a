"""Lifecycle state on SQLite: the ``LifecycleStore`` part of ``SQLiteStore``.

A save is one job on the writer thread: the state's compare-and-set, then the derived events'
inserts into the outbox (same row and dedup as ``enqueue``), in one transaction. Reads go to
the reader.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from capigate.errors import StoreError
from capigate.lifecycle import UserState
from capigate.store import rows, sqlite_enqueue
from capigate.store.base import EnqueueResult, NewEvent
from capigate.store.lifecycle import queries, state_from_row, state_params

if TYPE_CHECKING:
    from capigate.store.depth import DepthGauge
    from capigate.store.sqlite_threads import Reader, Writer

Q = queries("sqlite")


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


class SQLiteLifecycle:
    """Mixin for ``SQLiteStore``: lifecycle operations over its writer and reader threads."""

    if TYPE_CHECKING:
        _writer: Writer
        _reader: Reader
        _depth: DepthGauge

    async def load_user_state(self, user_key: str) -> UserState | None:
        """The saved state of ``user_key``, or ``None``."""
        params = {"user_key": user_key}
        row = await self._reader.run(partial(_fetchone, Q["get_user_state"], params))
        return None if row is None else state_from_row(row, orjson.loads)

    async def save_user_state(
        self,
        state: UserState,
        *,
        expected_version: int,
        events: Sequence[NewEvent],
        now_s: float,
    ) -> list[EnqueueResult] | None:
        """Save over ``expected_version`` and enqueue ``events`` in one transaction."""
        params = state_params(state, expected_version=expected_version, now_s=now_s, dump=_dump)
        inserts = [rows.insert_params(event, now_s, _dump) for event in events]
        results = await self._writer.run(partial(_save, params, inserts))
        if results is not None:
            self._depth.add(sum(result.status == "queued" for result in results))
        return results

    async def due_user_states(self, *, now_s: float, limit: int) -> list[UserState]:
        """Users due at ``now_s``, oldest first, through the ``next_due_at`` index."""
        params = {"now": now_s, "limit": limit}
        found = await self._reader.run(partial(_fetchall, Q["due_user_states"], params))
        return [state_from_row(row, orjson.loads) for row in found]

    async def acquire_scheduler(
        self, name: str, *, owner: str, now_s: float, lease_s: float
    ) -> bool:
        """Take or renew the lease unless another owner holds an unexpired one."""
        params = {"name": name, "owner": owner, "now": now_s, "lease_expires_at": now_s + lease_s}
        row = await self._writer.run(partial(_fetchone, Q["acquire_scheduler"], params))
        return row is not None

    async def release_scheduler(self, name: str, *, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        params = {"name": name, "owner": owner}
        await self._writer.run(partial(_fetchone, Q["release_scheduler"], params))


def _fetchone(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(query, params).fetchone()
    return row


def _fetchall(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(query, params).fetchall()


def _save(
    state: dict[str, Any], inserts: list[dict[str, Any]], conn: sqlite3.Connection
) -> list[EnqueueResult] | None:
    query = Q["insert_user_state"] if state["expected"] == 0 else Q["update_user_state"]
    if conn.execute(query, state).fetchone() is None:
        return None  # another writer saved first; nothing was changed
    return [_insert(event, conn) for event in inserts]


def _insert(event: dict[str, Any], conn: sqlite3.Connection) -> EnqueueResult:
    row = conn.execute(Q["insert_derived_event"], event).fetchone()
    if row is not None:
        stored = int(row[0])
        conn.execute(sqlite_enqueue.payload_sql(1), (stored, event["payload"]))
        return EnqueueResult("queued", stored)
    original = conn.execute(Q["find_derived_original"], event).fetchone()
    if original is None:
        raise StoreError(f"dedup key {rows.dedup_key(event)} conflicts but has no event")
    return EnqueueResult("duplicate", int(original[0]))
