"""Migration 0007 rebuilds marketing_events with OR-chain status predicates: rows, indexes and
constraints survive, and the queries still use the partial indexes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.store import migrations, sql
from capigate.store.sqlite import DEAD_ENDS_PREDICATE, SQLiteStore, _statements

T0 = 1_763_800_000.0
STEP = "0007_status_or_chains"
INDEXES = {
    "marketing_events_dedup",
    "marketing_events_dedup_age",
    "marketing_events_group_due",
    "marketing_events_dead_ends",
}
INSERT = """
INSERT INTO marketing_events (
    pixel_id, event_name, event_id, event_time, action_source, source, plan_key,
    test_event_code, payload, match_score, warnings, status, attempts, next_attempt_at,
    lease_owner, lease_expires_at, created_at, updated_at, delivered_at, last_error,
    last_response, reason, dedup_active)
VALUES (?, 'Lead', ?, 1763800000, 'website', 'web', ?, ?, '{"a":1}', 7, ?, ?, ?, ?, ?, ?,
        ?, ?, ?, ?, ?, ?, ?)
"""
ROWS = [  # pixel, event_id, plan_key, test code, warnings, status, attempts, next, owner,
    # lease expiry, created, updated, delivered, error, response, reason, dedup_active
    ("1", "q", "k", "", "[]", "queued", 0, T0, None, None, T0, T0, None, None, None, None, 1),
    ("1", "l", None, "T1", "[]", "leased", 0, T0 + 60, "w", T0 + 60, T0, T0, None, None,
     None, None, 1),
    ("2", "d", "k", "", '[{"rule":"x"}]', "delivered", 1, None, "w", None, T0, T0 + 1, T0 + 1,
     None, '{"events_received":1}', None, 1),
    ("2", "r", "k", "", "[]", "retry", 2, T0 + 30, "w", None, T0, T0 + 2, None, '{"c":1}',
     None, None, 1),
    ("3", "x", "k", "", "[]", "dead", 5, None, "w", None, T0, T0 + 3, None, '{"c":2}', None,
     None, 1),
    ("3", "e", "k", "", "[]", "expired", 0, None, None, None, T0, T0 + 4, None, None, None,
     "too_old", 0),
    ("3", "e", "k", "", "[]", "queued", 0, T0, None, None, T0 + 5, T0 + 5, None, None, None,
     None, 1),  # the same key again: the first one's dedup key was purged
]  # fmt: skip


def _database_at_0006(path: Path) -> None:
    """A database migrated to 0006 by the released steps, holding a row of every status."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(sql.load("sqlite")["create_migrations_table"])
    _apply(conn, migrations.load("sqlite")[:6])
    conn.executemany(INSERT, ROWS)
    conn.close()


def _apply(conn: sqlite3.Connection, steps: list[migrations.Migration]) -> None:
    for migration in steps:
        for statement in _statements(migration.sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO capigate_migrations VALUES (?, ?, ?)",
            (migration.version, migration.name, T0),
        )


def _migrate_to_0007(path: Path) -> None:
    """Step 0007 alone, as a store released with it ran it (later steps change the table)."""
    step = migrations.load("sqlite")[6]
    assert step.name == STEP
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    _apply(conn, [step])
    conn.execute("COMMIT")
    conn.close()


def _dump(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM marketing_events ORDER BY id").fetchall()


def _schema(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        found = conn.execute(
            "SELECT name, sql FROM sqlite_master"
            " WHERE tbl_name = 'marketing_events' AND sql IS NOT NULL"
        ).fetchall()
    return dict(found)


async def test_upgrade_from_0006_keeps_every_row_and_index(tmp_path: Path) -> None:
    """Every row and column comes through the rebuild; the four indexes exist again."""
    path = tmp_path / "old.db"
    _database_at_0006(path)
    before = _dump(path)
    _migrate_to_0007(path)
    assert _dump(path) == before
    schema = _schema(path)
    assert set(schema) == {"marketing_events", *INDEXES}
    assert not any(" IN (" in text for text in schema.values())


async def test_rebuilt_table_keeps_its_constraints(tmp_path: Path) -> None:
    """After 0007 an unknown status is refused and an active dedup key cannot be stored twice,
    while a purged key may come again."""
    path = tmp_path / "old.db"
    _database_at_0006(path)
    _migrate_to_0007(path)
    with sqlite3.connect(path) as conn:
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(INSERT, ("9", "z", None, "", "[]", "lost", *ROWS[0][6:]))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            conn.execute(INSERT, ROWS[0])
        next_id = conn.execute(INSERT, ("9", "new", *ROWS[0][2:])).lastrowid
    assert next_id == len(ROWS) + 1  # ids continue after the copied rows


async def test_upgraded_store_leases_and_lists_its_old_rows(tmp_path: Path) -> None:
    """The old queued and retry-due rows lease; the dead-end listing finds the dead row."""
    path = tmp_path / "old.db"
    _database_at_0006(path)
    store = SQLiteStore(str(path))
    await store.migrate()
    batch = await store.lease_batch(worker_id="w2", now_s=T0 + 40, lease_s=60, pixel_id="2")
    leased = [await store.get(e.id) for e in batch.events] if batch else []
    dead = await store.list_events(status="dead")
    await store.close()
    assert [e.event_id for e in leased if e is not None] == ["r"]
    assert [e.event_id for e in dead] == ["x"]


def test_migrate_twice_applies_0007_once(tmp_path: Path) -> None:
    """``capigate migrate`` on a 0006 database applies 0007, then finds nothing to do."""
    path = tmp_path / "old.db"
    _database_at_0006(path)
    url = f"sqlite:///{path}"
    first = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert first.exit_code == 0, first.output
    assert f"applied {STEP}" in first.output
    second = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert second.exit_code == 0, second.output
    assert "schema is up to date" in second.output
    assert len(_dump(path)) == len(ROWS)


def _plan(path: Path, query: str, params: dict[str, object]) -> str:
    with sqlite3.connect(path) as conn:
        found = conn.execute("EXPLAIN QUERY PLAN " + query, params).fetchall()
    return " ".join(str(row[-1]) for row in found)


async def test_status_queries_use_the_partial_indexes(tmp_path: Path) -> None:
    """The outbox counts read the group index and the dead-end listing its own index: the
    queries' predicates match the indexes' WHERE clauses after 0007."""
    path = tmp_path / "new.db"
    store = SQLiteStore(str(path))
    await store.migrate()
    await store.close()
    queries = sql.load("sqlite")
    assert "marketing_events_group_due" in _plan(path, queries["outbox_depth"], {})
    assert "marketing_events_group_due" in _plan(path, queries["oldest_queued"], {})
    listing = queries["list_events"].format(
        filters=f" AND status = :status AND {DEAD_ENDS_PREDICATE}"
    )
    params = {"status": "dead", "before_id": 2**63 - 1, "limit": 10}
    assert "USING INDEX marketing_events_dead_ends" in _plan(path, listing, params)
