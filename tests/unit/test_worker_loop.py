"""The delivery loop against the in-process emulator: every decision path, on a frozen clock."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from typing import Any

import httpx
import orjson

from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.retry import DAY_S
from capigate.store import InMemoryStore, Status
from tests.worker_kit import (
    FAST,
    NOW_S,
    OTHER_PIXEL,
    PIXEL,
    by_event_id,
    new_event,
    poison_event,
    rig,
    settle_all,
)


async def test_a_batch_is_delivered_in_one_request_and_acknowledged() -> None:
    """Three queued events leave after the flush interval, in one request, and are delivered."""
    async with rig() as r:
        ids = await r.enqueue([new_event(n) for n in range(3)])
        assert await r.worker.run_once() == 0  # the oldest has not waited the flush interval
        r.clock.advance(1.0)
        assert await r.worker.run_once() == 1
        assert await r.request_count() == 1
        delivered = await r.events(Status.DELIVERED)
        assert [e.id for e in delivered] == ids
        response = delivered[0].last_response
        assert response is not None
        assert (response["events_received"], response["sent"], response["mismatch"]) == (3, 3, None)
        assert response["fbtrace_id"] and delivered[0].attempts == 1
        assert sorted(e["event_id"] for e in await r.recorded()) == ["lead-0", "lead-1", "lead-2"]


async def test_a_full_batch_leaves_without_waiting() -> None:
    """batch_size events due at once are sent before the flush interval."""
    async with rig(settings=dataclasses.replace(FAST, batch_size=5)) as r:
        await r.enqueue([new_event(n) for n in range(7)])
        assert await r.worker.run_once() == 1
        assert len(await r.events(Status.DELIVERED)) == 5


async def test_test_event_codes_are_separate_batches_carrying_their_code() -> None:
    """Each (pixel, test_event_code) group is one request with the code at the top level."""
    async with rig() as r:
        await r.enqueue([new_event(1, test_event_code="TEST1"), new_event(2)])
        r.clock.advance(1.0)
        await settle_all(r)
        assert await r.request_count() == 2
        codes = {e["event_id"]: e["test_event_code"] for e in await r.recorded()}
        assert codes == {"lead-1": "TEST1", "lead-2": None}


async def test_a_5xx_is_retried_after_backoff_then_delivered() -> None:
    """Code 2 / HTTP 500: retry at now + base delay, Meta's code kept, then delivered."""
    async with rig() as r:
        await r.fault(count=1, code=2, status=500)
        [event_id] = await r.enqueue([new_event(1)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        [waiting] = await r.events(Status.RETRY)
        assert waiting.next_attempt_at == r.clock() + FAST.retry_base_delay_s
        assert waiting.attempts == 1
        assert waiting.last_error is not None
        assert (waiting.last_error["code"], waiting.last_error["status"]) == (2, 500)
        await settle_all(r)
        delivered = await r.store.get(event_id)
        assert delivered is not None and delivered.status is Status.DELIVERED
        assert delivered.attempts == 2


async def test_retry_after_is_honoured_and_capped() -> None:
    """Retry-After 120 s delays the retry 120 s; an absurd one is capped at retry_max_wait_s."""
    settings = dataclasses.replace(FAST, retry_max_wait_s=600.0)
    async with rig(settings=settings) as r:
        await r.fault(count=1, code=4, retry_after_s=120)
        await r.fault(count=1, code=4, retry_after_s=10**6)
        await r.enqueue([new_event(1)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        [first] = await r.events(Status.RETRY)
        assert first.next_attempt_at == r.clock() + 120
        r.clock.set(first.next_attempt_at + 1)
        await r.worker.run_once()
        [second] = await r.events(Status.RETRY)
        assert second.next_attempt_at == r.clock() + 600


async def test_a_permanent_refusal_dead_letters_with_metas_details() -> None:
    """One bad event: dead-lettered with code, subcode, message and fbtrace_id."""
    async with rig() as r:
        await r.enqueue([new_event(1, payload=poison_event(1, NOW_S - 60))])
        r.clock.advance(1.0)
        await r.worker.run_once()
        [dead] = await r.events(Status.DEAD)
        error = dead.last_error
        assert error is not None
        assert (error["code"], error["subcode"]) == (100, 2804009)
        assert error["message"] and error["fbtrace_id"]
        assert "2804009" in error["reason"]
        assert await r.recorded() == []


async def test_one_poison_event_is_isolated_and_the_rest_delivered() -> None:
    """A refused batch of 10 is split; 9 delivered, the bad one dead, within log2 requests."""
    async with rig() as r:
        events = [new_event(n) for n in range(10)]
        events[6] = new_event(6, payload=poison_event(6, NOW_S - 60))
        await r.enqueue(events)
        r.clock.advance(1.0)
        await r.worker.run_once()
        [dead] = await r.events(Status.DEAD)
        assert dead.event_id == "lead-6" and dead.last_error is not None
        assert dead.last_error["subcode"] == 2804009
        assert len(await r.events(Status.DELIVERED)) == 9
        assert await r.request_count() <= 1 + 2 * math.ceil(math.log2(10))
        assert "lead-6" not in by_event_id(await r.recorded())


async def test_several_poison_events_are_each_isolated() -> None:
    """Three bad events among 40: three dead letters, 37 delivered exactly once."""
    async with rig() as r:
        events = [new_event(n) for n in range(40)]
        for n in (0, 17, 39):
            events[n] = new_event(n, payload=poison_event(n, NOW_S - 60))
        await r.enqueue(events)
        r.clock.advance(1.0)
        await settle_all(r)
        assert sorted(e.event_id for e in await r.events(Status.DEAD)) == [
            "lead-0", "lead-17", "lead-39",
        ]  # fmt: skip
        counts = by_event_id(await r.recorded())
        assert len(counts) == 37 and set(counts.values()) == {1}


async def test_events_near_their_window_expire_before_they_can_poison_a_batch() -> None:
    """An event 7 days old (minus less than the margin) is expired at lease; its batch passes."""
    async with rig() as r:
        old = NOW_S - 7 * DAY_S + 60
        await r.enqueue([new_event(1, event_time=old), new_event(2)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        [expired] = await r.events(Status.EXPIRED)
        assert expired.event_id == "lead-1" and expired.attempts == 0
        assert expired.reason is not None and "7 days" in expired.reason
        assert [e["event_id"] for e in await r.recorded()] == ["lead-2"]
        assert await r.request_count() == 1


async def test_a_retry_that_would_pass_the_window_expires_instead() -> None:
    """A transient failure for an event whose window closes before the retry: expired."""
    async with rig() as r:
        await r.fault(count=1, code=2, status=500)
        await r.enqueue([new_event(1, event_time=NOW_S - 7 * DAY_S + 601.5)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        [expired] = await r.events(Status.EXPIRED)
        assert expired.reason is not None and "7-day window" in expired.reason


async def test_retries_give_up_after_max_attempts() -> None:
    """A batch failing every time is dead-lettered after retry_max_attempts, with the cause."""
    async with rig(settings=dataclasses.replace(FAST, retry_max_attempts=3)) as r:
        await r.fault(count=10, code=1, status=500)
        await r.enqueue([new_event(1)])
        r.clock.advance(1.0)
        await settle_all(r)
        [dead] = await r.events(Status.DEAD)
        assert dead.attempts == 3 and dead.last_error is not None
        assert "gave up after 3 attempts" in dead.last_error["reason"]


async def test_a_token_error_pauses_the_pixel_without_spending_attempts() -> None:
    """190: events released (0 attempts), pixel paused, probes back off, then delivery resumes."""
    async with rig() as r:
        await r.fault(count=2, code=190)  # the send, then the first probe
        [event_id] = await r.enqueue([new_event(1)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        event = await r.store.get(event_id)
        assert event is not None and (event.status, event.attempts) == (Status.QUEUED, 0)
        assert r.worker.circuits.paused() == {PIXEL}
        [saved] = await r.store.circuits()
        assert (saved.pixel_id, saved.status) == (PIXEL, "open") and "190" in saved.reason
        assert await r.worker.run_once() == 0  # paused: nothing is leased
        r.clock.advance(FAST.probe_base_delay_s)
        await r.worker.run_once()  # the probe meets the second 190
        assert r.worker.circuits.state(PIXEL).failed_probes == 1
        await settle_all(r)
        delivered = await r.store.get(event_id)
        assert delivered is not None and (delivered.status, delivered.attempts) == (
            Status.DELIVERED, 1,
        )  # fmt: skip
        assert r.worker.circuits.paused() == frozenset()
        assert [c.status for c in await r.store.circuits()] == ["closed"]


async def test_a_paused_pixel_does_not_hold_up_the_others() -> None:
    """A token error on one pixel leaves another pixel's delivery running."""
    async with rig(pixels=(PIXEL, OTHER_PIXEL)) as r:
        await r.fault(count=5, code=190, pixel_id=PIXEL)
        await r.enqueue([new_event(1), new_event(2, pixel_id=OTHER_PIXEL)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        await r.worker.run_once()
        assert r.worker.circuits.paused() == {PIXEL}
        [delivered] = await r.events(Status.DELIVERED)
        assert delivered.pixel_id == OTHER_PIXEL


async def test_events_for_an_unconfigured_pixel_wait_and_are_reported() -> None:
    """No client for a pixel: its events are released untouched and /readyz names the pixel."""
    async with rig() as r:
        await r.enqueue([new_event(1, pixel_id="999"), new_event(2)])
        r.clock.advance(1.0)
        for _ in range(3):
            await r.worker.run_once()
        [waiting] = await r.pending()
        assert (waiting.pixel_id, waiting.status, waiting.attempts) == ("999", Status.QUEUED, 0)
        assert r.worker.status()["unconfigured_pixels"] == ["999"]
        assert len(await r.events(Status.DELIVERED)) == 1


async def test_an_events_received_mismatch_is_acknowledged_kept_and_counted() -> None:
    """Meta says it received fewer events than sent: acknowledged, mismatch kept and counted."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"events_received": 1, "messages": [], "fbtrace_id": "T"})

    async with rig(transport=httpx.MockTransport(answer)) as r:
        await r.enqueue([new_event(1), new_event(2)])
        r.clock.advance(1.0)
        await r.worker.run_once()
        delivered = await r.events(Status.DELIVERED)
        assert len(delivered) == 2
        response = delivered[0].last_response
        assert response is not None and response["mismatch"] == "Meta received 1 of 2 events sent"
        assert r.worker.counters.mismatches[PIXEL] == 1


async def test_at_most_concurrency_batches_are_in_flight_per_pixel() -> None:
    """With concurrency 2 a third batch is leased ahead and waits; another pixel is not held."""
    gate = asyncio.Event()
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def answer(request: httpx.Request) -> httpx.Response:
        pixel = request.url.path.split("/")[2]
        in_flight[pixel] = in_flight.get(pixel, 0) + 1
        peak[pixel] = max(peak.get(pixel, 0), in_flight[pixel])
        await gate.wait()
        in_flight[pixel] -= 1
        sent = len(orjson.loads(request.content)["data"])
        return httpx.Response(200, json={"events_received": sent, "fbtrace_id": "T"})

    settings = dataclasses.replace(FAST, batch_size=1, concurrency=2)
    async with rig(settings=settings, pixels=(PIXEL, OTHER_PIXEL),
                   transport=httpx.MockTransport(answer)) as r:  # fmt: skip
        await r.enqueue([new_event(n) for n in range(5)] + [new_event(9, pixel_id=OTHER_PIXEL)])
        round_one = asyncio.create_task(r.worker.run_once())
        await asyncio.sleep(0)
        for _ in range(20):
            if sum(in_flight.values()) == 3:
                break
            await asyncio.sleep(0)
        assert in_flight == {PIXEL: 2, OTHER_PIXEL: 1}
        assert r.worker.status()["batches_in_flight"] == 4  # the third batch waits, leased
        gate.set()
        assert await round_one == 4
        await settle_all(r)
        assert peak == {PIXEL: 2, OTHER_PIXEL: 1}
        assert len(await r.events(Status.DELIVERED)) == 6


class GatedStore(InMemoryStore):
    """A store whose acknowledgements and retries wait for ``gate``, as a slow database would."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = asyncio.Event()

    async def ack(self, ids: Any, **kw: Any) -> int:
        await self.gate.wait()
        return await super().ack(ids, **kw)

    async def schedule_retry(self, ids: Any, **kw: Any) -> int:
        await self.gate.wait()
        return await super().schedule_retry(ids, **kw)


async def _requests_while_settling(status: int) -> int:
    """Requests sent with concurrency 1 while the first batch's settlement is held."""
    sent: list[int] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        sent.append(len(orjson.loads(request.content)["data"]))
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "down", "code": 2}})
        return httpx.Response(200, json={"events_received": 1, "fbtrace_id": "T"})

    settings = dataclasses.replace(
        FAST, batch_size=1, concurrency=1, flush_interval_s=0.0, poll_interval_s=0.01
    )
    clock = FrozenClock(NOW_S)
    store = GatedStore(clock=clock)
    async with rig(settings=settings, store=store, clock=clock,
                   transport=httpx.MockTransport(answer)) as r:  # fmt: skip
        await r.enqueue([new_event(1), new_event(2)])
        running = asyncio.create_task(r.worker.run())
        for _ in range(200):
            if len(sent) >= 2:
                break
            await asyncio.sleep(0.005)
        during = len(sent)
        store.gate.set()
        r.worker.stop()
        await asyncio.wait_for(running, timeout=5)
    return during


async def test_a_delivered_batch_gives_its_place_up_before_it_is_saved() -> None:
    """With concurrency 1 the next batch is sent while the first acknowledgement is saved."""
    assert await _requests_while_settling(200) == 2


async def test_a_failed_batch_keeps_its_place_until_it_is_settled() -> None:
    """A retry is saved before the pixel's next batch goes out (no sends past a failure)."""
    assert await _requests_while_settling(500) == 1


async def test_no_lease_is_asked_while_every_pixel_is_busy() -> None:
    """With its only pixel's place taken and a batch leased ahead, a round asks for no lease."""
    gate = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200, json={"events_received": 1, "fbtrace_id": "T"})

    settings = dataclasses.replace(FAST, batch_size=1, concurrency=1, flush_interval_s=0.0)
    clock = FrozenClock(NOW_S)
    store = InMemoryStore(clock=clock)
    async with rig(settings=settings, store=store, clock=clock,
                   transport=httpx.MockTransport(answer)) as r:  # fmt: skip
        await r.enqueue([new_event(n) for n in range(3)])
        first = asyncio.create_task(r.worker.run_once())
        for _ in range(50):
            if r.worker.status()["batches_in_flight"] == 2:
                break
            await asyncio.sleep(0)
        leases = sum(name == "lease_batch" for name, _ in store.calls)
        assert await r.worker.run_once() == 0  # the pixel is busy: nothing to ask for
        assert sum(name == "lease_batch" for name, _ in store.calls) == leases == 2
        gate.set()
        assert await first == 2
        await settle_all(r)
        assert len(await r.events(Status.DELIVERED)) == 3


async def test_a_batch_that_waited_half_its_lease_for_a_place_is_queued_again() -> None:
    """A batch leased ahead is not sent on a lease about to run out; it waits, unattempted."""
    gate = asyncio.Event()
    sent: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        sent.extend(e["event_id"] for e in orjson.loads(request.content)["data"])
        await gate.wait()
        return httpx.Response(200, json={"events_received": 1, "fbtrace_id": "T"})

    settings = dataclasses.replace(FAST, batch_size=1, concurrency=1, flush_interval_s=0.0)
    async with rig(settings=settings, transport=httpx.MockTransport(answer)) as r:
        await r.enqueue([new_event(1), new_event(2)])
        first = asyncio.create_task(r.worker.run_once())
        for _ in range(50):
            if sent:
                break
            await asyncio.sleep(0)
        r.clock.advance(settings.lease_s / 2 + 1)  # the first request hangs that long
        gate.set()
        assert await first == 2
        assert sent == ["lead-1"]
        [waiting] = await r.events(Status.QUEUED)
        assert (waiting.event_id, waiting.attempts) == ("lead-2", 0)
        await settle_all(r)
        assert sent == ["lead-1", "lead-2"]


async def test_stop_lets_the_batch_in_flight_finish() -> None:
    """run() returns after stop(), once the batch being sent is settled."""
    gate = asyncio.Event()

    async def answer(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200, json={"events_received": 1, "fbtrace_id": "T"})

    settings = dataclasses.replace(FAST, flush_interval_s=0.0, poll_interval_s=0.01)
    async with rig(settings=settings, transport=httpx.MockTransport(answer)) as r:
        await r.enqueue([new_event(1)])
        running = asyncio.create_task(r.worker.run())
        for _ in range(200):
            if r.worker.status()["batches_in_flight"]:
                break
            await asyncio.sleep(0.005)
        r.worker.stop()
        gate.set()
        await asyncio.wait_for(running, timeout=5)
        assert not r.worker.running
        assert len(await r.events(Status.DELIVERED)) == 1


class FlakyStore(InMemoryStore):
    """A store whose first lease fails, as a lost database connection would."""

    failures = 1

    async def lease_batch(self, **options: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreError("connection lost")
        return await super().lease_batch(**options)


async def test_run_survives_a_store_failure_and_delivers_after_it() -> None:
    """A failing store is logged and retried; the worker keeps running and delivers."""
    settings = dataclasses.replace(FAST, flush_interval_s=0.0, poll_interval_s=0.01)
    clock = FrozenClock(NOW_S)
    async with rig(settings=settings, store=FlakyStore(clock=clock), clock=clock) as r:
        r.worker.store_retry_s = 0.01
        await r.enqueue([new_event(1)])
        running = asyncio.create_task(r.worker.run())
        for _ in range(500):
            if await r.events(Status.DELIVERED):
                break
            await asyncio.sleep(0.01)
        r.worker.stop()
        await asyncio.wait_for(running, timeout=5)
        assert len(await r.events(Status.DELIVERED)) == 1
