"""Delivery benchmark: the worker's batches against one event per request through Meta's SDK.

    make bench-delivery     # or: .venv/bin/python scripts/bench_delivery.py [--events 200000]

Setup, on loopback, in one run:

* the emulator runs as its own process (``capigate emulator --port N`` under uvicorn), so its
  CPU is not counted in the sender's process; on a 2-core machine each side gets a core;
* ``--events`` events (default 200,000) are enqueued directly into a temporary SQLite store
  (the default store, default durability ``synchronous=full``; ``--synchronous normal`` is the
  store's documented faster option), in batches of 1,000. Their payloads are what the
  gateway stores: each person's user_data went through ``capigate.pipeline.prepare``
  (normalized, SHA-256 hashed), with IP, user agent, fbp and fbc, and custom_data by event;
* capigate: the real ``DeliveryWorker`` with its default settings (batches of up to 1,000,
  flush interval 1 s, 2 batches in flight; ``--concurrency`` changes the last) delivers them
  over real HTTP (httpx) until every event is acknowledged. Timed from its start to the last
  acknowledgement;
* baseline: the emulator's record is cleared, then a sample of ``--sdk-sample`` of the same
  events (default 5,000) is sent one per request through ``facebook-business``'s
  ``EventRequest`` with a custom ``HttpServiceInterface`` (a keep-alive ``requests`` session)
  that rewrites the SDK's ``https://graph.facebook.com`` URL to the emulator. ``execute()`` is
  synchronous, so the baseline is sequential on one connection, as the SDK is used. Its rate
  is measured on the sample and extrapolated to all events, and the output says so.

Prints a table (events/s, Graph requests per 1,000 events, CPU of each process), the worker
process's CPU by thread (the event loop, the SQLite writer and reader), the CPU each process
and thread spent per delivered event, and whether the targets hold: at least 20,000 events/s
delivered and at least 20x the baseline. ``--profile`` runs the worker phase under cProfile,
which sees the event loop's thread only (the SQLite threads show in the CPU-by-thread line).
Wall-clock figures move with whatever else the machine runs; the CPU columns hardly do.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import requests
from rich.console import Console
from rich.table import Table

from capigate.meta.client import MetaClient
from capigate.pipeline import PipelineOptions, prepare
from capigate.secret import Secret
from capigate.store import NewEvent, Store, open_store
from capigate.worker.config import WorkerSettings
from capigate.worker.loop import DeliveryWorker
from capigate.worker.service import HTTP_LIMITS

PIXEL = "1234567890"
TOKEN = "EAAB-bench-token"
SEED = 20251122
ENQUEUE_BATCH = 1_000
TARGET_EVENTS_S = 20_000
TARGET_RATIO = 20.0
DELIVERY_TIMEOUT_S = 180.0
STARTUP_TIMEOUT_S = 20.0
EVENTS_PER_USER = 10
WIDE_COLUMNS = 150
CLOCK_TICKS_S = os.sysconf("SC_CLK_TCK")
OPTIONS = PipelineOptions(default_region="UZ")

FIRST = ("Aziz", "Dilnoza", "Jasur", "Malika", "Анна", "Дмитрий", "José", "Zoë", "Mary", "John")
LAST = ("Karimov", "Yusupova", "Иванов", "Петрова", "García", "Smith", "Müller", "Ким")
CITIES = (("Tashkent", "uz"), ("Samarqand", "uz"), ("Almaty", "kz"), ("Berlin", "de"))
AGENTS = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
)
KINDS = ("ViewContent", "Lead", "CompleteRegistration", "Subscribe", "Purchase")


# --- the events -------------------------------------------------------------------------


def person(rng: random.Random, n: int, now_s: float) -> dict[str, Any]:
    """One person's hashed user_data, prepared by the gateway's own pipeline."""
    city, country = rng.choice(CITIES)
    raw = {
        "em": f"user{n}@example.com",
        "ph": f"+998 9{rng.randrange(10)} {rng.randrange(10**7):07d}",
        "fn": rng.choice(FIRST),
        "ln": rng.choice(LAST),
        "ct": city,
        "country": country,
        "external_id": f"tg-{5_000_000_000 + n}",
        "client_ip_address": f"203.0.113.{rng.randrange(1, 255)}",
        "client_user_agent": rng.choice(AGENTS),
        "fbp": f"fb.1.{int(now_s * 1000) - rng.randrange(10**8)}.{rng.randrange(10**9, 10**10)}",
        "fbc": f"fb.1.{int(now_s * 1000) - rng.randrange(10**8)}.IwAR{rng.getrandbits(96):x}",
    }
    event = {
        "event_name": "Lead",
        "event_time": int(now_s),
        "action_source": "website",
        "event_source_url": "https://example.com/budget",
        "user_data": raw,
    }
    prepared = prepare(event, now_s=now_s, options=OPTIONS)
    assert prepared.ok, prepared.findings
    return {"user_data": prepared.payload["user_data"], "score": prepared.quality.score}


def custom_data(rng: random.Random, kind: str) -> dict[str, Any] | None:
    """What each kind of event carries besides the user."""
    if kind == "Purchase":
        price = round(rng.uniform(2, 90), 2)
        item = {"id": f"sku-{rng.randrange(500)}", "quantity": 1, "item_price": price}
        return {"value": price, "currency": "USD", "contents": [item], "content_type": "product"}
    if kind == "Subscribe":
        return {"value": 49000, "currency": "UZS", "subscription_plan": "monthly"}
    if kind == "CompleteRegistration":
        return {"status": "capital"}
    return None


def generate(count: int, users: int, now_s: float) -> list[NewEvent]:
    """``count`` outbox events from ``users`` people, all inside Meta's 7-day window."""
    rng = random.Random(SEED)
    people = [person(rng, n, now_s) for n in range(users)]
    events = []
    for n in range(count):
        who = people[rng.randrange(users)]
        kind = KINDS[n % len(KINDS)]
        payload: dict[str, Any] = {
            "event_name": kind,
            "event_time": int(now_s) - rng.randrange(2 * 86_400),
            "event_id": f"bench-{n}",
            "action_source": "website",
            "event_source_url": "https://example.com/budget",
            "user_data": who["user_data"],
        }
        extra = custom_data(rng, kind)
        if extra is not None:
            payload["custom_data"] = extra
        events.append(_new_event(payload, who["score"]))
    return events


def _new_event(payload: dict[str, Any], score: int) -> NewEvent:
    return NewEvent(
        pixel_id=PIXEL,
        event_name=payload["event_name"],
        event_id=payload["event_id"],
        event_time=payload["event_time"],
        action_source="website",
        source="bench",
        plan_key=None,
        test_event_code=None,
        payload=payload,
        match_score=score,
    )


async def enqueue(store: Store, events: Sequence[NewEvent]) -> float:
    """Store the events in batches; returns the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(events), ENQUEUE_BATCH):
        batch = events[start : start + ENQUEUE_BATCH]
        results = await store.enqueue(batch, now_s=time.time() - 5)
        assert all(r.status == "queued" for r in results)
    return time.perf_counter() - started


# --- the emulator process ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "capigate", "emulator", "--port", str(port), "--seed", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/__emulator__/faults", timeout=1).raise_for_status()
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the emulator did not start")


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    return _cpu_in(f"/proc/{pid}/stat")


def thread_cpu() -> dict[str, float]:
    """CPU seconds each thread of this process has used, by thread name, from /proc."""
    found: dict[str, float] = {}
    for thread in threading.enumerate():
        try:
            found[thread.name] = _cpu_in(f"/proc/self/task/{thread.native_id}/stat")
        except FileNotFoundError:
            continue
    return found


def _cpu_in(stat_path: str) -> float:
    with open(stat_path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_S


def emulator_log(base_url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(f"{base_url}/__emulator__/requests").json()[
        "requests"
    ]
    return entries


# --- the two contenders -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    """One contender's run: events sent and acknowledged, requests, times, CPU."""

    name: str
    events: int
    delivered: int
    requests: int
    wall_s: float
    client_cpu_s: float
    emulator_cpu_s: float
    threads: tuple[tuple[str, float], ...] = ()  # the sender's CPU seconds by thread

    @property
    def rate(self) -> float:
        return self.delivered / self.wall_s

    @property
    def per_thousand(self) -> float:
        return 1000 * self.requests / self.events


async def run_worker(
    store: Store, base_url: str, count: int, emulator_pid: int, settings: WorkerSettings
) -> Phase:
    """The real worker until every event is acknowledged."""
    async with httpx.AsyncClient(limits=HTTP_LIMITS) as http:
        client = MetaClient(http, access_token=Secret(TOKEN), graph_url=base_url)
        worker = DeliveryWorker(store, {PIXEL: client}, settings=settings)
        cpu, emulator_cpu, threads = time.process_time(), cpu_of(emulator_pid), thread_cpu()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run())
        deadline = started + DELIVERY_TIMEOUT_S
        # The worker has no "all done" signal; a 5 ms look at its counters costs nothing.
        while _settled(worker) < count and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        wall_s = time.perf_counter() - started
        used = {name: s - threads.get(name, 0.0) for name, s in thread_cpu().items()}
        worker.stop()
        await task
    log = emulator_log(base_url)
    return Phase(
        name=f"capigate DeliveryWorker ({settings.concurrency} batches of up to 1,000 in flight)",
        events=count,
        delivered=worker.counters.total("delivered"),
        requests=len(log),
        wall_s=wall_s,
        client_cpu_s=time.process_time() - cpu,
        emulator_cpu_s=cpu_of(emulator_pid) - emulator_cpu,
        threads=tuple(sorted(used.items(), key=lambda item: -item[1])),
    )


def _settled(worker: DeliveryWorker) -> int:
    return sum(worker.counters.total(result) for result in ("delivered", "dead", "expired"))


def run_sdk(payloads: Sequence[dict[str, Any]], base_url: str, emulator_pid: int) -> Phase:
    """``EventRequest(...).execute()`` once per event, sequentially, through the emulator."""
    from facebook_business.adobjects.serverside.event_request import EventRequest

    http_client = emulator_http_client(base_url)
    build = sdk_event_builder()
    cpu, emulator_cpu = time.process_time(), cpu_of(emulator_pid)
    started = time.perf_counter()
    delivered = 0
    for payload in payloads:
        request = EventRequest(
            pixel_id=PIXEL, access_token=TOKEN, events=[build(payload)], http_client=http_client
        )
        delivered += request.execute().events_received
    wall_s = time.perf_counter() - started
    return Phase(
        name="facebook-business EventRequest, one event per request",
        events=len(payloads),
        delivered=delivered,
        requests=len(emulator_log(base_url)),
        wall_s=wall_s,
        client_cpu_s=time.process_time() - cpu,
        emulator_cpu_s=cpu_of(emulator_pid) - emulator_cpu,
    )


def emulator_http_client(base_url: str) -> Any:
    """An SDK ``HttpServiceInterface`` that posts to the emulator instead of graph.facebook.com.

    It encodes the parameters as the SDK's own ``FacebookAdsApi`` does (form fields, JSON for
    lists and objects) and keeps one connection alive.
    """
    from facebook_business.adobjects.serverside.event_response import EventResponse
    from facebook_business.adobjects.serverside.http_service_interface import (
        HttpServiceInterface,
    )
    from facebook_business.session import FacebookSession

    class EmulatorHttpClient(HttpServiceInterface):  # type: ignore[misc]
        def __init__(self) -> None:
            self.session = requests.Session()

        def execute(
            self, url: str, method: str, request_options: Any, headers: Any, params: Any
        ) -> EventResponse:
            del request_options
            target = url.replace(FacebookSession.GRAPH, base_url, 1)
            form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
            response = self.session.request(method, target, data=form, headers=headers)
            response.raise_for_status()
            body = response.json()
            return EventResponse(
                events_received=body["events_received"],
                messages=body["messages"],
                fbtrace_id=body["fbtrace_id"],
            )

    return EmulatorHttpClient()


def listed(value: Any) -> list[str] | None:
    """The SDK takes lists; the wire has a string where the event has one value."""
    if value is None:
        return None
    return list(value) if isinstance(value, list) else [value]


def sdk_event_builder() -> Callable[[dict[str, Any]], Any]:
    """Builds the SDK's ``Event`` from a stored wire payload (hashes pass through unchanged)."""
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.content import Content
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.user_data import UserData

    def build(payload: dict[str, Any]) -> Any:
        user = payload["user_data"]
        user_data = UserData(
            emails=listed(user.get("em")),
            phones=listed(user.get("ph")),
            first_names=listed(user.get("fn")),
            last_names=listed(user.get("ln")),
            cities=listed(user.get("ct")),
            country_codes=listed(user.get("country")),
            external_ids=listed(user.get("external_id")),
            client_ip_address=user.get("client_ip_address"),
            client_user_agent=user.get("client_user_agent"),
            fbc=user.get("fbc"),
            fbp=user.get("fbp"),
        )
        custom = payload.get("custom_data") or {}
        contents = [
            Content(product_id=c["id"], quantity=c["quantity"], item_price=c["item_price"])
            for c in custom.get("contents", ())
        ]
        standard = {"value", "currency", "contents", "content_type", "status"}
        custom_data = CustomData(
            value=custom.get("value"),
            currency=custom.get("currency"),
            contents=contents or None,
            content_type=custom.get("content_type"),
            status=custom.get("status"),
            custom_properties={k: v for k, v in custom.items() if k not in standard},
        )
        return Event(
            event_name=payload["event_name"],
            event_time=payload["event_time"],
            event_id=payload["event_id"],
            event_source_url=payload["event_source_url"],
            action_source=ActionSource.WEBSITE,
            user_data=user_data,
            custom_data=custom_data,
        )

    return build


# --- the run ----------------------------------------------------------------------------


async def worker_phase(
    events: list[NewEvent],
    base_url: str,
    emulator_pid: int,
    console: Console,
    *,
    settings: WorkerSettings,
    synchronous: str,
    profile: bool,
) -> Phase:
    with tempfile.TemporaryDirectory(prefix="capigate-bench-delivery-") as folder:
        store = open_store(f"sqlite:///{folder}/bench.db?synchronous={synchronous}")
        try:
            await store.migrate()
            enqueue_s = await enqueue(store, events)
            console.print(
                f"enqueued {len(events):,} events into SQLite (synchronous={synchronous}) "
                f"in {enqueue_s:.1f} s"
            )
            run = run_worker(store, base_url, len(events), emulator_pid, settings)
            if not profile:
                return await run
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                return await run
            finally:
                profiler.disable()
                print_profile(profiler, console)
        finally:
            await store.close()


def print_profile(profiler: cProfile.Profile, console: Console) -> None:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(30)
    console.print(stream.getvalue(), highlight=False)


def check_record(phase: Phase, base_url: str) -> str:
    """What the emulator accepted, from its request log."""
    log = emulator_log(base_url)
    accepted = sum(entry["events"] or 0 for entry in log if entry["status"] == 200)
    refused = sum(1 for entry in log if entry["status"] != 200)
    return f"{phase.name}: emulator accepted {accepted:,} events, refused {refused} requests"


def report(worker: Phase, sdk: Phase, total: int, console: Console) -> None:
    table = Table(title=f"delivery to the emulator over loopback HTTP, {total:,} queued events")
    for column in (
        "contender", "events", "Graph requests", "requests / 1,000 events", "wall s",
        "events/s", "sender CPU s", "emulator CPU s",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "contender" else "right")
    for phase in (worker, sdk):
        table.add_row(
            phase.name,
            f"{phase.delivered:,}",
            f"{phase.requests:,}",
            f"{phase.per_thousand:,.1f}",
            f"{phase.wall_s:.2f}",
            f"{phase.rate:,.0f}",
            f"{phase.client_cpu_s:.2f}",
            f"{phase.emulator_cpu_s:.2f}",
        )
    console.print(table)
    by_thread = ", ".join(f"{name} {seconds:.2f}" for name, seconds in worker.threads if seconds)
    console.print(f"worker process CPU s by thread: {by_thread}")
    console.print(cpu_per_event(worker))
    extrapolated_s = total / sdk.rate
    console.print(
        f"The SDK baseline was measured on a sample of {sdk.events:,} of the same events "
        "(sequential on one keep-alive connection: EventRequest.execute() is synchronous); "
        f"all {total:,} at its rate would take {extrapolated_s:,.0f} s (extrapolated, not "
        "measured)."
    )
    ratio = worker.rate / sdk.rate
    verdict(console, f"worker delivered {worker.rate:,.0f} events/s", worker.rate, TARGET_EVENTS_S)
    verdict(console, f"worker / SDK = {ratio:.1f}x", ratio, TARGET_RATIO, unit="x")


def cpu_per_event(phase: Phase) -> str:
    """CPU microseconds per delivered event, each process and thread apart.

    Steadier than events/s on a shared machine: other processes take wall time, not CPU.
    """
    per_event_us = 1e6 / max(phase.delivered, 1)
    threads = ", ".join(
        f"{name} {seconds * per_event_us:.1f}" for name, seconds in phase.threads if seconds
    )
    total_us = (phase.client_cpu_s + phase.emulator_cpu_s) * per_event_us
    return (
        f"CPU per delivered event: worker {phase.client_cpu_s * per_event_us:.1f} us "
        f"({threads}), emulator {phase.emulator_cpu_s * per_event_us:.1f} us, "
        f"both {total_us:.1f} us"
    )


def verdict(console: Console, text: str, value: float, target: float, unit: str = "") -> None:
    met = "[green]met[/]" if value >= target else "[red]missed[/]"
    console.print(f"{text} (target >= {target:,g}{unit}): {met}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events to deliver")
    parser.add_argument("--sdk-sample", type=int, default=5_000, help="events for the baseline")
    parser.add_argument("--profile", action="store_true", help="cProfile the worker phase")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=WorkerSettings().concurrency,
        help="batches in flight (worker.concurrency; default: the worker's default)",
    )
    parser.add_argument(
        "--synchronous",
        choices=("full", "normal"),
        default="full",
        help="SQLite durability (the store's default: full)",
    )
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: keep the table's rows on one line each
        console = Console(width=max(console.width, WIDE_COLUMNS))
    now_s = time.time()
    started = time.perf_counter()
    events = generate(args.events, max(1, args.events // EVENTS_PER_USER), now_s)
    console.print(f"generated {len(events):,} events in {time.perf_counter() - started:.1f} s")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    emulator = start_emulator(port)
    try:
        settings = WorkerSettings(concurrency=args.concurrency)
        phase = worker_phase(
            events,
            base_url,
            emulator.pid,
            console,
            settings=settings,
            synchronous=args.synchronous,
            profile=args.profile,
        )
        worker = asyncio.run(phase)
        console.print(check_record(worker, base_url))
        httpx.delete(f"{base_url}/__emulator__/events").raise_for_status()
        sample = [e.payload for e in events[: args.sdk_sample]]
        sdk = run_sdk(sample, base_url, emulator.pid)
        console.print(check_record(sdk, base_url))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    report(worker, sdk, len(events), console)
    console.print(f"total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
