"""An in-memory ``Store`` with the same semantics as the SQL ones, for tests and the demo.

It records every call in ``calls`` (method name and arguments) so tests can assert on what a
component asked of the store, and ``reset()`` empties it. Each method runs without awaiting,
so on one event loop every operation is atomic, like a transaction.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

import orjson

from capigate.attribution.session import LandingSession
from capigate.clock import Clock, system_clock
from capigate.store.base import (
    DEDUP_WINDOW_S,
    OUTBOX_STATUSES,
    Batch,
    EnqueueResult,
    NewEvent,
    Stats,
    Status,
    StoredEvent,
)
from capigate.store.circuits import PixelCircuit, newer
from capigate.store.identity_memory import MemoryIdentity
from capigate.store.lifecycle_memory import LifecycleTables, MemoryLifecycle
from capigate.store.webhooks_memory import MemoryWebhooks, WebhookTables

_DedupKey = tuple[str, str, str]


class InMemoryStore(MemoryLifecycle, MemoryIdentity, MemoryWebhooks):
    """The ``Store`` protocol over dicts; nothing survives the process."""

    def __init__(self, *, clock: Clock = system_clock) -> None:
        self.clock = clock
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._events: dict[int, StoredEvent] = {}
        self._dedup: dict[_DedupKey, int] = {}
        self._circuits: dict[str, PixelCircuit] = {}
        self._lifecycle = LifecycleTables()
        self._sessions: dict[str, LandingSession] = {}
        self._webhooks = WebhookTables()

    def reset(self) -> None:
        """Forget every event, dedup key and recorded call."""
        self.calls.clear()
        self._events.clear()
        self._dedup.clear()
        self._circuits.clear()
        self._lifecycle = LifecycleTables()
        self._sessions.clear()
        self._webhooks = WebhookTables()

    def _record(self, name: str, **arguments: Any) -> None:
        self.calls.append((name, arguments))

    async def migrate(self) -> list[str]:
        """Nothing to migrate in memory."""
        self._record("migrate")
        return []

    async def close(self) -> None:
        """Nothing to release in memory."""
        self._record("close")

    async def enqueue(self, events: Sequence[NewEvent], *, now_s: float) -> list[EnqueueResult]:
        """Store events unless their dedup key is taken; see ``Store.enqueue``."""
        self._record("enqueue", events=list(events), now_s=now_s)
        return [self._enqueue_one(event, now_s) for event in events]

    def _enqueue_one(self, event: NewEvent, now_s: float) -> EnqueueResult:
        key = (event.pixel_id, event.event_name, event.event_id)
        if key in self._dedup:
            return EnqueueResult("duplicate", self._dedup[key])
        event_id = len(self._events) + 1
        self._events[event_id] = _new_record(event_id, event, now_s)
        self._dedup[key] = event_id
        return EnqueueResult("queued", event_id)

    async def lease_batch(
        self,
        *,
        worker_id: str,
        now_s: float,
        lease_s: float,
        max_events: int = 1000,
        min_age_s: float = 0.0,
        pixel_id: str | None = None,
        exclude_pixel_ids: Collection[str] = (),
    ) -> Batch | None:
        """Lease due events of one group; see ``Store.lease_batch``."""
        self._record(
            "lease_batch",
            worker_id=worker_id,
            now_s=now_s,
            lease_s=lease_s,
            max_events=max_events,
            min_age_s=min_age_s,
            pixel_id=pixel_id,
            exclude_pixel_ids=list(exclude_pixel_ids),
        )
        due = sorted(
            (e for e in self._events.values() if _is_due(e, now_s, pixel_id, exclude_pixel_ids)),
            key=_due_order,
        )
        group = _ready_group(due, now_s, max_events, min_age_s)
        if group is None:
            return None
        expires_at = now_s + lease_s
        chosen = [e for e in due if _group(e) == group][:max_events]
        leased = [
            self._update(
                e.id,
                status=Status.LEASED,
                lease_owner=worker_id,
                lease_expires_at=expires_at,
                next_attempt_at=expires_at,
                updated_at=now_s,
            ).leased()
            for e in sorted(chosen, key=lambda e: e.id)
        ]
        return Batch(group[0], group[1], leased, expires_at)

    async def ack(
        self, ids: Sequence[int], *, now_s: float, response: dict[str, Any] | None
    ) -> int:
        """Mark leased events delivered; see ``Store.ack``."""
        self._record("ack", ids=list(ids), now_s=now_s, response=response)
        return self._finish(
            ids, now_s, Status.DELIVERED, attempt=True, delivered_at=now_s, last_response=response
        )

    async def schedule_retry(
        self, ids: Sequence[int], *, now_s: float, retry_at_s: float, error: dict[str, Any]
    ) -> int:
        """Mark leased events to retry later; see ``Store.schedule_retry``."""
        self._record(
            "schedule_retry", ids=list(ids), now_s=now_s, retry_at_s=retry_at_s, error=error
        )
        return self._finish(
            ids, now_s, Status.RETRY, attempt=True, next_attempt_at=retry_at_s, last_error=error
        )

    async def dead_letter(self, ids: Sequence[int], *, now_s: float, error: dict[str, Any]) -> int:
        """Mark leased events dead; see ``Store.dead_letter``."""
        self._record("dead_letter", ids=list(ids), now_s=now_s, error=error)
        return self._finish(ids, now_s, Status.DEAD, attempt=True, last_error=error)

    async def expire(self, ids: Sequence[int], *, now_s: float, reason: str) -> int:
        """Mark leased events expired; see ``Store.expire``."""
        self._record("expire", ids=list(ids), now_s=now_s, reason=reason)
        return self._finish(ids, now_s, Status.EXPIRED, attempt=False, reason=reason)

    async def release(self, ids: Sequence[int], *, available_at_s: float | None = None) -> int:
        """Return leased events to the queue; see ``Store.release``."""
        self._record("release", ids=list(ids), available_at_s=available_at_s)
        changed = 0
        for event in self._in_status(ids, Status.LEASED):
            due_at = event.created_at if available_at_s is None else available_at_s
            self._update(
                event.id, status=Status.QUEUED, next_attempt_at=due_at, lease_expires_at=None
            )
            changed += 1
        return changed

    async def requeue(self, ids: Sequence[int], *, now_s: float) -> int:
        """Queue dead events again; see ``Store.requeue``."""
        self._record("requeue", ids=list(ids), now_s=now_s)
        changed = 0
        for event in self._in_status(ids, Status.DEAD):
            self._update(
                event.id,
                status=Status.QUEUED,
                attempts=0,
                next_attempt_at=now_s,
                updated_at=now_s,
                delivered_at=None,
                reason=None,
            )
            changed += 1
        return changed

    async def get(self, event_id: int) -> StoredEvent | None:
        """The record with this id, or ``None``."""
        self._record("get", event_id=event_id)
        return self._events.get(event_id)

    async def list_events(
        self,
        *,
        status: str | None = None,
        pixel_id: str | None = None,
        event_name: str | None = None,
        source: str | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[StoredEvent]:
        """Records matching every given filter, newest first."""
        wanted = {"status": status, "pixel_id": pixel_id, "event_name": event_name}
        wanted["source"] = source
        self._record("list_events", **wanted, limit=limit, before_id=before_id)
        found = []
        for event in sorted(self._events.values(), key=lambda e: -e.id):
            if before_id is not None and event.id >= before_id:
                continue
            if all(v is None or getattr(event, k) == v for k, v in wanted.items()):
                found.append(event)
            if len(found) == limit:
                break
        return found

    async def stats(self) -> Stats:
        """Counts by status and event name, outbox depth, oldest queued event."""
        self._record("stats")
        by_status = {status.value: 0 for status in Status}
        by_name: dict[str, Counter[str]] = {}
        for event in self._events.values():
            by_status[event.status.value] += 1
            by_name.setdefault(event.event_name, Counter())[event.status.value] += 1
        queued = [e for e in self._events.values() if e.status is Status.QUEUED]
        oldest = min(queued, key=lambda e: e.id).created_at if queued else None
        depth = sum(by_status[s] for s in OUTBOX_STATUSES)
        return Stats(by_status, depth, oldest, {k: dict(v) for k, v in by_name.items()})

    async def outbox_depth(self) -> int:
        """Events still on their way (queued + retry + leased)."""
        self._record("outbox_depth")
        return sum(e.status in OUTBOX_STATUSES for e in self._events.values())

    async def purge(self, *, now_s: float) -> int:
        """Forget dedup keys older than DEDUP_WINDOW_S."""
        self._record("purge", now_s=now_s)
        cutoff = now_s - DEDUP_WINDOW_S
        old = [k for k, i in self._dedup.items() if self._events[i].created_at < cutoff]
        for key in old:
            del self._dedup[key]
        return len(old)

    async def save_circuit(self, circuit: PixelCircuit) -> None:
        """Save a pixel's circuit unless a newer one is saved."""
        self._record("save_circuit", circuit=circuit)
        if newer(circuit, self._circuits.get(circuit.pixel_id)):
            self._circuits[circuit.pixel_id] = circuit

    async def circuits(self) -> list[PixelCircuit]:
        """Every saved pixel circuit, by pixel id."""
        self._record("circuits")
        return [self._circuits[p] for p in sorted(self._circuits)]

    def _in_status(self, ids: Sequence[int], status: Status) -> list[StoredEvent]:
        found = (self._events.get(i) for i in dict.fromkeys(ids))
        return [e for e in found if e is not None and e.status is status]

    def _finish(
        self, ids: Sequence[int], now_s: float, status: Status, *, attempt: bool, **changes: Any
    ) -> int:
        leased = self._in_status(ids, Status.LEASED)
        for event in leased:
            self._update(
                event.id,
                status=status,
                attempts=event.attempts + attempt,
                updated_at=now_s,
                lease_expires_at=None,
                **{"next_attempt_at": None, **changes},
            )
        return len(leased)

    def _update(self, event_id: int, **changes: Any) -> StoredEvent:
        record = dataclasses.replace(self._events[event_id], **changes)
        self._events[event_id] = record
        return record


def _new_record(event_id: int, event: NewEvent, now_s: float) -> StoredEvent:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(NewEvent)}
    fields["payload_json"] = orjson.dumps(fields.pop("payload")).decode()
    return StoredEvent(
        id=event_id,
        **fields,
        status=Status.QUEUED,
        attempts=0,
        next_attempt_at=now_s,
        lease_owner=None,
        lease_expires_at=None,
        created_at=now_s,
        updated_at=now_s,
        delivered_at=None,
        last_error=None,
        last_response=None,
        reason=None,
    )


def _is_due(
    event: StoredEvent, now_s: float, pixel_id: str | None, exclude: Collection[str]
) -> bool:
    return (
        event.status in OUTBOX_STATUSES
        and event.next_attempt_at is not None
        and event.next_attempt_at <= now_s
        and pixel_id in (None, event.pixel_id)
        and event.pixel_id not in exclude
    )


def _due_order(event: StoredEvent) -> tuple[float, int]:
    return (event.next_attempt_at or 0.0, event.id)


def _group(event: StoredEvent) -> tuple[str, str | None]:
    return (event.pixel_id, event.test_event_code)


def _ready_group(
    due: list[StoredEvent], now_s: float, max_events: int, min_age_s: float
) -> tuple[str, str | None] | None:
    """The longest-due event's group once it waited min_age_s, else the first full group."""
    if not due:
        return None
    if now_s - _due_order(due[0])[0] >= min_age_s:
        return _group(due[0])
    sizes = Counter(_group(e) for e in due)
    return next((_group(e) for e in due if sizes[_group(e)] >= max_events), None)
