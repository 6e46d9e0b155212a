"""The durable outbox as one protocol at the level of domain operations.

Every accepted event lives in one record (the ``marketing_events`` table) from ingest to its
end: ``delivered``, ``dead`` (Meta refused it for good) or ``expired`` (it would pass Meta's
age limit). The life of a record::

    enqueue ──▶ queued ──lease──▶ leased ──ack──────────▶ delivered
                  ▲                 │  ├──schedule_retry──▶ retry ──(retry_at)──▶ leased ...
                  │                 │  ├──dead_letter─────▶ dead ──requeue──▶ queued
                  └────release──────┘  └──expire──────────▶ expired

A lease that is not resolved before ``lease_expires_at`` makes the event due again, so a worker
killed mid-batch loses nothing. Times are Unix seconds (floats) passed in by the caller; the
store never reads a clock for its decisions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, NamedTuple, Protocol

import orjson

from capigate.store.circuits import PixelCircuit
from capigate.store.identity import IdentityStore
from capigate.store.lifecycle import LifecycleStore
from capigate.store.webhooks import WebhookStore

DEDUP_WINDOW_S = 48 * 3600  # a (pixel, event_name, event_id) key is refused for at least this long


class Status(StrEnum):
    """Where an event is in its life."""

    QUEUED = "queued"
    LEASED = "leased"
    DELIVERED = "delivered"
    RETRY = "retry"  # waiting for next_attempt_at
    DEAD = "dead"
    EXPIRED = "expired"


OUTBOX_STATUSES = frozenset({Status.QUEUED, Status.RETRY, Status.LEASED})
"""Statuses of events that are still on their way to Meta (the outbox depth counts these)."""


@dataclass(slots=True)  # never changed; frozen would cost a setattr call per field, per event
class NewEvent:
    """An event accepted at ingest, ready to store: ``payload`` is Meta's wire event, hashed."""

    pixel_id: str
    event_name: str
    event_id: str
    event_time: int
    action_source: str
    source: str
    plan_key: str | None
    test_event_code: str | None
    payload: dict[str, Any]
    match_score: int
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored event and its delivery state.

    ``next_attempt_at`` is when the event is next due for a lease: its enqueue time while
    queued, ``retry_at`` while waiting to retry, the lease expiry while leased, and ``None``
    once it left the outbox. ``lease_owner`` is the worker that leased it last (kept after the
    lease ends, for the record); ``lease_expires_at`` is set only while leased. ``reason`` says
    why an event expired. ``test_event_code`` is ``None`` when the event has none.

    ``payload_json`` is Meta's wire event as the store holds it (compact JSON text): the worker
    splices it into the request body without decoding it, which is most of the delivery cost
    saved. ``payload`` decodes it on each access.
    """

    id: int
    pixel_id: str
    event_name: str
    event_id: str
    event_time: int
    action_source: str
    source: str
    plan_key: str | None
    test_event_code: str | None
    payload_json: str
    match_score: int
    warnings: list[dict[str, Any]]
    status: Status
    attempts: int
    next_attempt_at: float | None
    lease_owner: str | None
    lease_expires_at: float | None
    created_at: float
    updated_at: float
    delivered_at: float | None
    last_error: dict[str, Any] | None
    last_response: dict[str, Any] | None
    reason: str | None

    @property
    def payload(self) -> dict[str, Any]:
        """Meta's wire event, decoded from ``payload_json``."""
        payload: dict[str, Any] = orjson.loads(self.payload_json)
        return payload

    def leased(self) -> LeasedEvent:
        """What a lease hands the worker of this record."""
        return LeasedEvent(
            self.id,
            self.pixel_id,
            self.test_event_code,
            self.event_time,
            self.action_source,
            self.attempts,
            self.payload_json,
        )


class LeasedEvent(NamedTuple):
    """What delivering a leased event needs of its record: ``lease_batch`` returns these.

    A lease reads a thousand of them at a time, so they are tuples built by position from the
    store's rows (``rows.leased_events``): reading and building a 23-field ``StoredEvent`` cost
    the worker more than the lease's SQL. ``test_event_code`` is ``None`` when the event has
    none; ``payload_json`` is the stored wire event as JSON text, as in ``StoredEvent``. The
    rest of the record (status, lease owner, ...) is in ``Store.get``.
    """

    id: int
    pixel_id: str
    test_event_code: str | None
    event_time: int
    action_source: str
    attempts: int
    payload_json: str

    @property
    def payload(self) -> dict[str, Any]:
        """Meta's wire event, decoded from ``payload_json``."""
        payload: dict[str, Any] = orjson.loads(self.payload_json)
        return payload


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """What happened to one enqueued event: ``id`` is its record, or the original's if duplicate."""

    status: Literal["queued", "duplicate"]
    id: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Events of one (pixel_id, test_event_code) group, leased to one worker, ordered by id."""

    pixel_id: str
    test_event_code: str | None
    events: list[LeasedEvent]
    lease_expires_at: float


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for the dashboard and metrics; ``by_status`` names every status, zeros included."""

    by_status: dict[str, int]
    outbox_depth: int
    oldest_queued_created_at: float | None
    by_event_name: dict[str, dict[str, int]]


class Store(LifecycleStore, IdentityStore, WebhookStore, Protocol):
    """The durable outbox. Every status change is one statement or one transaction.

    The status-changing operations (``ack``, ``schedule_retry``, ``dead_letter``, ``expire``,
    ``release``) act only on the given ids that are currently ``leased`` (by any worker) and
    return how many they changed, so a late answer never undoes a final status.
    """

    async def migrate(self) -> list[str]:
        """Apply pending schema migrations; returns the names applied (empty when current)."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""
        ...

    async def enqueue(self, events: Sequence[NewEvent], *, now_s: float) -> list[EnqueueResult]:
        """Store events atomically, one result per event in order; durable when it returns.

        An event whose (pixel_id, event_name, event_id) was stored within the dedup window,
        earlier in this call or by another process, is a ``duplicate`` and is not stored.
        """
        ...

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
        """Lease up to ``max_events`` due events of one (pixel_id, test_event_code) group.

        Due means queued, retry with ``next_attempt_at <= now_s``, or leased with an expired
        lease. The group of the longest-due event is chosen once that event has been due for
        ``min_age_s``; before that only a group with ``max_events`` due events is. ``None``
        when no group is ready. No event is ever leased to two workers at once. The batch
        holds ``LeasedEvent``s, what delivery needs of each record.
        """
        ...

    async def ack(
        self, ids: Sequence[int], *, now_s: float, response: dict[str, Any] | None
    ) -> int:
        """Mark leased events delivered with Meta's answer; counts an attempt."""
        ...

    async def schedule_retry(
        self, ids: Sequence[int], *, now_s: float, retry_at_s: float, error: dict[str, Any]
    ) -> int:
        """Mark leased events to retry at ``retry_at_s``; counts an attempt, keeps the error."""
        ...

    async def dead_letter(self, ids: Sequence[int], *, now_s: float, error: dict[str, Any]) -> int:
        """Mark leased events dead (Meta refused them for good); counts an attempt."""
        ...

    async def expire(self, ids: Sequence[int], *, now_s: float, reason: str) -> int:
        """Mark leased events expired with ``reason``; counts no attempt."""
        ...

    async def release(self, ids: Sequence[int], *, available_at_s: float | None = None) -> int:
        """Return leased events to ``queued`` without counting an attempt.

        They are due again at ``available_at_s``, or at once when it is ``None``.
        """
        ...

    async def requeue(self, ids: Sequence[int], *, now_s: float) -> int:
        """Queue dead events again (replay), keeping their event_id, with a fresh attempt count."""
        ...

    async def get(self, event_id: int) -> StoredEvent | None:
        """The record with this id, or ``None``."""
        ...

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
        """Records matching every given filter, newest first; page on with ``before_id``."""
        ...

    async def stats(self) -> Stats:
        """Counts by status and event name, outbox depth, oldest queued event."""
        ...

    async def outbox_depth(self) -> int:
        """Events still on their way (queued + retry + leased); cheap enough for every request.

        The SQL stores refresh a full count every few seconds and add their own changes in
        between, so changes by other processes show up with that delay.
        """
        ...

    async def purge(self, *, now_s: float) -> int:
        """Forget dedup keys older than DEDUP_WINDOW_S; returns how many. Records stay."""
        ...

    async def save_circuit(self, circuit: PixelCircuit) -> None:
        """Save a pixel's delivery circuit, unless a newer one (``updated_at``) is saved."""
        ...

    async def circuits(self) -> list[PixelCircuit]:
        """Every saved pixel circuit, by pixel id."""
        ...

    # Per-user lifecycle state (migration 0003) and landing sessions for attribution
    # (migration 0004) join this protocol through LifecycleStore and IdentityStore.
