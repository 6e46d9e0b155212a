"""Leasing reads the group index by seeks, so its cost does not grow with the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from capigate.store import open_store, sql
from tests.contract.pg_schema import pg_schema_url

T0 = 1_763_800_000.0
GROUP = {"pixel_id": "111", "test_event_code": "", "now": T0, "max_events": 1000}
LEASE = {**GROUP, "worker_id": "w1", "lease_expires_at": T0 + 60}


def _sqlite_plan(path: Path, name: str) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql.load("sqlite")[name], LEASE).fetchall()
    return " ".join(str(row[-1]) for row in rows)


async def test_sqlite_group_walk_seeks_the_group_index(tmp_path: Path) -> None:
    """The next group is two seeks (same pixel's next code, next pixel), never a row-value scan."""
    path = tmp_path / "plan.db"
    store = open_store(f"sqlite:///{path}")
    await store.migrate()
    await store.close()
    walk = _sqlite_plan(path, "next_due_group")
    index = "USING INDEX marketing_events_group_due"
    assert f"SEARCH marketing_events {index} (pixel_id=? AND test_event_code>?)" in walk
    assert f"SEARCH marketing_events {index} (pixel_id>?)" in walk
    due = (
        f"SEARCH marketing_events {index} (pixel_id=? AND test_event_code=? AND next_attempt_at<?)"
    )
    assert due in _sqlite_plan(path, "count_due")
    assert due in _sqlite_plan(path, "lease_group")


@pytest.mark.postgres
async def test_postgres_group_walk_seeks_the_group_index() -> None:
    """PostgreSQL takes the row comparison as an index condition on the group index."""
    async with pg_schema_url() as url:
        store = open_store(url)
        await store.migrate()
        await store.close()
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("SET enable_seqscan = off")
            query = sql.load("postgres")["next_due_group"]
            cursor = await conn.execute("EXPLAIN " + query, GROUP)
            plan = " ".join(row[0] for row in await cursor.fetchall())
    assert "marketing_events_group_due" in plan
    assert "Index Cond: (ROW(pixel_id, test_event_code) > ROW(" in plan
