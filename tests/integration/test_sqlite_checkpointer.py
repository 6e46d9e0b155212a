"""The SQLite checkpointer: the WAL reaches the database file on its own thread, not in the
writer's commits."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from capigate.store.sqlite_threads import WRITER_CHECKPOINT_PAGES, Checkpointer, connect

ROWS = 1_000
ROW_BYTES = 1_000


def _write_rows(path: Path) -> sqlite3.Connection:
    """A writer connection that committed about 1 MB, all of it still in the WAL."""
    writer = connect(str(path), synchronous="full")
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    writer.execute("BEGIN IMMEDIATE")
    writer.executemany("INSERT INTO t (body) VALUES (?)", [("x" * ROW_BYTES,)] * ROWS)
    writer.execute("COMMIT")
    return writer


def test_the_writer_leaves_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    """The writer's own checkpoints wait for WRITER_CHECKPOINT_PAGES, far past SQLite's 1,000:
    a commit of ~250 pages leaves them all in the WAL."""
    path = tmp_path / "store.db"
    writer = _write_rows(path)
    try:
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WRITER_CHECKPOINT_PAGES
        assert os.path.getsize(path) < ROWS * ROW_BYTES / 10
        assert os.path.getsize(f"{path}-wal") > ROWS * ROW_BYTES
    finally:
        writer.close()


def test_a_checkpoint_copies_the_committed_wal_into_the_database_file(tmp_path: Path) -> None:
    """One pass of the checkpointer (its thread would run it every ``every_s``) moves every
    committed frame into the database file while the writer's connection stays open."""
    path = tmp_path / "store.db"
    writer = _write_rows(path)
    checkpointer = Checkpointer(connect(str(path), synchronous="full"), every_s=3600.0)
    try:
        checkpointer.checkpoint()
        assert checkpointer.checkpoints == 1
        assert os.path.getsize(path) > ROWS * ROW_BYTES
        busy, frames, done = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, done) == (0, frames)  # nothing was left to copy
    finally:
        asyncio.run(checkpointer.close())
        writer.close()


def test_a_failing_checkpoint_waits_for_the_next_pass(tmp_path: Path) -> None:
    """An error (here a closed connection) is not raised into the thread's loop: the pass
    counts, and the writer's own checkpoints still bound the WAL."""
    conn = connect(str(tmp_path / "store.db"), synchronous="full")
    checkpointer = Checkpointer(conn, every_s=3600.0)
    conn.close()
    checkpointer.checkpoint()
    assert checkpointer.checkpoints == 1
    asyncio.run(checkpointer.close())
