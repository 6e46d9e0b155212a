"""PostgreSQL store on a real server: SKIP LOCKED, JSONB, concurrent migrators, error wrapping."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from capigate.errors import StoreError
from capigate.store import NewEvent, migrations
from capigate.store.postgres import PostgresStore
from capigate.store.sqlite import SQLiteStore
from tests.contract.pg_schema import pg_schema_url

pytestmark = pytest.mark.postgres
T0 = 1_763_800_000.0


def _event(event_id: str) -> NewEvent:
    payload = {"event_name": "Lead", "event_id": event_id, "user_data": {"em": ["ab"]}}
    return NewEvent("1", "Lead", event_id, int(T0), "website", "web", None, None, payload, 3, [])


@pytest.fixture
async def url() -> AsyncIterator[str]:
    """A store URL on a fresh schema."""
    async with pg_schema_url() as schema_url:
        yield schema_url


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    """A migrated PostgreSQL store on a fresh schema."""
    opened = PostgresStore(url)
    await opened.migrate()
    yield opened
    await opened.close()


async def test_lease_skips_rows_locked_by_another_transaction(
    store: PostgresStore, url: str
) -> None:
    """Rows another worker is locking are skipped at once, not waited for."""
    ids = [r.id for r in await store.enqueue([_event(f"e{i}") for i in range(6)], now_s=T0)]
    async with await psycopg.AsyncConnection.connect(url) as other, other.transaction():
        await other.execute(
            "SELECT id FROM marketing_events WHERE id = ANY(%s) FOR UPDATE", [ids[:2]]
        )
        batch = await asyncio.wait_for(
            store.lease_batch(worker_id="w", now_s=T0, lease_s=30), timeout=5
        )
    assert batch is not None
    assert sorted(e.id for e in batch.events) == sorted(ids[2:])


async def test_payload_is_stored_as_queryable_jsonb(store: PostgresStore, url: str) -> None:
    """The hashed Meta payload is JSONB, so operators can query into it."""
    await store.enqueue([_event("j1")], now_s=T0)
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT jsonb_typeof(payload), payload #>> '{user_data,em,0}' FROM marketing_events"
        )
        assert await cur.fetchone() == ("object", "ab")


async def test_concurrent_migrators_apply_each_migration_once(url: str) -> None:
    """Two processes starting at once: one applies the schema, the other finds it current."""
    stores = [PostgresStore(url) for _ in range(2)]
    try:
        applied = await asyncio.gather(*(s.migrate() for s in stores))
        assert sorted(applied, key=len) == [[], [m.name for m in migrations.load("postgres")]]
    finally:
        for s in stores:
            await s.close()


async def test_driver_errors_become_store_errors(url: str) -> None:
    """A database error surfaces as StoreError with the driver's error as its cause."""
    unmigrated = PostgresStore(url)
    try:
        with pytest.raises(StoreError, match="marketing_events") as caught:
            await unmigrated.enqueue([_event("x")], now_s=T0)
        assert isinstance(caught.value.__cause__, psycopg.Error)
    finally:
        await unmigrated.close()


async def test_unreachable_server_is_a_store_error() -> None:
    """No server answering: StoreError after the pool timeout, not a hang."""
    unreachable = PostgresStore("postgresql://postgres@127.0.0.1:1/test", timeout_s=0.5)
    try:
        with pytest.raises(StoreError, match="PostgreSQL"):
            await unreachable.outbox_depth()
    finally:
        await unreachable.close()


async def test_both_dialects_build_the_same_schema(
    store: PostgresStore, url: str, tmp_path: Path
) -> None:
    """SQLite and PostgreSQL migrations create the same tables, columns and indexes, but for
    the payload: SQLite keeps it in marketing_event_payloads (id, payload), out of the rows its
    leases and acknowledgements rewrite (0008); PostgreSQL in marketing_events."""
    lite = SQLiteStore(str(tmp_path / "schema.db"))
    await lite.migrate()
    await lite.close()
    with sqlite3.connect(tmp_path / "schema.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        lite_columns = {
            (table, row[1])
            for table in tables
            for row in conn.execute(f"PRAGMA table_info({table})")
        }
        lite_indexes = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
        pg_columns = set(await cur.fetchall())
        cur = await conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname NOT LIKE '%pkey'"
        )
        pg_indexes = {r[0] for r in await cur.fetchall()}
    payloads = {("marketing_event_payloads", "id"), ("marketing_event_payloads", "payload")}
    assert payloads <= lite_columns
    assert (lite_columns - payloads) | {("marketing_events", "payload")} == pg_columns
    assert lite_indexes == pg_indexes
