"""Several workers on one PostgreSQL: no event sent twice while healthy, none lost on a crash."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from capigate.clock import Clock, FrozenClock
from capigate.emulator import create_app
from capigate.store import Status, Store, open_store
from capigate.worker.loop import DeliveryWorker
from tests.contract.pg_schema import pg_schema_url
from tests.integration.gateway_proc import pg_schema
from tests.worker_kit import (
    FAST,
    NOW_S,
    PIXEL,
    by_event_id,
    clients_for,
    new_event,
    rig,
    serving,
    settle_all,
    wire_event,
)

pytestmark = pytest.mark.postgres
DEADLINE_S = 60.0


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A store URL on a fresh PostgreSQL schema."""
    async with pg_schema_url() as url:
        yield url


async def _open(url: str, clock: Clock) -> Store:
    store = open_store(url, clock=clock)
    await store.migrate()
    return store


async def test_two_workers_deliver_every_event_exactly_once(pg_url: str) -> None:
    """Two workers leasing concurrently from one database never send the same event twice."""
    clock = FrozenClock(NOW_S)
    first, second = await _open(pg_url, clock), await _open(pg_url, clock)
    settings = dataclasses.replace(FAST, batch_size=50)
    try:
        async with rig(store=first, clock=clock, settings=settings, worker_id="w1") as r:
            other = DeliveryWorker(
                second,
                clients_for(r.http, (PIXEL,), clock),
                settings=settings,
                clock=clock,
                worker_id="w2",
            )
            await r.enqueue([new_event(n) for n in range(2000)])
            await settle_all(r, workers=[r.worker, other])
            counts = by_event_id(await r.recorded())
            assert len(counts) == 2000 and set(counts.values()) == {1}
            assert {e.status for e in await r.events()} == {Status.DELIVERED}
            assert r.worker.counters.total("delivered") > 0
            assert other.counters.total("delivered") > 0
    finally:
        await first.close()
        await second.close()


async def test_a_batch_of_a_killed_worker_is_sent_by_another_after_its_lease(pg_url: str) -> None:
    """Events leased by a worker that died are delivered once its lease has run out."""
    clock = FrozenClock(NOW_S)
    store = await _open(pg_url, clock)
    try:
        async with rig(store=store, clock=clock) as r:
            await r.enqueue([new_event(n) for n in range(30)])
            dead = await store.lease_batch(worker_id="killed", now_s=clock(), lease_s=60)
            assert dead is not None and len(dead.events) == 30
            clock.advance(30)
            assert await r.worker.run_once() == 0  # still leased to the dead worker
            clock.advance(31)
            await settle_all(r)
            counts = by_event_id(await r.recorded())
            assert len(counts) == 30 and set(counts.values()) == {1}
            assert {e.lease_owner for e in await r.events()} == {"w1"}
    finally:
        await store.close()


def test_two_worker_processes_share_one_database_without_duplicates(tmp_path: Path) -> None:
    """Two `capigate worker` processes drain one PostgreSQL outbox; each event arrives once."""
    with pg_schema() as (url, _), serving(create_app()) as graph:
        asyncio.run(_migrate(url))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAPIGATE_")},
            "CAPIGATE_DB": url,
            "CAPIGATE_GRAPH_URL": graph,
            "CAPIGATE_PIXEL_ID": PIXEL,
            "CAPIGATE_WORKER_BATCH_SIZE": "50",
            "CAPIGATE_WORKER_FLUSH_INTERVAL_S": "0",
            "CAPIGATE_WORKER_POLL_INTERVAL_S": "0.02",
        }
        command = [sys.executable, "-m", "capigate", "worker"]
        logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(2)]
        workers = [subprocess.Popen(command, env=env, stdout=log, stderr=log) for log in logs]
        try:
            deadline = time.monotonic() + DEADLINE_S
            # Both workers are up (their banner comes after their SIGTERM handler) before any
            # event is queued, so both get a share and both stop cleanly, however loaded the
            # machine is.
            for i in range(2):
                while b"capigate worker" not in (tmp_path / f"worker{i}.log").read_bytes():
                    assert time.monotonic() < deadline, "a worker did not start in time"
                    assert workers[i].poll() is None, (tmp_path / f"worker{i}.log").read_text()
                    time.sleep(0.05)
            asyncio.run(_seed(url, 3000))
            while len(_recorded(graph)) < 3000:
                assert time.monotonic() < deadline, "the workers did not deliver in time"
                assert all(w.poll() is None for w in workers), (
                    tmp_path / "worker0.log"
                ).read_text()
                time.sleep(0.1)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                assert worker.wait(timeout=30) == 0
            for log in logs:
                log.close()
        counts = by_event_id(_recorded(graph))
        assert len(counts) == 3000 and set(counts.values()) == {1}
        owners = asyncio.run(_owners(url))
        assert len(owners) == 2  # both processes delivered a share


def _recorded(graph: str) -> list[dict[str, object]]:
    events: list[dict[str, object]] = httpx.get(f"{graph}/__emulator__/events", timeout=10).json()[
        "events"
    ]
    return events


async def _migrate(url: str) -> None:
    store = open_store(url)
    try:
        await store.migrate()
    finally:
        await store.close()


async def _seed(url: str, count: int) -> None:
    store = open_store(url)
    try:
        await store.migrate()
        now = time.time()
        events = [new_event(n, payload=wire_event(n, now - 60)) for n in range(count)]
        for start in range(0, count, 1000):
            await store.enqueue(events[start : start + 1000], now_s=now)
    finally:
        await store.close()


async def _owners(url: str) -> set[str | None]:
    store = open_store(url)
    try:
        delivered = await store.list_events(status=Status.DELIVERED.value, limit=10_000)
        return {e.lease_owner for e in delivered}
    finally:
        await store.close()
