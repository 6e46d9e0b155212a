"""``AsyncCapigate``: the client's one core (``Capigate`` runs it on a thread for sync code).

How an event travels: ``track()`` checks and encodes it, pins its ``event_time`` and queues
it in memory; a background task flushes when ``batch_events`` are queued or the oldest has
waited ``flush_interval_s``; a flush delivers in batches (``capigate.client.delivery``).
What the gateway cannot take now goes to the spool, and while the spool holds events every
new batch queues behind them, so the gateway sees events in the order they were tracked. The
spool is replayed on start, every ``replay_interval_s`` (later when ``Retry-After`` says so)
and on ``flush()``. ``aclose()`` flushes. Events refused for good are never spooled: each
reaches ``on_error`` as a ``ClientError`` (``send_now`` raises it instead).

What a hard crash can lose: only events still in memory (at most ``batch_events``, or
``flush_interval_s`` worth); spooled events survive with a ``spool_dir``.
"""

from __future__ import annotations

import asyncio
import logging
import random as _random
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Unpack

import httpx

from capigate.client.backoff import RetryPolicy
from capigate.client.batcher import Batcher
from capigate.client.delivery import MAX_BATCH_EVENTS, Outcome, deliver
from capigate.client.errors import CapigateClientError, EventsLost, SpoolFull
from capigate.client.events import (
    Event,
    EventFields,
    EventResult,
    Pending,
    decode,
    encode,
    prepared,
)
from capigate.client.spool import DEFAULT_MAX_BYTES, DEFAULT_MAX_EVENTS, FileSpool, MemorySpool
from capigate.client.transport import Clock, Random, Sleep, Transport, Unavailable

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_S = 10.0
DEFAULT_BATCH_EVENTS = 100
DEFAULT_FLUSH_INTERVAL_S = 1.0
DEFAULT_MAX_BATCH_BYTES = 1_000_000  # half the gateway's default body limit
DEFAULT_MAX_PENDING = 10_000  # events in memory before track() refuses more
DEFAULT_REPLAY_INTERVAL_S = 30.0
log = logging.getLogger("capigate.client")

ErrorHook = Callable[[CapigateClientError], None]


def _uuid4() -> str:
    return str(uuid.uuid4())


class AsyncCapigate:
    """An asyncio client of the gateway's ingest API; use it as ``async with``.

    ``api_key`` is a server source's key (sent as ``Authorization: Bearer``). With
    ``spool_dir`` undelivered events survive restarts in a SQLite file there; without it they
    wait in memory. ``transport``, ``clock``, ``sleep``, ``random`` and ``new_id`` are seams
    for tests. ``auto_event_id`` gives every event without an id a UUID4: leave it off for
    plan keys, whose ``event_id`` templates (``startbot_{telegram_id}``) the gateway fills.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        batch_events: int = DEFAULT_BATCH_EVENTS,
        flush_interval_s: float = DEFAULT_FLUSH_INTERVAL_S,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        max_pending: int = DEFAULT_MAX_PENDING,
        spool_dir: str | Path | None = None,
        spool_max_events: int = DEFAULT_MAX_EVENTS,
        spool_max_bytes: int = DEFAULT_MAX_BYTES,
        replay_interval_s: float = DEFAULT_REPLAY_INTERVAL_S,
        retry: RetryPolicy | None = None,
        auto_event_id: bool = False,
        on_error: ErrorHook | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        random: Random = _random.random,
        new_id: Callable[[], str] = _uuid4,
    ) -> None:
        if not 1 <= batch_events <= MAX_BATCH_EVENTS:
            raise ValueError(f"batch_events: must be 1 to {MAX_BATCH_EVENTS}")
        self._transport = Transport(
            api_key,
            base_url=base_url,
            timeout_s=timeout_s,
            policy=retry or RetryPolicy(),
            sleep=sleep,
            random=random,
            clock=clock,
            transport=transport,
        )
        self._batcher = Batcher(
            batch_events=batch_events, interval_s=flush_interval_s, max_pending=max_pending
        )
        limits = {"max_events": spool_max_events, "max_bytes": spool_max_bytes}
        self._spool = FileSpool(spool_dir, **limits) if spool_dir else MemorySpool(**limits)
        self._max_batch_bytes = max_batch_bytes
        self._replay_interval_s = replay_interval_s
        self._replay_at = 0.0  # replay the spool no earlier than this
        self._clock = clock
        self._sleep = sleep
        self._new_id = new_id if auto_event_id else None
        self._on_error = on_error or _log_error
        self._lock = asyncio.Lock()  # one flush at a time keeps the order
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._spool_full = False  # held events wait for the replay instead of spinning
        self._warned: set[tuple[str, str]] = set()

    async def __aenter__(self) -> AsyncCapigate:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def queued(self) -> int:
        """Events in memory, not yet sent."""
        return len(self._batcher)

    @property
    def spooled(self) -> int:
        """Events in the spool, waiting for the gateway."""
        return len(self._spool)

    async def start(self) -> None:
        """Start the background flusher (``track`` does it too); it replays the spool first."""
        if self._closed:
            raise CapigateClientError("the client is closed")
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="capigate-client")

    async def track(self, event: str | Mapping[str, Any], **fields: Unpack[EventFields]) -> None:
        """Queue one event (a plan key and fields, or an ``Event``); returns at once.

        Raises ``InvalidEvent`` for a shape the gateway could never take, and ``SpoolFull``
        when the gateway has been away so long that memory and spool are both full.
        """
        await self.start()
        pending = Pending(encode(self._prepare(event, fields)))
        if self._batcher.full:
            raise SpoolFull(
                f"{self.queued} events wait in memory and {self.spooled} in the spool "
                "(both full): the gateway has not taken events for a while"
            )
        full = self._batcher.add(pending, now_s=self._clock())
        if full or len(self._batcher) == 1:  # a batch to send, or a new deadline to wait for
            self._wake.set()

    async def send_now(
        self, event: str | Mapping[str, Any], **fields: Unpack[EventFields]
    ) -> EventResult:
        """Send one event now and return the gateway's answer (``queued`` or ``duplicate``).

        If the gateway stays unreachable through the retries, the event is spooled and the
        answer is ``spooled``. Raises ``ClientError`` when the gateway refuses it for good.
        """
        item = self._prepare(event, fields)
        pending = Pending(encode(item))
        outcome = await self._deliver_now([pending], report=False)
        if outcome.rejected:
            raise outcome.rejected[0]
        if outcome.unsent:
            self._spool.append([pending.data])
            return EventResult("spooled", item.get("event_id"))
        return outcome.results[0]

    async def flush(self) -> list[EventResult]:
        """Send what is queued and replay the spool now; the answers for what was taken."""
        async with self._lock:
            replay = len(self._spool) > 0  # not when this very delivery just failed
            results = await self._deliver(self._batcher.take())
            if replay:
                results += await self._drain()
                if not len(self._spool):  # events held back by a full spool may go now
                    results += await self._deliver(self._batcher.take())
            return results

    async def aclose(self) -> None:
        """Flush, stop the background task and release the connection pool and spool."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task
        try:
            await self.flush()
            self._report_lost()
        finally:
            await self._transport.aclose()
            self._spool.close()

    def _prepare(self, event: str | Mapping[str, Any], fields: EventFields) -> Event:
        return prepared(event, fields, now_s=self._clock(), new_id=self._new_id)

    async def _run(self) -> None:
        while await self._woken():
            try:
                await self._flush_due()
            except Exception:
                log.exception("capigate client: a background flush failed")
                await self._sleep(self._replay_interval_s)  # no tight loop on a bug

    async def _woken(self) -> bool:
        """Wait for a full batch, the next deadline or ``aclose``; False when closed.

        The deadline is waited for with the injected ``sleep``, so a test's fake sleep moves
        simulated time instead of the test waiting for real time.
        """
        if not self._closed:
            timeout_s = self._next_wait_s()
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
            if timeout_s is not None:
                waits.append(asyncio.ensure_future(self._sleep(timeout_s)))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
            self._wake.clear()
        return not self._closed

    def _next_wait_s(self) -> float | None:
        now_s = self._clock()
        waits = [None if self._spool_full else self._batcher.wait_s(now_s)]
        if len(self._spool):
            waits.append(max(0.0, self._replay_at - now_s))
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    async def _flush_due(self) -> None:
        async with self._lock:
            now_s = self._clock()
            if self._batcher.due(now_s):
                await self._deliver(self._batcher.take())
            if len(self._spool) and now_s >= self._replay_at:
                await self._drain()

    async def _deliver(self, events: list[Pending]) -> list[EventResult]:
        if not events:
            return []
        if len(self._spool):
            self._hold(events)  # behind the spooled events; the replay sends them in order
            return []
        outcome = await self._deliver_now(events)
        if outcome.unsent:
            self._hold(outcome.unsent)
        return outcome.results

    async def _drain(self) -> list[EventResult]:
        results: list[EventResult] = []
        while len(self._spool):
            outcome = await self._deliver_now(self._spool.peek(MAX_BATCH_EVENTS))
            self._spool.remove([p.seq for p in outcome.done if p.seq is not None])
            self._spool_full = self._spool_full and not outcome.done
            results += outcome.results
            if outcome.unsent:
                return results
        self._replay_at = 0.0
        return results

    async def _deliver_now(self, events: list[Pending], *, report: bool = True) -> Outcome:
        """Deliver ``events``; refusals go to ``on_error`` unless the caller raises them."""
        outcome = await deliver(
            self._transport,
            events,
            max_events=MAX_BATCH_EVENTS,
            max_bytes=self._max_batch_bytes,
        )
        for error in outcome.rejected if report else ():
            self._report(error)
        self._log_warnings(outcome.results)
        if outcome.unavailable is not None:
            self._replay_later(outcome.unavailable, len(outcome.unsent))
        return outcome

    def _hold(self, events: list[Pending]) -> None:
        try:
            self._spool.append([p.data for p in events])
        except SpoolFull as exc:
            self._spool_full = True
            self._batcher.put_back(events, since_s=self._clock())
            log.warning("capigate client: %s", exc)

    def _replay_later(self, unavailable: Unavailable, count: int) -> None:
        wait_s = max(self._replay_interval_s, unavailable.retry_after_s or 0.0)
        self._replay_at = self._clock() + wait_s
        self._wake.set()  # the flusher waits for this new deadline
        log.warning(
            "capigate client: the gateway is unavailable (%s); %d events wait, replay in %.0f s",
            unavailable.reason,
            count,
            wait_s,
        )

    def _report(self, error: CapigateClientError) -> None:
        try:
            self._on_error(error)
        except Exception:
            log.exception("capigate client: on_error raised")

    def _report_lost(self) -> None:
        lost = self._batcher.take()
        if isinstance(self._spool, MemorySpool):
            lost += self._spool.peek(len(self._spool))
        if lost:
            message = f"{len(lost)} events were neither delivered nor spooled and are lost"
            self._report(EventsLost(message, [decode(p.data) for p in lost]))

    def _log_warnings(self, results: list[EventResult]) -> None:
        for result in results:
            for warning in result.warnings:
                key = (warning.rule, warning.path)
                if key not in self._warned:
                    self._warned.add(key)
                    log.warning(
                        "capigate gateway warning on %s (%s, %s): %s (logged once)",
                        result.event_name,
                        warning.path,
                        warning.rule,
                        warning.message,
                    )


def _log_error(error: CapigateClientError) -> None:
    log.error("capigate client: %s", error)
