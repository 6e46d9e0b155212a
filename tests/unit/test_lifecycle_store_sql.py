"""The lifecycle's named SQL and migration: same names and steps in both dialects."""

from __future__ import annotations

import pytest

from capigate.store import migrations, sql
from capigate.store.lifecycle import queries


def test_dialects_define_the_same_lifecycle_queries() -> None:
    """lifecycle_sqlite.sql and lifecycle_postgres.sql stay in step."""
    names = {dialect: set(queries(dialect)) for dialect in sql.DIALECTS}
    assert names["sqlite"] == names["postgres"]
    assert names["sqlite"] == {
        "get_user_state",
        "insert_user_state",
        "update_user_state",
        "due_user_states",
        "acquire_scheduler",
        "release_scheduler",
        "insert_derived_event",
        "find_derived_original",
    }


def test_due_query_uses_the_next_due_index_on_sqlite() -> None:
    """SQLite is pinned to the partial index, so the tick never scans every user."""
    assert "INDEXED BY lifecycle_users_due" in queries("sqlite")["due_user_states"]


def test_lifecycle_queries_refuse_an_unknown_dialect() -> None:
    """Only the store's dialects have lifecycle queries."""
    with pytest.raises(ValueError, match="sqlite"):
        queries("oracle")


def test_migration_0003_creates_the_lifecycle_tables_in_both_dialects() -> None:
    """Migration 3 is the lifecycle state, the due index and the scheduler lease."""
    for dialect in sql.DIALECTS:
        step = migrations.load(dialect)[2]
        assert step.name == "0003_lifecycle"
        for name in ("lifecycle_users", "lifecycle_users_due", "lifecycle_scheduler"):
            assert name in step.sql
