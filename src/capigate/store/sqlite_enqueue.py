"""SQLite enqueue: a request's events in a few multi-row INSERTs instead of one per event.

One ``INSERT ... VALUES (...), (...)`` costs a third of as many single-row statements. Rows go
in chunks of ``INSERT_CHUNKS`` sizes, so that a handful of statement shapes serve every batch
size from the connection's statement cache, each under SQLite's oldest variable limit (999).
Results keep the one-at-a-time semantics: an event whose key was already stored, or came
earlier in the same call, is a duplicate of the event that holds the key. The calls that meet
in one group commit run as one (``enqueue_all``): a single event per request costs a share of
one statement, not a savepoint and a statement of its own. The payloads of the stored events
follow in multi-row INSERTs into their own table (migration 0008), keyed by the ids returned.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any, TypeVar

from capigate.errors import StoreError
from capigate.store import sql
from capigate.store.base import EnqueueResult, NewEvent

Q = sql.load("sqlite")
INSERT_COLUMNS = (
    "pixel_id", "event_name", "event_id", "event_time", "action_source", "source", "plan_key",
    "test_event_code", "payload", "match_score", "warnings",
)  # fmt: skip
INSERT_CHUNKS = (64, 16, 4, 1)  # rows per statement: 64 x 12 = 768 variables at most
PAYLOAD_AT = INSERT_COLUMNS.index("payload")  # kept in marketing_event_payloads (0008)
# The payloads of the events insert_event stored, in the same transaction: {rows} is one
# (?id, ?payload) pair of numbered parameters per event. SQLite's own statement: postgres.sql
# keeps the payload in the event's row and names the same queries as sqlite.sql.
PAYLOAD_INSERT = "INSERT INTO marketing_event_payloads (id, payload) VALUES {rows}"
NO_WARNINGS = "[]"

Key = tuple[str, str, str]  # (pixel_id, event_name, event_id): the first three columns
Row = tuple[Any, ...]  # one event's values in INSERT_COLUMNS order, then the time it came
T = TypeVar("T")


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
    _insert_payloads([(id_, firsts[key][PAYLOAD_AT]) for key, id_ in stored.items()], conn)
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
    columns = [column for column in range(width - 1) if column != PAYLOAD_AT]
    values = (
        "(" + ", ".join(f"?{row * width + column + 1}" for column in columns)
        + ", 'queued'" + f", ?{row * width + width}" * 3 + ")"
        for row in range(count)
    )  # fmt: skip
    statement = Q["insert_event"].format(rows=",\n".join(values))
    return statement if count > 1 else statement[: statement.index("RETURNING")].rstrip()


@cache
def payload_sql(count: int) -> str:
    """``PAYLOAD_INSERT`` for ``count`` (id, payload) pairs."""
    values = (f"(?{2 * row + 1}, ?{2 * row + 2})" for row in range(count))
    return PAYLOAD_INSERT.format(rows=", ".join(values))


def _insert_payloads(pairs: list[tuple[int, str]], conn: sqlite3.Connection) -> None:
    """Store the payloads of the events just inserted, keyed by their ids."""
    for chunk in _chunks(pairs):
        conn.execute(payload_sql(len(chunk)), [value for pair in chunk for value in pair])


def _chunks(rows: list[T]) -> Iterator[list[T]]:
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
