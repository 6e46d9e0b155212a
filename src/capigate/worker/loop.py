"""The delivery loop: lease a batch, build the body, send, classify, decide, persist.

One task per leased batch. The loop leases only for pixels that have room and a closed
circuit, by leaving the others out of ``lease_batch``. Room (``places``): ``concurrency``
batches sending per pixel, and one more leased ahead that takes the next free place at once,
so no place waits for a lease. A delivered batch gives its place up as soon as its last
request is answered, so the next request overlaps with saving the acknowledgement; a batch
that waited half its lease for a place goes back to the queue unsent.

A batch is one (pixel, test_event_code) group of up to ``batch_size`` events, or fewer once
the oldest has waited ``flush_interval_s``. Before sending, events whose 7-day window is about
to close are expired (``settle.on_lease``); a batch Meta refuses because of some of its
events is split until they are isolated (``batcher``); every answer is settled per event
(``settle``). The body is spliced from the stored JSON text of the events (``body``), never
decoded and encoded again.

Nothing is lost when a worker dies: its leases run out and another worker (or this one,
restarted) sends the events again; Meta deduplicates them by event_id. Store failures are
logged and leave the leases to run out the same way.

``run_once()`` does one round without sleeping (tests drive the loop with it on a frozen
clock); ``run()`` repeats rounds until ``stop()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from capigate.classify import Outcome, OutcomeKind
from capigate.clock import Clock, system_clock
from capigate.errors import StoreError
from capigate.lifecycle_engine import LifecycleEngine
from capigate.meta.client import MetaClient
from capigate.retry import DecisionKind, RetryPolicy
from capigate.store import Batch, LeasedEvent, Store
from capigate.worker import body, settle
from capigate.worker.batcher import Bisection, splittable
from capigate.worker.circuit import CircuitBoard
from capigate.worker.config import WorkerSettings
from capigate.worker.counters import DeliveryCounters
from capigate.worker.places import Place, Places

STOP_GRACE_S = 35.0  # a request in flight may take the client's 30 s read timeout
STORE_RETRY_S = 1.0  # wait after the store failed before leasing again
_PAYLOAD_JSON: Callable[[LeasedEvent], str] = attrgetter("payload_json")
log = logging.getLogger("capigate.worker")


def default_worker_id() -> str:
    """host:pid:random, unique per worker process, readable in the store's lease_owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DeliveryWorker:
    """Delivers the outbox to Meta, for every pixel that has a client."""

    store_retry_s = STORE_RETRY_S

    def __init__(
        self,
        store: Store,
        clients: Mapping[str, MetaClient],
        *,
        settings: WorkerSettings | None = None,
        clock: Clock = system_clock,
        rand: Callable[[], float] = random.random,
        worker_id: str | None = None,
        circuits: CircuitBoard | None = None,
        counters: DeliveryCounters | None = None,
        lifecycle: LifecycleEngine | None = None,
    ) -> None:
        self.settings = settings or WorkerSettings()
        self.policy: RetryPolicy = self.settings.policy()
        self.worker_id = worker_id or default_worker_id()
        self.circuits = circuits or CircuitBoard(policy=self.policy, clock=clock, ledger=store)
        self.counters = counters or DeliveryCounters()
        self.lifecycle = lifecycle  # its timeouts (Drop_Off) run at the start of each round
        self._store = store
        self._clients = dict(clients)
        self._clock = clock
        self._rand = rand
        self._tasks: set[asyncio.Task[None]] = set()
        self._unconfigured: set[str] = set()
        self._stopping = asyncio.Event()
        self._room = asyncio.Event()  # set when a batch gives its place up
        self._places = Places(self.settings.concurrency, on_free=self._room.set)
        self.running = False

    # --- driving the loop ------------------------------------------------------------------

    async def run_once(self) -> int:
        """One round: sync and probe circuits, lease what capacity allows, deliver it all.

        Returns the number of batches delivered; 0 when nothing was ready.
        """
        await self._prepare()
        started = await self._fill()
        if started:
            await asyncio.gather(*list(self._tasks))
        return started

    async def run(self) -> None:
        """Deliver until ``stop()``, then let the batches in flight finish."""
        self.running = True
        try:
            while not self._stopping.is_set():
                try:
                    await self._prepare()
                    await self._fill()
                    timeout = self.settings.poll_interval_s
                except StoreError:
                    log.exception("worker: store failed; retrying", extra=self._fields())
                    timeout = self.store_retry_s
                except Exception:  # a bug must not silently end delivery for the process
                    log.exception("worker: round failed; retrying", extra=self._fields())
                    timeout = self.store_retry_s
                await self._wait(timeout)
        finally:
            await self._drain(STOP_GRACE_S)
            self.running = False

    def stop(self) -> None:
        """Stop leasing; ``run()`` returns once the batches in flight are settled."""
        self._stopping.set()

    def status(self) -> dict[str, Any]:
        """What ``/readyz`` reports about delivery."""
        return {
            "worker_id": self.worker_id,
            "running": self.running,
            "batches_in_flight": len(self._tasks),
            "circuits": self.circuits.snapshot(),
            "unconfigured_pixels": sorted(self._unconfigured),
        }

    async def _prepare(self) -> None:
        await self.circuits.sync()
        await self.circuits.probe_due(self._probe, self._clients.keys())
        if self.lifecycle is not None:
            await self.lifecycle.tick(now_s=self._clock(), owner=self.worker_id)

    async def _probe(self, pixel_id: str) -> Outcome:
        outcome = await self._clients[pixel_id].probe(pixel_id)
        self.counters.request(pixel_id, f"probe_{outcome.kind.value}")
        return outcome

    async def _fill(self) -> int:
        """Lease and start batches while some pixel has room; returns how many started."""
        started = 0
        while not self._stopping.is_set() and not self._all_busy():
            batch = await self._store.lease_batch(
                worker_id=self.worker_id,
                now_s=self._clock(),
                lease_s=self.settings.lease_s,
                max_events=self.settings.batch_size,
                min_age_s=self.settings.flush_interval_s,
                exclude_pixel_ids=self._excluded(),
            )
            if batch is None:
                break
            self._start(batch)
            started += 1
        return started

    def _excluded(self) -> frozenset[str]:
        return self.circuits.paused() | self._unconfigured | self._full()

    def _full(self) -> set[str]:
        return self._places.full()

    def _all_busy(self) -> bool:
        """Whether every pixel with a client has all its places taken and a batch ahead.

        A lease could then find only events of pixels without a client, and those are found
        as soon as a place frees, so the store is not asked in vain.
        """
        return bool(self._clients) and self._full() >= self._clients.keys()

    def _start(self, batch: Batch) -> None:
        place = self._places.hold(batch.pixel_id)
        task = asyncio.create_task(self._deliver_safely(batch, place))
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            place.give_up()

        task.add_done_callback(done)

    async def _wait(self, timeout_s: float) -> None:
        """Sleep until a batch gives its place up, ``stop()``, or ``timeout_s``."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        room = asyncio.ensure_future(self._room.wait())
        try:
            await asyncio.wait(
                {room, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
            room.cancel()
            self._room.clear()

    async def _drain(self, grace_s: float) -> None:
        """Let batches in flight finish; cancel what outlives ``grace_s`` (its leases run out)."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in late:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*late, return_exceptions=True)

    # --- one batch -------------------------------------------------------------------------

    async def _deliver_safely(self, batch: Batch, place: Place) -> None:
        try:
            await self._deliver(batch, place)
        except StoreError:
            log.exception("worker: store failed; the lease will run out", extra=self._fields(batch))
        except Exception:
            log.exception(
                "worker: delivery failed; the lease will run out", extra=self._fields(batch)
            )

    async def _deliver(self, batch: Batch, place: Place) -> None:
        pixel_id = batch.pixel_id
        client = self._clients.get(pixel_id)
        if client is None:
            await self._unroutable(batch)
            return
        await place.take()
        if self._clock() > batch.lease_expires_at - self.settings.lease_s / 2:
            await self._release(batch, batch.events)
            log.warning(
                "batch waited half its lease for a place; queued again", extra=self._fields(batch)
            )
            return
        fresh, expired = settle.on_lease(batch.events, now_s=self._clock(), policy=self.policy)
        for reason, ids in expired.items():
            changed = await self._store.expire(ids, now_s=self._clock(), reason=reason)
            self.counters.settled(pixel_id, "expired", changed)
            log.warning(
                "events expired before sending",
                extra=self._fields(batch, reason=reason, events=changed),
            )
        if fresh:
            await self._send_isolating(batch, client, tuple(fresh), place)

    async def _send_isolating(
        self,
        batch: Batch,
        client: MetaClient,
        events: tuple[LeasedEvent, ...],
        place: Place,
    ) -> None:
        """Send, splitting refused parts until the bad events stand alone.

        After a success that leaves nothing to send, the batch gives its place up before
        saving it. Any other answer keeps the place until it is settled, so that a pause or
        a retry is in force before the pixel's next batch is leased.
        """
        plan = Bisection.start(events)
        last: Outcome | None = None
        while (part := plan.next_part()) is not None:
            if self.circuits.state(batch.pixel_id).paused:
                await self._release(batch, plan.remaining)
                return
            last = await self._send(batch, client, part)
            if splittable(last, len(part)):
                plan = plan.refused()
                continue
            plan = plan.settled()
            if last.kind is OutcomeKind.DELIVERED and plan.next_part() is None:
                place.give_up()
            if last.kind in (OutcomeKind.DELIVERED, OutcomeKind.PERMANENT):
                await self._apply(batch, part, last)
            else:  # retry or pause: what is left shares the part's fate
                await self._apply(batch, (*part, *plan.remaining), last)
                return
        if plan.remaining and last is not None:
            await self._apply(batch, plan.remaining, settle.unresolved(last, len(plan.remaining)))

    async def _send(self, batch: Batch, client: MetaClient, part: Sequence[LeasedEvent]) -> Outcome:
        payloads = body.sized(list(map(_PAYLOAD_JSON, part)))
        outcome = await client.send_events(
            batch.pixel_id, payloads, body.request_options(batch.test_event_code)
        )
        self.counters.request(batch.pixel_id, outcome.kind.value)
        return outcome

    async def _apply(self, batch: Batch, events: Sequence[LeasedEvent], outcome: Outcome) -> None:
        """Persist what ``outcome`` means for ``events``."""
        now_s = self._clock()
        found = settle.settle(events, outcome, now_s=now_s, rand=self._rand(), policy=self.policy)
        for settlement in found:
            if settlement.decision.kind is DecisionKind.PAUSE:
                await self.circuits.open(batch.pixel_id, settlement.decision.reason)
                await self._release(batch, events)
                return
            if settlement.decision.kind is DecisionKind.ACK:
                await self.circuits.close(batch.pixel_id)
            await self._persist(batch, settlement, outcome, now_s, len(events))

    async def _persist(
        self, batch: Batch, found: settle.Settlement, outcome: Outcome, now_s: float, sent: int
    ) -> None:
        decision, ids = found.decision, list(found.ids)
        if decision.kind is DecisionKind.ACK:
            changed = await self._ack(batch, ids, outcome, now_s, sent)
            result = "delivered"
        elif decision.kind is DecisionKind.RETRY:
            assert decision.retry_at_s is not None
            error = settle.error_record(decision, outcome)
            changed = await self._store.schedule_retry(
                ids, now_s=now_s, retry_at_s=decision.retry_at_s, error=error
            )
            result = "retry"
        elif decision.kind is DecisionKind.DEAD:
            error = settle.error_record(decision, outcome)
            changed = await self._store.dead_letter(ids, now_s=now_s, error=error)
            result = "dead"
        else:
            changed = await self._store.expire(ids, now_s=now_s, reason=decision.reason)
            result = "expired"
        self.counters.settled(batch.pixel_id, result, changed)
        if result != "delivered":
            level = logging.INFO if result == "retry" else logging.WARNING
            fields = self._fields(batch, result=result, reason=decision.reason, events=changed)
            log.log(level, "events not delivered", extra=fields)
        if changed < len(ids):
            lost = self._fields(batch, events=len(ids) - changed)
            log.warning("lease lost before settling", extra=lost)

    async def _ack(
        self, batch: Batch, ids: list[int], outcome: Outcome, now_s: float, sent: int
    ) -> int:
        response = settle.response_record(outcome, sent)
        changed = await self._store.ack(ids, now_s=now_s, response=response)
        if response["mismatch"]:
            self.counters.mismatch(batch.pixel_id)
            fields = self._fields(batch, reason=response["mismatch"])
            log.warning("events_received differs from events sent; acknowledged", extra=fields)
        return changed

    async def _release(self, batch: Batch, events: Sequence[LeasedEvent]) -> None:
        changed = await self._store.release([e.id for e in events])
        self.counters.settled(batch.pixel_id, "released", changed)

    async def _unroutable(self, batch: Batch) -> None:
        """Events for a pixel this worker has no token for wait (released) until one is set."""
        self._unconfigured.add(batch.pixel_id)
        await self._release(batch, batch.events)
        log.error(
            "no client for pixel: configure it in pixels:, events wait",
            extra=self._fields(batch, events=len(batch.events)),
        )

    def _fields(self, batch: Batch | None = None, **extra: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {"worker_id": self.worker_id}
        if batch is not None:
            fields.update(pixel_id=batch.pixel_id, test_event_code=batch.test_event_code)
        fields.update(extra)
        return {"fields": fields}
