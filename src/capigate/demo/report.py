"""The demo's final table: per plan key, what was accepted and what became of it (pure).

Built from three independent records: the store (every accepted event, its status, attempts,
match score and last error), what the senders were told (``duplicate`` answers) and what the
emulator received. ``problems`` lists every way they disagree; an empty list means every
accepted event was delivered (and received exactly once), dead-lettered with a reason or
expired with a reason, and nothing was received that the store does not hold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from rich.table import Table

NO_KEY = "(no plan key)"


class Record(Protocol):
    """What the report reads of a stored event (``capigate.store.StoredEvent``)."""

    @property
    def plan_key(self) -> str | None: ...
    @property
    def event_name(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def match_score(self) -> int: ...
    @property
    def last_error(self) -> dict[str, Any] | None: ...
    @property
    def reason(self) -> str | None: ...


COUNTS = (
    "accepted", "delivered", "retried", "dead", "expired", "pending", "duplicates", "at_meta",
    "match_total",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Row:
    """One plan key's counts; ``match_total`` sums the match scores of its accepted events."""

    plan_key: str
    event_name: str
    accepted: int = 0
    delivered: int = 0
    retried: int = 0  # needed more than one attempt
    dead: int = 0
    expired: int = 0
    pending: int = 0  # still on its way when the demo ended
    duplicates: int = 0  # answered "duplicate" at ingest: not stored, not sent again
    at_meta: int = 0  # events of this key the emulator received
    match_total: int = 0

    @classmethod
    def of(cls, plan_key: str, event_name: str, counts: Mapping[str, int]) -> Row:
        """A row from counts named as the fields are (missing ones are zero)."""
        return cls(plan_key, event_name, **{name: counts.get(name, 0) for name in COUNTS})

    @property
    def match_avg(self) -> float | None:
        """The average estimated match quality (1-10) of the accepted events."""
        return self.match_total / self.accepted if self.accepted else None


@dataclass(frozen=True, slots=True)
class Ending:
    """An accepted event that was not delivered, and why."""

    plan_key: str
    event_name: str
    event_id: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """The table's rows in plan order, their total, the undelivered events and any problems."""

    rows: tuple[Row, ...]
    total: Row
    endings: tuple[Ending, ...]
    graph_requests: int
    problems: tuple[str, ...] = field(default=())
    answers: tuple[tuple[str, int], ...] = ()  # Meta's answers to the Graph requests, by kind


def build_report(
    records: Iterable[Record],
    *,
    duplicates: Iterable[tuple[str, str]],
    received: Iterable[Mapping[str, Any]],
    graph_requests: int,
    plan_order: Sequence[str] = (),
    graph_log: Iterable[Mapping[str, Any]] = (),
) -> Report:
    """The report over ``records`` (the store), ``duplicates`` ((event_name, event_id) answered
    ``duplicate``), ``received`` (the emulator's recorded events) and ``graph_log`` (its
    request log: each request's HTTP status and error)."""
    tally = _Tally()
    keys: dict[tuple[str, str], Record] = {}
    for record in records:
        keys[(record.event_name, record.event_id)] = record
        tally.record(record)
    for event_name, event_id in duplicates:
        found = keys.get((event_name, event_id))
        if found is None:
            tally.problems.append(f"{event_name} {event_id}: answered duplicate, none stored")
        else:
            tally.add(found, "duplicates")
    tally.received(keys, received)
    rows = tally.rows(plan_order)
    problems = [*tally.problems, *(p for row in rows for p in _row_problems(row))]
    total = Row.of("total", "", {name: sum(getattr(r, name) for r in rows) for name in COUNTS})
    answers = tuple(Counter(map(_answer, graph_log)).most_common())
    return Report(
        tuple(rows), total, tuple(tally.endings), graph_requests, tuple(problems), answers
    )


def _answer(entry: Mapping[str, Any]) -> str:
    """``200``, ``500 code 2``, ``400 code 100/2804050``: one Graph request's answer."""
    status, error = entry.get("status"), entry.get("error") or {}
    if status is None:
        return "no answer (connection dropped)"
    code, subcode = error.get("code"), error.get("error_subcode")
    if code is None:
        return str(status)
    return f"{status} code {code}/{subcode}" if subcode else f"{status} code {code}"


class _Tally:
    """Counts per plan key, undelivered events and problems, while the report is built."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.names: dict[str, str] = {}
        self.endings: list[Ending] = []
        self.problems: list[str] = []

    def add(self, record: Record, name: str) -> None:
        key = record.plan_key or NO_KEY
        self.names.setdefault(key, record.event_name)
        self.counts.setdefault(key, Counter())[name] += 1

    def record(self, record: Record) -> None:
        key = record.plan_key or NO_KEY
        self.add(record, "accepted")
        self.counts[key]["match_total"] += record.match_score
        if record.attempts > 1:
            self.add(record, "retried")
        status = str(record.status)
        if status in ("delivered", "dead", "expired"):
            self.add(record, status)
        else:
            self.add(record, "pending")
        if status in ("dead", "expired"):
            reason = _reason(record)
            if not reason:
                self.problems.append(f"{record.event_name} {record.event_id}: {status}, no reason")
            self.endings.append(Ending(key, record.event_name, record.event_id, status, reason))

    def received(
        self, keys: Mapping[tuple[str, str], Record], events: Iterable[Mapping[str, Any]]
    ) -> None:
        seen: set[tuple[str, str]] = set()
        for event in events:
            key = (str(event.get("event_name")), str(event.get("event_id")))
            record = keys.get(key)
            where = f"{key[0]} {key[1]}: received by Meta"
            if record is None:
                self.problems.append(f"{where}, but not in the store")
                continue
            if key in seen:
                self.problems.append(f"{where} more than once")
            if str(record.status) != "delivered":
                self.problems.append(f"{where}, but {record.status}")
            seen.add(key)
            self.add(record, "at_meta")
        for key, record in keys.items():
            if str(record.status) == "delivered" and key not in seen:
                self.problems.append(f"{key[0]} {key[1]}: delivered, but Meta never received it")

    def rows(self, plan_order: Sequence[str]) -> list[Row]:
        rank = {key: i for i, key in enumerate(plan_order)}
        keys = sorted(self.counts, key=lambda k: (rank.get(k, len(rank)), k))
        return [Row.of(key, self.names[key], self.counts[key]) for key in keys]


def _reason(record: Record) -> str:
    if str(record.status) == "expired":
        return record.reason or ""
    error = record.last_error or {}
    text = str(error.get("title") or error.get("message") or error.get("reason") or "")
    code, subcode = error.get("code"), error.get("subcode")
    if code is None:
        return text
    return f"{text} (code {code}/{subcode})" if subcode is not None else f"{text} (code {code})"


def _row_problems(row: Row) -> list[str]:
    found = []
    if row.pending:
        found.append(f"{row.plan_key}: {row.pending} events still on their way")
    if row.delivered != row.at_meta:
        found.append(f"{row.plan_key}: {row.delivered} delivered, {row.at_meta} received by Meta")
    return found


def table(report: Report, *, title: str = "capigate demo: every accepted event") -> Table:
    """The report as a rich table, one row per plan key and a total."""
    out = Table(title=title, show_footer=False)
    out.add_column("plan key")
    out.add_column("Meta event")
    headers = ["accepted", "delivered", "retried", "dead-lettered", "expired", "duplicates"]
    if report.total.pending:
        headers.append("still pending")
    for header in [*headers, "match (avg)"]:
        out.add_column(header, justify="right")
    for row in report.rows:
        out.add_row(*_cells(row, pending=bool(report.total.pending)))
    out.add_section()
    out.add_row(*_cells(report.total, pending=bool(report.total.pending)), style="bold")
    return out


def _cells(row: Row, *, pending: bool) -> list[str]:
    counts = [row.accepted, row.delivered, row.retried, row.dead, row.expired, row.duplicates]
    if pending:
        counts.append(row.pending)
    average = row.match_avg
    quality = "-" if average is None else f"{average:.1f}"
    return [row.plan_key, row.event_name, *(f"{n:,}" if n else "·" for n in counts), quality]
