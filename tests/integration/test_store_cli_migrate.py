"""``capigate migrate`` creates or updates a store's schema and says what it did."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.store import migrations


def test_migrate_creates_the_schema_then_reports_it_current(tmp_path: Path) -> None:
    """First run applies 0001_initial; the second finds nothing to do."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert first.exit_code == 0, first.output
    assert "applied 0001_initial" in first.output
    second = CliRunner().invoke(cli, ["migrate", "--db", url])
    assert "schema is up to date" in second.output
    with sqlite3.connect(tmp_path / "m.db") as conn:
        versions = conn.execute("SELECT version FROM capigate_migrations").fetchall()
        assert versions == [(m.version,) for m in migrations.load("sqlite")]


def test_migrate_reads_capigate_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --db the URL comes from CAPIGATE_DB."""
    monkeypatch.setenv("CAPIGATE_DB", f"sqlite:///{tmp_path / 'env.db'}")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.db").exists()


def test_migrate_explains_a_bad_url_and_hides_the_password() -> None:
    """A URL it cannot use exits 1 with the reason; a password in it is masked."""
    result = CliRunner().invoke(cli, ["migrate", "--db", "mysql://root:hunter2@db/x"])
    assert result.exit_code == 1
    assert "not supported" in result.output
    assert "hunter2" not in result.output and "root:***@" in result.output
