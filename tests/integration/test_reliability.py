"""Reliability (issue 4 item 8): outage, rate-limit storm, poison event, kill -9 mid-delivery.

The first three run the worker in-process against the emulator over real HTTP (uvicorn on a
loopback port), both on one frozen clock that the test moves to each next due moment: no test
sleeps to let time pass. The last one runs ``capigate serve`` and ``capigate emulator`` as
processes on the real clock and kills the gateway with SIGKILL in the middle of delivery.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from capigate.clock import FrozenClock
from capigate.emulator import create_app
from capigate.store import Status, StoredEvent
from tests.integration.gateway_proc import BOT_KEY, INGEST, bearer, bot_event, serve
from tests.worker_kit import (
    FAST,
    NOW_S,
    Rig,
    by_event_id,
    free_port,
    new_event,
    poison_event,
    rig,
    serving,
    settle_all,
)

DEADLINE_S = 90.0  # the kill -9 test gives up (fails) after this long


async def _requests(r: Rig) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = (await r.http.get(f"{r.graph}/__emulator__/requests")).json()[
        "requests"
    ]
    return log


async def _delivered_once(r: Rig, count: int) -> None:
    """Every event delivered, each recorded by the emulator exactly once."""
    assert {e.status for e in await r.events()} == {Status.DELIVERED}
    counts = by_event_id(await r.recorded())
    assert len(counts) == count and set(counts.values()) == {1}


@contextmanager
def _emulator_on(clock: FrozenClock) -> Iterator[str]:
    with serving(create_app(clock=clock, rng=random.Random(11))) as url:
        yield url


async def test_an_outage_ends_with_everything_delivered_after_recovery() -> None:
    """Five minutes of HTTP 500 (code 2): batches back off, then all 300 events land once."""
    clock = FrozenClock(NOW_S)
    settings = dataclasses.replace(FAST, batch_size=100)
    with _emulator_on(clock) as graph:
        async with rig(graph=graph, clock=clock, settings=settings) as r:
            outage = {"duration_s": 300, "code": 2, "status": 500, "usage_header": False}
            await r.fault(throttle=outage)
            await r.enqueue([new_event(n) for n in range(300)])
            await settle_all(r)
            await _delivered_once(r, 300)
            log = await _requests(r)
            failed = [q for q in log if q["status"] == 500]
            first_ok = min(q["received_at"] for q in log if q["status"] == 200)
            assert failed and first_ok >= NOW_S + 300
            assert len(failed) <= 3 * 10  # backoff: a few attempts per batch, no busy loop
            assert not await r.events(Status.DEAD)


@pytest.mark.parametrize(
    ("storm", "ends_after_s"),
    [
        ({"throttle": {"duration_s": 600, "code": 80004}}, 600),
        (
            {"throttle": {"duration_s": 300, "code": 4, "usage_header": False,
                          "retry_after_header": True}},
            300,
        ),
        ({"count": 6, "code": 613, "status": 429, "retry_after_s": 90}, 90),
    ],
    ids=["80004-usage-header", "4-retry-after", "613-http-429"],
)  # fmt: skip
async def test_a_rate_limit_storm_backs_off_then_delivers_everything(
    storm: dict[str, Any], ends_after_s: float
) -> None:
    """Throttled batches wait for Meta's hint (usage header, Retry-After), then all land once."""
    clock = FrozenClock(NOW_S)
    settings = dataclasses.replace(FAST, batch_size=100)
    with _emulator_on(clock) as graph:
        async with rig(graph=graph, clock=clock, settings=settings) as r:
            await r.fault(**storm)
            await r.enqueue([new_event(n) for n in range(500)])
            await settle_all(r)
            await _delivered_once(r, 500)
            log = await _requests(r)
            throttled = [q for q in log if q["status"] != 200]
            assert throttled and len(throttled) <= 2 * 5  # each batch waits; no hammering
            first_ok = min(q["received_at"] for q in log if q["status"] == 200)
            assert first_ok >= NOW_S + ends_after_s


async def test_one_poison_event_in_a_batch_of_1000() -> None:
    """999 delivered once, 1 dead-lettered with Meta's subcode, in at most 21 requests."""
    clock = FrozenClock(NOW_S)
    with _emulator_on(clock) as graph:
        async with rig(graph=graph, clock=clock) as r:
            events = [new_event(n) for n in range(1000)]
            events[423] = new_event(423, payload=poison_event(423, NOW_S - 60))
            await r.enqueue(events)
            await settle_all(r)
            [dead] = await r.events(Status.DEAD)
            assert dead.event_id == "lead-423" and dead.last_error is not None
            assert (dead.last_error["code"], dead.last_error["subcode"]) == (100, 2804009)
            assert dead.last_error["fbtrace_id"]
            assert len(await r.events(Status.DELIVERED)) == 999
            counts = by_event_id(await r.recorded())
            assert len(counts) == 999 and set(counts.values()) == {1}
            assert len(await _requests(r)) <= 1 + 2 * math.ceil(math.log2(1000))


# --- kill -9 of the gateway during delivery -------------------------------------------------


@contextmanager
def _emulator_process(workdir: Path) -> Iterator[str]:
    """``capigate emulator`` as a process on a free port; its URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAPIGATE_")}
    log = (workdir / "emulator.log").open("wb")
    command = [sys.executable, "-m", "capigate", "emulator", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: _answers(f"{url}/__emulator__/events"), "the emulator to start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_for(condition: Any, what: str, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _recorded_ids(graph: str) -> set[str]:
    events = httpx.get(f"{graph}/__emulator__/events", timeout=5).json()["events"]
    return {str(e["event_id"]) for e in events}


@pytest.mark.slow
def test_kill_9_during_delivery_loses_no_accepted_event(tmp_path: Path) -> None:
    """SIGKILL mid-delivery, restart: every accepted event reaches the emulator, none lost."""
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    with _emulator_process(tmp_path) as graph:
        slow = httpx.post(f"{graph}/__emulator__/faults", json={"count": 10**6, "delay_s": 0.2})
        assert slow.status_code == 200
        env = {
            "CAPIGATE_GRAPH_URL": graph,
            "CAPIGATE_WORKER_BATCH_SIZE": "10",
            "CAPIGATE_WORKER_CONCURRENCY": "1",
            "CAPIGATE_WORKER_LEASE_S": "5",
            "CAPIGATE_WORKER_FLUSH_INTERVAL_S": "0.1",
            "CAPIGATE_WORKER_POLL_INTERVAL_S": "0.05",
        }
        accepted: set[str] = set()
        with serve(db_url, tmp_path, **env) as gateway, gateway.client() as client:
            for chunk in range(20):
                batch = [bot_event(f"{chunk * 10 + i + 1}") for i in range(10)]
                response = client.post(INGEST, json={"batch": batch}, headers=bearer(BOT_KEY))
                assert response.status_code == 202, response.text
                accepted |= {r["event_id"] for r in response.json()["results"]}
            _wait_for(lambda: len(_recorded_ids(graph)) >= 30, "delivery to start")
            os.kill(gateway.process.pid, signal.SIGKILL)
            gateway.process.wait(timeout=10)
            left = [e for e in gateway.stored() if e.status is not Status.DELIVERED]
            assert left, "the gateway finished before it was killed; nothing was tested"
            assert len(left) < len(accepted), "the gateway was killed before delivering any"
        assert len(accepted) == 200
        with serve(db_url, tmp_path, **env) as restarted:
            _wait_for(lambda: _recorded_ids(graph) >= accepted, "every accepted event")
            _wait_for(lambda: _all_delivered(restarted.stored()), "every event acknowledged")
            stored = restarted.stored()
    assert {e.event_id for e in stored} == accepted


def _all_delivered(stored: list[StoredEvent]) -> bool:
    return {e.status for e in stored} == {Status.DELIVERED}
