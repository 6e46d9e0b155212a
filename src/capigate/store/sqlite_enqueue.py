"""SQLite enqueue: a group commit's events in one INSERT, their payloads in one more.

The writer thread hands the GIL back around every SQLite step and must take it again after;
while the event loop is busy each re-take may wait a switch interval (5 ms). So enqueue costs
the steps it makes, more than the rows it writes, and it makes a fixed number per group:

- the group's events get their ids from the table's highest id, read once inside the write
  transaction (``BEGIN IMMEDIATE``, and nothing deletes events): the k-th row is ``max + k``.
  No ``RETURNING`` row to fetch (one step each), and each payload row is keyed by construction;
- one INSERT holds up to ``max_rows`` events of all the calls merged in the group
  (``enqueue_all``), and one more their payloads (migration 0008). A statement's rows come in
  a few sizes (powers of two) so that the connection's statement cache serves every batch
  size: the rows past the real ones are zeros, dropped by their index (``?2``);
- when the INSERT stored every row (its rowcount), every row is ``queued`` under its id. If a
  dedup key was active (stored before, or earlier in the same group) some rows were skipped:
  the slow path reads which ids were stored and who holds the other keys, two statements more.

Results keep the one-at-a-time semantics: an event whose key was already stored, or came
earlier in the same call or group, is a duplicate of the event that holds the key.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from itertools import chain, repeat
from typing import Any

import orjson

from capigate.errors import StoreError
from capigate.store import sql
from capigate.store.base import EnqueueResult, NewEvent

Q = sql.load("sqlite")
INSERT_COLUMNS = (
    "pixel_id", "event_name", "event_id", "event_time", "action_source", "source", "plan_key",
    "test_event_code", "payload", "match_score", "warnings",
)  # fmt: skip
PAYLOAD_AT = INSERT_COLUMNS.index("payload")  # kept in marketing_event_payloads (0008)
ROW_WIDTH = len(INSERT_COLUMNS) + 1  # a row's parameters: the columns, then the time it came
FIXED_PARAMETERS = 2  # ?1 the id before the statement's first row, ?2 how many rows are real
# SQLite 3.40 prepares a VALUES list in time quadratic in its rows (256 rows ~20 ms, 512 ~70,
# 1024 ~200, once per shape and connection); a group of eight 100-event calls needs two.
MAX_ROWS = 512
NO_WARNINGS = "[]"
# SQLite's own statements (postgres.sql keeps the payload in the event's row and gets the ids
# from RETURNING, so it names no twins of these).
MAX_ID = "SELECT coalesce(max(id), 0) FROM marketing_events"
# The slow path: which ids of (?1, ?1 + ?2] an INSERT stored, as one JSON array (one step).
STORED_IDS = "SELECT json_group_array(id) FROM marketing_events WHERE id > ?1 AND id <= ?1 + ?2"
# The payloads of the events an ``insert_event`` statement stored: {rows} is one
# (k, payload parameter) row per event, k from 1; id ``?1 + k`` as the event's. A row past ?2
# is padding, a NULL payload an event that was not stored (a duplicate).
PAYLOADS_INSERT = (
    "INSERT INTO marketing_event_payloads (id, payload)\n"
    "SELECT ?1 + column1, column2 FROM (VALUES {rows})\n"
    "WHERE column1 <= ?2 AND column2 IS NOT NULL"
)
# One payload for the event with a known id: (?1 id, ?2 payload) pairs (lifecycle_sqlite).
PAYLOAD_INSERT = "INSERT INTO marketing_event_payloads (id, payload) VALUES {rows}"

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
    results = enqueue(list(chain.from_iterable(calls)), conn)
    answers, start = [], 0
    for rows in calls:
        answers.append(results[start : start + len(rows)])
        start += len(rows)
    return answers


def enqueue(rows: Sequence[Row], conn: sqlite3.Connection) -> list[EnqueueResult]:
    """Insert ``insert_row`` rows; one result per row, in order. Runs inside the writer's
    transaction, which holds the write lock: the ids after the highest are free."""
    base = conn.execute(MAX_ID).fetchone()[0]
    size = max_rows(conn)
    stored = sum(_insert(rows, start, size, base, conn) for start in range(0, len(rows), size))
    if stored == len(rows):
        payloads = [row[PAYLOAD_AT] for row in rows]
        results = [EnqueueResult("queued", id_) for id_ in range(base + 1, base + len(rows) + 1)]
    else:
        found = conn.execute(STORED_IDS, (base, len(rows))).fetchone()[0]
        held = set(orjson.loads(found))
        payloads = [row[PAYLOAD_AT] if id_ in held else None for id_, row in _ids(rows, base)]
        results = _answers(rows, base, held, conn)
    for start in range(0, len(rows), size):
        _insert_payloads(payloads[start : start + size], base + start, conn)
    return results


def max_rows(conn: sqlite3.Connection) -> int:
    """Rows per statement: ``MAX_ROWS``, or the largest power of two within the connection's
    limit of parameters (999 on old builds)."""
    return _max_rows(conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


@cache
def _max_rows(variables: int) -> int:
    size = MAX_ROWS
    while size > 1 and FIXED_PARAMETERS + size * ROW_WIDTH > variables:
        size //= 2
    return size


def shape(count: int) -> int:
    """The statement size that takes ``count`` rows: the next power of two."""
    return 1 << (count - 1).bit_length()


@cache
def insert_sql(size: int) -> str:
    """The ``insert_event`` statement for ``size`` rows: ``?1`` the id before the first row,
    ``?2`` the real rows, then ``ROW_WIDTH`` parameters per row (its payload bound, unused)."""
    columns = [column for column in range(ROW_WIDTH) if column != PAYLOAD_AT]
    values = (
        f"({row + 1}, "
        + ", ".join(f"?{FIXED_PARAMETERS + row * ROW_WIDTH + column + 1}" for column in columns)
        + ")"
        for row in range(size)
    )
    return Q["insert_event"].format(rows=",\n".join(values))


@cache
def payloads_sql(size: int) -> str:
    """``PAYLOADS_INSERT`` for ``size`` rows."""
    values = (f"({row + 1}, ?{FIXED_PARAMETERS + row + 1})" for row in range(size))
    return PAYLOADS_INSERT.format(rows=", ".join(values))


@cache
def payload_sql(count: int) -> str:
    """``PAYLOAD_INSERT`` for ``count`` (id, payload) pairs."""
    values = (f"(?{2 * row + 1}, ?{2 * row + 2})" for row in range(count))
    return PAYLOAD_INSERT.format(rows=", ".join(values))


def _insert(rows: Sequence[Row], start: int, size: int, base: int, conn: sqlite3.Connection) -> int:
    """Insert ``rows[start:start + size]`` as ids ``base + start + 1``...; how many stored."""
    chunk = rows[start : start + size]
    padded = shape(len(chunk))
    arguments: list[Any] = [base + start, len(chunk)]
    arguments.extend(chain.from_iterable(chunk))
    arguments.extend(repeat(0, (padded - len(chunk)) * ROW_WIDTH))
    return conn.execute(insert_sql(padded), arguments).rowcount


def _insert_payloads(payloads: list[str | None], base: int, conn: sqlite3.Connection) -> None:
    padded = shape(len(payloads))
    arguments: list[Any] = [base, len(payloads)]
    arguments.extend(payloads)
    arguments.extend(repeat(0, padded - len(payloads)))
    conn.execute(payloads_sql(padded), arguments)


def _ids(rows: Sequence[Row], base: int) -> Iterator[tuple[int, Row]]:
    return enumerate(rows, base + 1)


def _answers(
    rows: Sequence[Row], base: int, held: set[int], conn: sqlite3.Connection
) -> list[EnqueueResult]:
    """The slow path: rows were inserted in order, so a key's first row is the one stored,
    unless an older event holds the key."""
    holders: dict[Key, int] = {}
    for id_, row in _ids(rows, base):
        if id_ in held:
            holders[row[:3]] = id_
    older = [key for key in dict.fromkeys(row[:3] for row in rows) if key not in holders]
    holders.update(_originals(older, conn))
    results = []
    for id_, row in _ids(rows, base):
        if id_ in held:
            results.append(EnqueueResult("queued", id_))
        elif (holder := holders.get(row[:3])) is not None:
            results.append(EnqueueResult("duplicate", holder))
        else:
            raise StoreError(f"dedup key {row[:3]} conflicts but has no event")
    return results


def _originals(keys: list[Key], conn: sqlite3.Connection) -> dict[Key, int]:
    """The events that hold these active dedup keys, in one statement."""
    if not keys:
        return {}
    found = conn.execute(Q["find_original"], {"keys": orjson.dumps(keys).decode()}).fetchone()
    return {keys[index]: id_ for index, id_ in orjson.loads(found[0])}
