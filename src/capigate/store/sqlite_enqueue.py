"""SQLite enqueue: a request's events in a few multi-row INSERTs instead of one per event.

One ``INSERT ... VALUES (...), (...)`` costs a third of as many single-row statements. Rows go
in chunks of ``INSERT_CHUNKS`` sizes, so that a handful of statement shapes serve every batch
size from the connection's statement cache, each under SQLite's oldest variable limit (999).
Results keep the one-at-a-time semantics: an event whose key was already stored, or came
earlier in the same call, is a duplicate of the event that holds the key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from capigate.errors import StoreError
from capigate.store import rows, sql
from capigate.store.base import EnqueueResult

Q = sql.load("sqlite")
INSERT_COLUMNS = (
    "pixel_id", "event_name", "event_id", "event_time", "action_source", "source", "plan_key",
    "test_event_code", "payload", "match_score", "warnings",
)  # fmt: skip
INSERT_CHUNKS = (64, 16, 4, 1)  # rows per statement: 64 x 11 + 1 = 705 variables at most

Key = tuple[str, str, str]


def enqueue(params: Sequence[dict[str, Any]], conn: sqlite3.Connection) -> list[EnqueueResult]:
    """Insert ``rows.insert_params`` dicts (one shared ``now``); one result per event, in order."""
    firsts: dict[Key, dict[str, Any]] = {}
    for event in params:
        firsts.setdefault(rows.dedup_key(event), event)
    stored: dict[Key, int] = {}
    for chunk in _chunks(list(firsts.values())):
        cursor = conn.execute(insert_sql(len(chunk)), _arguments(chunk))
        if len(chunk) > 1:
            stored.update(((row[1], row[2], row[3]), int(row[0])) for row in cursor)
        elif cursor.rowcount == 1 and cursor.lastrowid is not None:
            stored[rows.dedup_key(chunk[0])] = cursor.lastrowid
    results = []
    for event in params:
        key = rows.dedup_key(event)
        if key in stored and firsts[key] is event:
            results.append(EnqueueResult("queued", stored[key]))
        else:
            results.append(EnqueueResult("duplicate", stored.get(key) or _original(event, conn)))
    return results


@cache
def insert_sql(count: int) -> str:
    """The ``insert_event`` statement for ``count`` rows, with numbered parameters (for one row,
    without its RETURNING clause)."""
    width = len(INSERT_COLUMNS)
    now = f"?{count * width + 1}"
    values = (
        "(" + ", ".join(f"?{row * width + column + 1}" for column in range(width))
        + f", 'queued', {now}, {now}, {now})"
        for row in range(count)
    )  # fmt: skip
    statement = Q["insert_event"].format(rows=",\n".join(values))
    return statement if count > 1 else statement[: statement.index("RETURNING")].rstrip()


def _arguments(chunk: Sequence[dict[str, Any]]) -> list[Any]:
    arguments = [event[column] for event in chunk for column in INSERT_COLUMNS]
    arguments.append(chunk[0]["now"])
    return arguments


def _chunks(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    start = 0
    while start < len(events):
        size = next(size for size in INSERT_CHUNKS if size <= len(events) - start)
        yield events[start : start + size]
        start += size


def _original(event: dict[str, Any], conn: sqlite3.Connection) -> int:
    row = conn.execute(Q["find_original"], event).fetchone()
    if row is None:
        raise StoreError(f"dedup key {rows.dedup_key(event)} conflicts but has no event")
    return int(row[0])
