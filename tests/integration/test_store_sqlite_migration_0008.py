"""Migration 0008 moves each event's payload out of marketing_events into its own table keyed
by the event id: every row keeps its payload, the rebuilt table keeps its indexes, constraints
and id sequence, and the store leases, gets and lists the old rows with their payloads."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.store import migrations, sql
from capigate.store.sqlite import SQLiteStore
from tests.integration.test_store_sqlite_migration_0007 import ROWS, T0, _apply, _schema

STEP = "0008_event_payloads"
INDEXES = {
    "marketing_events_dedup",
    "marketing_events_dedup_age",
    "marketing_events_group_due",
    "marketing_events_dead_ends",
}
COLUMNS = (
    "pixel_id, event_name, event_id, event_time, action_source, source, plan_key, "
    "test_event_code, match_score, warnings, status, attempts, next_attempt_at, lease_owner, "
    "lease_expires_at, created_at, updated_at, delivered_at, last_error, last_response, reason, "
    "dedup_active"
)
INSERT_AT_0007 = f"""
INSERT INTO marketing_events ({COLUMNS}, payload)
VALUES (?, 'Lead', ?, 1763800000, 'website', 'web', ?, ?, 7, ?, ?, ?, ?, ?, ?,
        ?, ?, ?, ?, ?, ?, ?, ?)
"""


def _payload(row: tuple[object, ...]) -> str:
    """A distinct payload per row, so that a payload paired with the wrong event shows."""
    body = {"event_name": "Lead", "event_id": row[1], "user_data": {"em": [f"{row[1]}" * 64]}}
    return orjson.dumps(body).decode()


def _database_at_0007(path: Path) -> None:
    """A database migrated to 0007 by the released steps, holding a row of every status."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(sql.load("sqlite")["create_migrations_table"])
    _apply(conn, migrations.load("sqlite")[:7])
    conn.executemany(INSERT_AT_0007, [(*row, _payload(row)) for row in ROWS])
    conn.close()


def _events(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT id, {COLUMNS} FROM marketing_events ORDER BY id").fetchall()


def _payloads(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        query = "SELECT id, payload FROM marketing_event_payloads ORDER BY id"
        return conn.execute(query).fetchall()


async def _migrated(path: Path) -> SQLiteStore:
    _database_at_0007(path)
    store = SQLiteStore(str(path))
    assert await store.migrate() == [STEP]
    return store


async def test_upgrade_from_0007_keeps_every_row_and_its_payload(tmp_path: Path) -> None:
    """Every column but the payload stays in marketing_events; every payload, of every status,
    is in marketing_event_payloads under its event's id; the four indexes exist again with
    0007's OR-chain predicates, and the table has no payload column any more."""
    path = tmp_path / "old.db"
    _database_at_0007(path)
    before = _events(path)
    store = SQLiteStore(str(path))
    assert await store.migrate() == [STEP]
    await store.close()
    assert _events(path) == before
    assert _payloads(path) == [(i + 1, _payload(row)) for i, row in enumerate(ROWS)]
    schema = _schema(path)
    assert set(schema) == {"marketing_events", *INDEXES}
    assert not any(" IN (" in text for text in schema.values())
    assert "payload" not in schema["marketing_events"]
    assert (
        "(status = 'queued' OR status = 'retry' OR status = 'leased')"
        in (schema["marketing_events_group_due"])
    )


async def test_rebuilt_table_keeps_its_constraints_and_ids(tmp_path: Path) -> None:
    """After 0008 an unknown status is refused, an active dedup key cannot be stored twice and
    new events take ids after the copied rows."""
    path = tmp_path / "old.db"
    await (await _migrated(path)).close()
    insert = f"INSERT INTO marketing_events ({COLUMNS}) VALUES ({', '.join(['?'] * 22)})"

    def row(*values: object) -> tuple[object, ...]:
        return (values[0], "Lead", values[1], 1763800000, "website", "web", *values[2:])

    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(insert, row("9", "z", None, "", 7, "[]", "lost", *ROWS[0][6:]))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute(insert, row("1", "q", "k", "", 7, "[]", *ROWS[0][5:]))
        next_id = conn.execute(insert, row("9", "new", "k", "", 7, "[]", *ROWS[0][5:])).lastrowid
    assert next_id == len(ROWS) + 1


async def test_upgraded_store_leases_gets_and_lists_old_rows_with_payloads(
    tmp_path: Path,
) -> None:
    """The old queued rows lease with their own payloads; get and the dead-end listing return
    the old rows' payloads; a new enqueue after the upgrade stores its payload too."""
    path = tmp_path / "old.db"
    store = await _migrated(path)
    batch = await store.lease_batch(worker_id="w2", now_s=T0 + 40, lease_s=60, pixel_id="1")
    dead = await store.list_events(status="dead")
    delivered = await store.get(3)
    everything = await store.list_events(limit=100)
    await store.close()
    assert batch is not None
    assert [(e.id, e.payload_json) for e in batch.events] == [(1, _payload(ROWS[0]))]
    assert [(e.event_id, e.payload_json) for e in dead] == [("x", _payload(ROWS[4]))]
    assert delivered is not None and delivered.payload_json == _payload(ROWS[2])
    assert [e.payload_json for e in everything] == [_payload(row) for row in reversed(ROWS)]


def test_migrate_twice_applies_0008_once(tmp_path: Path) -> None:
    """``capigate migrate`` on a 0007 database applies 0008, then finds nothing to do, and the
    payloads are copied once."""
    path = tmp_path / "old.db"
    _database_at_0007(path)
    url = f"sqlite:///{path}"
    first = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert first.exit_code == 0, first.output
    assert f"applied {STEP}" in first.output
    second = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert second.exit_code == 0, second.output
    assert "schema is up to date" in second.output
    assert len(_events(path)) == len(_payloads(path)) == len(ROWS)
