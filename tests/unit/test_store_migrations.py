"""Numbered migrations: loading, ordering, gaps, and the same steps in both dialects."""

from __future__ import annotations

from pathlib import Path

import pytest

from capigate.store import migrations


def test_both_dialects_have_the_same_numbered_steps() -> None:
    """Every schema step exists for SQLite and PostgreSQL under the same name."""
    names = {d: [m.name for m in migrations.load(d)] for d in ("sqlite", "postgres")}
    assert names["sqlite"] == names["postgres"]
    assert names["sqlite"][0] == "0001_initial"


def test_initial_migration_creates_the_event_log() -> None:
    """The first step creates marketing_events and the unique dedup index."""
    for dialect in ("sqlite", "postgres"):
        first = migrations.load(dialect)[0].sql
        assert "CREATE TABLE marketing_events" in first
        assert "CREATE UNIQUE INDEX marketing_events_dedup" in first


def test_load_folder_sorts_by_version_and_ignores_other_files(tmp_path: Path) -> None:
    """Files load in version order; README and odd names are not migrations."""
    (tmp_path / "0002_more.sql").write_text("B")
    (tmp_path / "0001_first.sql").write_text("A")
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "draft.sql").write_text("C")
    loaded = migrations.load_folder(tmp_path)
    assert [(m.version, m.name, m.sql) for m in loaded] == [
        (1, "0001_first", "A"),
        (2, "0002_more", "B"),
    ]


def test_load_folder_refuses_a_gap(tmp_path: Path) -> None:
    """A missing version number is an error, not a silently skipped step."""
    (tmp_path / "0001_first.sql").write_text("A")
    (tmp_path / "0003_third.sql").write_text("C")
    with pytest.raises(ValueError, match="without gaps"):
        migrations.load_folder(tmp_path)


def test_pending_keeps_order_and_skips_applied() -> None:
    """Only migrations not yet recorded are pending, in version order."""
    steps = [migrations.Migration(v, f"000{v}_x", "") for v in (1, 2, 3)]
    assert [m.version for m in migrations.pending(steps, {1, 3})] == [2]
    assert migrations.pending(steps, {1, 2, 3}) == []
