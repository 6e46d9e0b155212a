"""SQLite enqueue: a request's events in a few multi-row INSERTs instead of one per event.

One ``INSERT ... VALUES (...), (...)`` costs a third of as many single-row statements. Rows go
in chunks of ``INSERT_CHUNKS`` sizes, so that a handful of statement shapes serve every batch
size from the connection's statement cache, each under SQLite's oldest variable limit (999).
Results keep the one-at-a-time semantics: an event whose key was already stored, or came
earlier in the same call, is a duplicate of the event that holds the key. The calls that meet
in one group commit run as one (``enqueue_all``): a single event per request costs a share of
one statement, not a savepoint and a statement of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

from capigate.errors import StoreError
from capigate.store import sql
from capigate.store.base import EnqueueResult, NewEvent

Q = sql.load("sqlite")
INSERT_COLUMNS = (
    "pixel_id", "event_name", "event_id", "event_time", "action_source", "source", "plan_key",
    "test_event_code", "payload", "match_score", "warnings",
)  # fmt: skip
INSERT_CHUNKS = (64, 16, 4, 1)  # rows per statement: 64 x 12 = 768 variables at most
NO_WARNINGS = "[]"

Key = tuple[str, str, str]  # (pixel_id, event_name, event_id): the first three columns
Row = tuple[Any, ...]  # one event's values in INSERT_COLUMNS order, then the time it came


def insert_row(event: NewEvent, dump: Callable[[Any], str], now_s: float) -> Row:
    """The ``insert_event`` parameters of one event enqueued at ``now_s``; no test_event_code
    is kept as ``''``."""
    return (
        event.pixel_id, event.event_name, event.event_id, event.event_time, event.action_source,
        event.source, event.plan_key, event.test_event_code or "", dump(event.payload),
        event.match_score, dump(event.warnings) if event.warnings else NO_WARNINGS, now_s,
    )  # fmt: skip


def enqueue_all(calls: list[list[Row]], conn: sqlite3.Connection) -> list[list[EnqueueResult]]:
    """Several ``enqueue`` calls as one, answering each as if they had run in turn."""
    results = enqueue([row for rows in calls for row in rows], conn)
    answers, start = [], 0
    for rows in calls:
        answers.append(results[start : start + len(rows)])
        start += len(rows)
    return answers


def enqueue(rows: Sequence[Row], conn: sqlite3.Connection) -> list[EnqueueResult]:
    """Insert ``insert_row`` rows; one result per row, in order."""
    firsts: dict[Key, Row] = {}
    for row in rows:
        firsts.setdefault(row[:3], row)
    stored: dict[Key, int] = {}
    for chunk in _chunks(list(firsts.values())):
        arguments = [value for row in chunk for value in row]
        cursor = conn.cursor()
        cursor.row_factory = None  # plain tuples: a sqlite3.Row per stored event costs more
        cursor.execute(insert_sql(len(chunk)), arguments)
        if len(chunk) > 1:
            stored.update((found[1:], found[0]) for found in cursor)
        elif cursor.rowcount == 1 and cursor.lastrowid is not None:
            stored[chunk[0][:3]] = cursor.lastrowid
    results = []
    for row in rows:
        key = row[:3]
        if key in stored and firsts[key] is row:
            results.append(EnqueueResult("queued", stored[key]))
        else:
            results.append(EnqueueResult("duplicate", stored.get(key) or _original(key, conn)))
    return results


@cache
def insert_sql(count: int) -> str:
    """The ``insert_event`` statement for ``count`` rows, with numbered parameters (for one row,
    without its RETURNING clause)."""
    width = len(INSERT_COLUMNS) + 1  # the row's time is its last parameter
    values = (
        "(" + ", ".join(f"?{row * width + column + 1}" for column in range(width - 1))
        + ", 'queued'" + f", ?{row * width + width}" * 3 + ")"
        for row in range(count)
    )  # fmt: skip
    statement = Q["insert_event"].format(rows=",\n".join(values))
    return statement if count > 1 else statement[: statement.index("RETURNING")].rstrip()


def _chunks(rows: list[Row]) -> Iterator[list[Row]]:
    start = 0
    while start < len(rows):
        size = next(size for size in INSERT_CHUNKS if size <= len(rows) - start)
        yield rows[start : start + size]
        start += size


def _original(key: Key, conn: sqlite3.Connection) -> int:
    pixel_id, event_name, event_id = key
    params = {"pixel_id": pixel_id, "event_name": event_name, "event_id": event_id}
    found = conn.execute(Q["find_original"], params).fetchone()
    if found is None:
        raise StoreError(f"dedup key {key} conflicts but has no event")
    return int(found[0])
