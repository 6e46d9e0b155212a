"""The tick's due-user query is answered from the next_due_at index, not by scanning users."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest

from capigate.store import open_store
from capigate.store.lifecycle import queries
from tests.contract.pg_schema import pg_schema_url

T0 = 1_763_800_000.0


async def test_sqlite_due_query_searches_the_index(tmp_path: Path) -> None:
    """SQLite's plan for due_user_states is a search of lifecycle_users_due."""
    path = tmp_path / "plan.db"
    store = open_store(f"sqlite:///{path}")
    await store.migrate()
    await store.close()
    with sqlite3.connect(path) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + queries("sqlite")["due_user_states"], {"now": T0, "limit": 5}
        ).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH lifecycle_users USING INDEX lifecycle_users_due" in details


@pytest.mark.postgres
async def test_postgres_due_query_can_use_the_partial_index() -> None:
    """PostgreSQL proves next_due_at <= now implies the partial index's NOT NULL condition."""
    async with pg_schema_url() as url:
        store = open_store(url)
        await store.migrate()
        await store.close()
        query = queries("postgres")["due_user_states"]
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("SET enable_seqscan = off")
            cursor = await conn.execute("EXPLAIN " + query, {"now": T0, "limit": 5})
            plan = " ".join(row[0] for row in await cursor.fetchall())
    assert "lifecycle_users_due" in plan
