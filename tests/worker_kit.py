"""Shared helpers for the worker tests: valid events, an emulator rig, a loop driver.

``Rig`` joins a store, an emulator and a ``DeliveryWorker`` on one ``FrozenClock``;
``settle_all`` drives the worker with ``run_once()`` and moves the clock straight to the next
due moment (a retry, a probe, the flush interval) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from capigate.clock import FrozenClock
from capigate.emulator import create_app
from capigate.meta.client import MetaClient
from capigate.secret import Secret
from capigate.store import InMemoryStore, NewEvent, Status, Store, StoredEvent
from capigate.worker.config import WorkerSettings
from capigate.worker.loop import DeliveryWorker
from tests.servers import serving  # noqa: F401  (re-exported: the CLI tests import it from here)

NOW_S = 1_763_800_000.0
PIXEL = "1234567890"
OTHER_PIXEL = "2234567890"
TOKEN = "EAAGworkerToken"
GRAPH = "http://emulator"
FAST = WorkerSettings(flush_interval_s=1.0, retry_jitter=0.0, probe_base_delay_s=30.0)
PENDING = (Status.QUEUED, Status.RETRY, Status.LEASED)


def sha(value: str) -> str:
    """Lowercase hex SHA-256, as Meta wants hashed identifiers."""
    return hashlib.sha256(value.encode()).hexdigest()


def wire_event(n: int, event_time: float, **custom: Any) -> dict[str, Any]:
    """A website Lead that Meta (and the emulator) accepts; ``custom`` becomes custom_data."""
    event: dict[str, Any] = {
        "event_name": "Lead",
        "event_time": int(event_time),
        "event_id": f"lead-{n}",
        "action_source": "website",
        "event_source_url": "https://example.com/landing",
        "user_data": {
            "em": [sha(f"user{n}@example.com")],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
        },
    }
    if custom:
        event["custom_data"] = custom
    return event


def poison_event(n: int, event_time: float) -> dict[str, Any]:
    """A Purchase without value: Meta refuses its whole request with 100/2804009."""
    event = wire_event(n, event_time, currency="USD")
    event["event_name"] = "Purchase"
    return event


def new_event(
    n: int,
    *,
    pixel_id: str = PIXEL,
    event_time: float = NOW_S - 60,
    test_event_code: str | None = None,
    payload: dict[str, Any] | None = None,
) -> NewEvent:
    """An outbox event whose payload is ``wire_event(n)`` unless given."""
    payload = payload or wire_event(n, event_time)
    return NewEvent(
        pixel_id=pixel_id,
        event_name=payload["event_name"],
        event_id=payload["event_id"],
        event_time=int(payload["event_time"]),
        action_source=payload["action_source"],
        source="test",
        plan_key=None,
        test_event_code=test_event_code,
        payload=payload,
        match_score=5,
    )


async def _no_sleep(seconds: float) -> None:
    del seconds


@dataclass
class Rig:
    """A store, an emulator and a worker on one frozen clock."""

    clock: FrozenClock
    store: Store
    http: httpx.AsyncClient
    worker: DeliveryWorker
    graph: str = GRAPH

    async def enqueue(self, events: list[NewEvent]) -> list[int]:
        results = await self.store.enqueue(events, now_s=self.clock())
        return [r.id for r in results]

    async def fault(self, **spec: Any) -> None:
        response = await self.http.post(f"{self.graph}/__emulator__/faults", json=spec)
        assert response.status_code == 200, response.text

    async def recorded(self) -> list[dict[str, Any]]:
        body = (await self.http.get(f"{self.graph}/__emulator__/events")).json()
        events: list[dict[str, Any]] = body["events"]
        return events

    async def request_count(self) -> int:
        count: int = (await self.http.get(f"{self.graph}/__emulator__/events")).json()["requests"]
        return count

    async def events(self, status: Status | None = None) -> list[StoredEvent]:
        found = await self.store.list_events(
            status=None if status is None else status.value, limit=100_000
        )
        return sorted(found, key=lambda e: e.id)

    async def pending(self) -> list[StoredEvent]:
        return [e for e in await self.events() if e.status in PENDING]


def clients_for(
    http: httpx.AsyncClient, pixels: tuple[str, ...], clock: FrozenClock, graph: str = GRAPH
) -> dict[str, MetaClient]:
    """One client per pixel, all with the test token."""
    return {
        p: MetaClient(http, access_token=Secret(TOKEN), graph_url=graph, clock=clock)
        for p in pixels
    }


@asynccontextmanager
async def rig(
    *,
    settings: WorkerSettings = FAST,
    pixels: tuple[str, ...] = (PIXEL,),
    store: Store | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: FrozenClock | None = None,
    rand: Callable[[], float] | None = None,
    worker_id: str = "w1",
    graph: str | None = None,
) -> AsyncIterator[Rig]:
    """A rig on the in-process emulator, on ``transport``, or over HTTP on ``graph``."""
    clock = clock or FrozenClock(NOW_S)
    store = store or InMemoryStore(clock=clock)
    if transport is None and graph is None:
        app = create_app(clock=clock, rng=random.Random(5), sleep=_no_sleep)
        transport = httpx.ASGITransport(app=app)
    graph = graph or GRAPH
    async with httpx.AsyncClient(transport=transport) as http:
        worker = DeliveryWorker(
            store,
            clients_for(http, pixels, clock, graph),
            settings=settings,
            clock=clock,
            rand=rand or (lambda: 1.0),
            worker_id=worker_id,
        )
        yield Rig(clock, store, http, worker, graph)


async def settle_all(
    rig: Rig, *, max_rounds: int = 500, workers: list[DeliveryWorker] | None = None
) -> int:
    """Run the worker(s) until the outbox is empty, moving the clock to each next due moment.

    Returns the number of rounds that delivered something.
    """
    workers = workers or [rig.worker]
    rounds = 0
    for _ in range(max_rounds):
        busy = await asyncio.gather(*(w.run_once() for w in workers))
        if any(busy):
            rounds += 1
            continue
        pending = await rig.pending()
        if not pending:
            return rounds
        rig.clock.set(_next_due(rig, pending, workers))
    raise AssertionError(f"outbox not settled after {max_rounds} rounds: {await rig.pending()}")


def _next_due(rig: Rig, pending: list[StoredEvent], workers: list[DeliveryWorker]) -> float:
    flush_s = max(w.settings.flush_interval_s for w in workers)
    paused = {p for w in workers for p in w.circuits.paused()}
    due = [
        e.next_attempt_at + flush_s
        for e in pending
        if e.next_attempt_at is not None and e.pixel_id not in paused
    ]
    probes = [
        c["next_probe_at"]
        for w in workers
        for c in w.circuits.snapshot()
        if c["status"] != "closed" and c["next_probe_at"] is not None
    ]
    return max(rig.clock() + 0.001, min(due + probes))


def by_event_id(events: list[Mapping[str, Any]]) -> dict[str, int]:
    """How many times each event_id was recorded."""
    counts: dict[str, int] = {}
    for event in events:
        counts[str(event["event_id"])] = counts.get(str(event["event_id"]), 0) + 1
    return counts


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
