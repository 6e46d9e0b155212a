"""Translation between records and SQL rows and parameters, shared by the SQL stores.

The database keeps "no test_event_code" as ``''`` (a NOT NULL column indexes cleanly); the
records use ``None``. JSON columns go through the dialect's ``dump``/``load`` functions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

from capigate.store.base import OUTBOX_STATUSES, LeasedEvent, NewEvent, Stats, Status, StoredEvent

JsonCodec = Callable[[Any], Any]
PURGE_BATCH_KEYS = 5000  # dedup keys freed per transaction, so a big purge never stalls ingest
_DEAD_ENDS = ("dead", "expired")
DEAD_ENDS_PREDICATE = "status IN ('dead', 'expired')"  # PostgreSQL's index; SQLite's: sqlite.py


class Row(Protocol):
    """A result row readable by column name (``sqlite3.Row``, psycopg's dict rows)."""

    def __getitem__(self, key: str, /) -> Any: ...


_JSON_COLUMNS = ("warnings", "last_error", "last_response")  # payload stays text


def insert_params(event: NewEvent, now_s: float, dump: JsonCodec) -> dict[str, Any]:
    """The parameters of the ``insert_event`` and ``find_original`` queries."""
    return {
        "pixel_id": event.pixel_id,
        "event_name": event.event_name,
        "event_id": event.event_id,
        "event_time": event.event_time,
        "action_source": event.action_source,
        "source": event.source,
        "plan_key": event.plan_key,
        "test_event_code": event.test_event_code or "",
        "payload": dump(event.payload),
        "match_score": event.match_score,
        "warnings": dump(event.warnings),
        "now": now_s,
    }


def dedup_key(params: Mapping[str, Any]) -> tuple[str, str, str]:
    """The (pixel_id, event_name, event_id) of ``insert_params``."""
    return (params["pixel_id"], params["event_name"], params["event_id"])


_FIELDS = tuple(StoredEvent.__dataclass_fields__)
_COLUMNS = tuple("payload" if name == "payload_json" else name for name in _FIELDS)
_JSON_AT = tuple(_FIELDS.index(name) for name in _JSON_COLUMNS)
_STATUS_AT = _FIELDS.index("status")
_TEST_CODE_AT = _FIELDS.index("test_event_code")
_STATUSES = {status.value: status for status in Status}


def stored_events(
    columns: Sequence[str], records: Iterable[Sequence[Any]], load: JsonCodec
) -> list[StoredEvent]:
    """``StoredEvent`` values from full ``marketing_events`` rows with these column names.

    The payload column must arrive as JSON text: it is kept as ``payload_json`` undecoded. Rows
    are read by position; extra columns are ignored.
    """
    positions = [columns.index(name) for name in _COLUMNS]
    width = len(positions)
    in_order = positions == list(range(width))  # SELECT * lists the fields first, in order
    events = []
    for record in records:
        values = list(record[:width]) if in_order else [record[i] for i in positions]
        for i in _JSON_AT:
            if values[i] is not None:
                values[i] = load(values[i])
        values[_STATUS_AT] = _STATUSES[values[_STATUS_AT]]
        values[_TEST_CODE_AT] = values[_TEST_CODE_AT] or None
        events.append(StoredEvent(*values))
    return events


_by_position: Callable[[Iterable[Any]], LeasedEvent] = partial(tuple.__new__, LeasedEvent)


def leased_events(records: Iterable[Sequence[Any]]) -> list[LeasedEvent]:
    """``LeasedEvent`` values from rows of the lease queries' columns (SQLite ``leased_events``,
    PostgreSQL ``lease_group``).

    Those columns are the fields in order, ``test_event_code`` already ``NULL`` for ``''`` and
    the payload as JSON text, so each row becomes a record by position, no Python code per row.
    """
    return list(map(_by_position, records))


def group_params(group: Row) -> dict[str, Any]:
    """The (pixel_id, test_event_code) of a group row, as query parameters."""
    return {"pixel_id": group["pixel_id"], "test_event_code": group["test_event_code"]}


def is_ready(next_attempt_at: float, now_s: float, min_age_s: float) -> bool:
    """Whether an event due since ``next_attempt_at`` has waited long enough to flush."""
    return now_s - next_attempt_at >= min_age_s


R = TypeVar("R", bound=Row)


def due_candidates(
    groups: Iterable[R], now_s: float, pixel_id: str | None, exclude: Collection[str]
) -> list[R]:
    """The ``*_due_group`` rows a lease may take, longest-due first (then by event id).

    A group qualifies when its longest-due event is due at ``now_s`` and its pixel passes the
    filters.
    """
    found = [
        group
        for group in groups
        if group["next_attempt_at"] <= now_s
        and (pixel_id is None or group["pixel_id"] == pixel_id)
        and group["pixel_id"] not in exclude
    ]
    return sorted(found, key=lambda group: (group["next_attempt_at"], group["id"]))


def list_filters(
    wanted: Mapping[str, Any],
    placeholder: Callable[[str], str],
    dead_ends: str = DEAD_ENDS_PREDICATE,
) -> tuple[str, dict[str, Any]]:
    """``AND column = <placeholder>`` terms for the given (non-None) filters, and their params.

    ``dead_ends`` is the WHERE clause of the dialect's ``marketing_events_dead_ends`` index,
    added as a literal term when the status filter asks for one of them, so that the planner
    may use that partial index.
    """
    given = {name: value for name, value in wanted.items() if value is not None}
    terms = "".join(f" AND {name} = {placeholder(name)}" for name in given)
    if given.get("status") in _DEAD_ENDS:
        terms += f" AND {dead_ends}"
    return terms, given


def build_stats(
    by_status: Iterable[Row],
    by_name: Iterable[Row],
    oldest_queued_created_at: float | None,
) -> Stats:
    """``Stats`` from the ``count_by_status`` and ``count_by_event_name`` rows."""
    counts = {status.value: 0 for status in Status}
    counts.update({row["status"]: int(row["n"]) for row in by_status})
    names: dict[str, dict[str, int]] = {}
    for row in by_name:
        names.setdefault(row["event_name"], {})[row["status"]] = int(row["n"])
    depth = sum(counts[status] for status in OUTBOX_STATUSES)
    return Stats(counts, depth, oldest_queued_created_at, names)
