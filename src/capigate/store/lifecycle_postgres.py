"""Lifecycle state on PostgreSQL: the ``LifecycleStore`` part of ``PostgresStore``.

A save is one transaction: the state's compare-and-set (a concurrent save of the same user
waits for the row lock, then finds the version changed), then the derived events' inserts in
dedup-key order, like ``enqueue``, so that overlapping transactions never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from capigate.errors import StoreError
from capigate.lifecycle import UserState
from capigate.store import rows
from capigate.store.base import EnqueueResult, NewEvent
from capigate.store.lifecycle import queries, state_from_row, state_params

if TYPE_CHECKING:
    from capigate.store.depth import DepthGauge

Q = queries("postgres")
Conn = psycopg.AsyncConnection[DictRow]


def _identity(value: Any) -> Any:
    return value  # psycopg already decoded JSONB


class PostgresLifecycle:
    """Mixin for ``PostgresStore``: lifecycle operations over its connection pool."""

    if TYPE_CHECKING:
        _depth: DepthGauge

        def _connection(self) -> AbstractAsyncContextManager[Conn]: ...

    async def load_user_state(self, user_key: str) -> UserState | None:
        """The saved state of ``user_key``, or ``None``."""
        async with self._connection() as conn:
            cursor = await conn.execute(Q["get_user_state"], {"user_key": user_key})
            row = await cursor.fetchone()
        return None if row is None else state_from_row(row, _identity)

    async def save_user_state(
        self,
        state: UserState,
        *,
        expected_version: int,
        events: Sequence[NewEvent],
        now_s: float,
    ) -> list[EnqueueResult] | None:
        """Save over ``expected_version`` and enqueue ``events`` in one transaction."""
        params = state_params(state, expected_version=expected_version, now_s=now_s, dump=Jsonb)
        inserts = [rows.insert_params(event, now_s, Jsonb) for event in events]
        query = Q["insert_user_state"] if expected_version == 0 else Q["update_user_state"]
        async with self._connection() as conn, conn.transaction():
            if await (await conn.execute(query, params)).fetchone() is None:
                return None  # another writer saved first; nothing was changed
            results = await _insert_all(conn, inserts)
        self._depth.add(sum(result.status == "queued" for result in results))
        return results

    async def due_user_states(self, *, now_s: float, limit: int) -> list[UserState]:
        """Users due at ``now_s``, oldest first, through the ``next_due_at`` index."""
        async with self._connection() as conn:
            cursor = await conn.execute(Q["due_user_states"], {"now": now_s, "limit": limit})
            found = await cursor.fetchall()
        return [state_from_row(row, _identity) for row in found]

    async def acquire_scheduler(
        self, name: str, *, owner: str, now_s: float, lease_s: float
    ) -> bool:
        """Take or renew the lease unless another owner holds an unexpired one."""
        params = {"name": name, "owner": owner, "now": now_s, "lease_expires_at": now_s + lease_s}
        async with self._connection() as conn:
            row = await (await conn.execute(Q["acquire_scheduler"], params)).fetchone()
        return row is not None

    async def release_scheduler(self, name: str, *, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        async with self._connection() as conn:
            await conn.execute(Q["release_scheduler"], {"name": name, "owner": owner})


async def _insert_all(conn: Conn, inserts: list[dict[str, Any]]) -> list[EnqueueResult]:
    order = sorted(range(len(inserts)), key=lambda i: rows.dedup_key(inserts[i]))
    results: dict[int, EnqueueResult] = {}
    for i in order:
        row = await (await conn.execute(Q["insert_derived_event"], inserts[i])).fetchone()
        if row is not None:
            results[i] = EnqueueResult("queued", int(row["id"]))
            continue
        found = await (await conn.execute(Q["find_derived_original"], inserts[i])).fetchone()
        if found is None:
            raise StoreError(f"dedup key {rows.dedup_key(inserts[i])} conflicts but has no event")
        results[i] = EnqueueResult("duplicate", int(found["id"]))
    return [results[i] for i in range(len(inserts))]
