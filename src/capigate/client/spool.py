"""The local spool: events the gateway could not take yet, kept in order until it does.

``FileSpool`` is one SQLite file (stdlib ``sqlite3``, WAL, ``synchronous=FULL``): an append is
one transaction, so after a crash every appended event is there, whole, in order. Events leave
only after the gateway answered 202 for them; a crash between that answer and the removal
resends them, and the gateway answers ``duplicate`` (it dedups on the event id). The file is
locked by one client at a time, so two processes cannot replay the same events in parallel.

Both spools are bounded by events and bytes; an append beyond either raises ``SpoolFull``
and stores nothing of that batch.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from capigate.client.errors import CapigateClientError, SpoolFull
from capigate.client.events import Pending, decode

SPOOL_FILE = "capigate-spool.sqlite3"
DEFAULT_MAX_EVENTS = 100_000
DEFAULT_MAX_BYTES = 100_000_000  # bytes of encoded events
LOCK_TIMEOUT_S = 0.1  # the lock is held for a client's lifetime: waiting longer cannot help
_SQL_PARAMS = 500  # seqs per statement, well below SQLite's variable limit
_SCHEMA = "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB)"


class Spool(Protocol):
    """Where undelivered events wait, oldest first."""

    def __len__(self) -> int: ...

    def append(self, events: Sequence[bytes]) -> None:
        """Keep ``events`` (encoded) after every event already kept; all or none."""

    def peek(self, limit: int) -> list[Pending]:
        """The oldest ``limit`` events, with their ``seq``; they stay until removed."""

    def remove(self, seqs: Sequence[int]) -> None:
        """Forget the events with these ``seq`` (delivered or refused for good)."""

    def close(self) -> None:
        """Release the spool."""


class _Bound:
    """The spool's limits and what it holds now."""

    def __init__(self, where: str, max_events: int, max_bytes: int) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError("spool limits: max_events and max_bytes must be at least 1")
        self.where, self.max_events, self.max_bytes = where, max_events, max_bytes
        self.count = 0
        self.nbytes = 0

    def check(self, events: Sequence[bytes]) -> None:
        size = sum(len(e) for e in events)
        if self.count + len(events) <= self.max_events and self.nbytes + size <= self.max_bytes:
            return
        raise SpoolFull(
            f"the spool {self.where} holds {self.count} events, {self.nbytes} bytes (limit "
            f"{self.max_events} events, {self.max_bytes} bytes) and cannot take {len(events)} "
            "more: the gateway has not taken events for a while; new events are refused "
            "until it takes the spooled ones",
            [decode(e) for e in events],
        )


class MemorySpool:
    """A spool in memory: ordered and bounded, but gone with the process."""

    def __init__(
        self, *, max_events: int = DEFAULT_MAX_EVENTS, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._bound = _Bound("in memory", max_events, max_bytes)
        self._events: deque[Pending] = deque()
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._events)

    def append(self, events: Sequence[bytes]) -> None:
        self._bound.check(events)
        for data in events:
            self._events.append(Pending(data, self._next_seq))
            self._next_seq += 1
        self._bound.count += len(events)
        self._bound.nbytes += sum(len(e) for e in events)

    def peek(self, limit: int) -> list[Pending]:
        return [self._events[i] for i in range(min(limit, len(self._events)))]

    def remove(self, seqs: Sequence[int]) -> None:
        gone = set(seqs)
        kept = [p for p in self._events if p.seq not in gone]
        removed = [p for p in self._events if p.seq in gone]
        self._events = deque(kept)
        self._bound.count -= len(removed)
        self._bound.nbytes -= sum(len(p.data) for p in removed)

    def close(self) -> None:
        self._events.clear()


class FileSpool:
    """A durable spool in ``directory``/capigate-spool.sqlite3 (created when missing)."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.path = Path(directory) / SPOOL_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._bound = _Bound(f"at {self.path}", max_events, max_bytes)
        self._db = _open(self.path)
        row = self._db.execute("SELECT count(*), coalesce(sum(length(data)), 0) FROM spool")
        self._bound.count, self._bound.nbytes = row.fetchone()

    def __len__(self) -> int:
        return self._bound.count

    def append(self, events: Sequence[bytes]) -> None:
        self._bound.check(events)
        with self._db:
            self._db.executemany("INSERT INTO spool (data) VALUES (?)", [(e,) for e in events])
        self._bound.count += len(events)
        self._bound.nbytes += sum(len(e) for e in events)

    def peek(self, limit: int) -> list[Pending]:
        rows = self._db.execute("SELECT seq, data FROM spool ORDER BY seq LIMIT ?", (limit,))
        return [Pending(bytes(data), seq) for seq, data in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        count = nbytes = 0
        with self._db:
            for start in range(0, len(seqs), _SQL_PARAMS):
                part = list(seqs[start : start + _SQL_PARAMS])
                marks = ",".join("?" * len(part))
                where = f"FROM spool WHERE seq IN ({marks})"
                found = self._db.execute(
                    f"SELECT count(*), coalesce(sum(length(data)), 0) {where}", part
                )
                n, b = found.fetchone()
                self._db.execute(f"DELETE {where}", part)
                count, nbytes = count + n, nbytes + b
        self._bound.count -= count
        self._bound.nbytes -= nbytes

    def close(self) -> None:
        self._db.close()


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=LOCK_TIMEOUT_S, isolation_level="DEFERRED")
    try:
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        with db:
            db.execute(_SCHEMA)  # a write: takes the exclusive lock now, not at the first event
    except sqlite3.OperationalError as exc:
        db.close()
        raise CapigateClientError(
            f"the spool at {path} cannot be opened ({exc}); is another client using it? "
            "Give each process its own spool directory"
        ) from None
    return db
