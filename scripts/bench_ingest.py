"""Ingest benchmark: the gateway on SQLite against a bare FastAPI JSON endpoint (the floor).

Run by ``make bench-ingest``. Three processes on loopback: the gateway (``capigate serve`` on a
temporary SQLite file), the floor (FastAPI under uvicorn that only parses the JSON body), and
a load generator (a minimal keep-alive HTTP/1.1 client on asyncio, so that the client is not
the bottleneck). Phases: single-event POSTs, 100-event batches, then 1,000,000 events queued
in 1,000-event batches to measure the gateway's resident memory. Floor and gateway take turns
within each phase (``--rounds``), so that both see the same load from other processes. Prints
events/s, p50/p99 latency, the ratio to the floor, RSS, and whether each target is met.
``scripts/profile_ingest.py`` shows where the gateway's CPU goes.

    python scripts/bench_ingest.py [--duration 8] [--rounds 2] [--concurrency 16] [--fill N]
                                   [--random-ids]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

INGEST_PATH = "/api/marketing/meta"
BENCH_KEY = "sk_bench_0123456789abcdef"
TARGET_SINGLE_RATIO = 0.5
TARGET_SINGLE_P99_MS = 25.0
TARGET_BATCH_EVENTS_S = 20_000
TARGET_RSS_MB = 300.0
FILL_BATCH = 1_000
STARTUP_TIMEOUT_S = 30.0
DEPTH_SETTLE_S = 6.0

CONFIG = f"""
max_body_bytes: 4000000
outbox_high_water: 100000000
log_level: WARNING
sources:
  - name: bench
    kind: server
    channel: website
    key_env: BENCH_KEY
# key: {BENCH_KEY[:3]}... (set through the environment)
"""


# --- the events -------------------------------------------------------------------------


def event(tag: str, n: int, now_s: int) -> dict[str, Any]:
    """A realistic landing-page event: PII to hash, IP, UA, cookies, UTM properties."""
    return {
        "event": "cta_click",
        "event_id": f"{tag}-{n}",
        "event_time": now_s - 5,
        "user": {
            "email": f"user{n}@example.com",
            "phone": f"+99890{n % 10_000_000:07d}",
            "first_name": "Alice",
            "ip": "93.184.216.34",  # public: no client_ip_not_public warning
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
            "fbp": "fb.1.1596403881668.1116446470",
        },
        "properties": {"button_id": "open_tg", "utm_source": "fb", "utm_campaign": "nov"},
        "context": {"session_id": f"s-{n}", "page_url": "https://example.com/lp?utm_source=fb"},
    }


class Bodies:
    """Unique request bodies: one event, or a batch of ``size`` events; ``random_ids`` gives each
    event a ``uuid4`` id (as many clients send) instead of the tag and a counter."""

    def __init__(self, tag: str, size: int, random_ids: bool = False) -> None:
        self.tag, self.size, self.n = tag, size, 0
        self.now_s = int(time.time())
        self.random_ids = random_ids

    def next(self) -> bytes:
        events = [event(self.tag, self.n + i, self.now_s) for i in range(self.size)]
        if self.random_ids:
            for one in events:
                one["event_id"] = uuid.uuid4().hex
        self.n += self.size
        body = events[0] if self.size == 1 else {"batch": events}
        return json.dumps(body, separators=(",", ":")).encode()


# --- the load generator (runs in its own process) ---------------------------------------


async def _one_connection(
    port: int, bodies: Bodies, key: str, deadline: float, out: dict[str, Any] | None
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {INGEST_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\n"
    ).encode()
    while time.perf_counter() < deadline:
        body = bodies.next()
        request = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        started = time.perf_counter()
        writer.write(request)
        status_line = await reader.readuntil(b"\r\n")
        headers = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in headers.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        if out is not None:
            out["latencies"].append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            out["statuses"][status] = out["statuses"].get(status, 0) + 1
    writer.close()


async def _load(
    port: int, batch: int, concurrency: int, duration_s: float, tag: str, *, random_ids: bool
) -> dict[str, Any]:
    key = os.environ.get("BENCH_KEY", BENCH_KEY)
    warm_deadline = time.perf_counter() + 1.0
    warm: dict[str, Any] = {"latencies": [], "statuses": {}}
    await asyncio.gather(
        *(
            _one_connection(port, Bodies(f"{tag}w{c}", batch, random_ids), key, warm_deadline, warm)
            for c in range(concurrency)
        )
    )
    out: dict[str, Any] = {"latencies": [], "statuses": {}}
    started = time.perf_counter()
    deadline = started + duration_s
    await asyncio.gather(
        *(
            _one_connection(port, Bodies(f"{tag}c{c}", batch, random_ids), key, deadline, out)
            for c in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    statuses = {str(k): v for k, v in out["statuses"].items()}
    return {**summary(out["latencies"], elapsed, batch, statuses), "warm": len(warm["latencies"])}


def summary(
    latencies: list[float], elapsed: float, batch: int, statuses: dict[str, int]
) -> dict[str, Any]:
    """Rates and latency percentiles of one or more runs (``latencies`` in seconds)."""
    ordered = sorted(latencies)
    requests = len(ordered)
    return {
        "requests_s": requests / elapsed,
        "events_s": requests * batch / elapsed,
        "p50_ms": 1000 * ordered[requests // 2] if requests else None,
        "p99_ms": 1000 * ordered[min(requests - 1, int(requests * 0.99))] if requests else None,
        "statuses": statuses,
        "requests": requests,
        "elapsed": elapsed,
        "latencies": ordered,
    }


def combined(reports: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """One report for several runs against the same server; ``cpu_us`` is the server's CPU
    time per event (every thread, warm-up requests counted), when the runs measured it."""
    statuses: dict[str, int] = {}
    for report in reports:
        for status, count in report["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    latencies = [latency for report in reports for latency in report["latencies"]]
    total = summary(latencies, sum(r["elapsed"] for r in reports), batch, statuses)
    served = sum(r["requests"] + r.get("warm", 0) for r in reports) * batch
    if served and all("cpu_s" in r for r in reports):
        total["cpu_us"] = 1e6 * sum(r["cpu_s"] for r in reports) / served
    return total


def alternating(
    servers: dict[str, tuple[int, int]],
    batch: int,
    concurrency: int,
    args: argparse.Namespace,
    tag: str,
) -> dict[str, dict[str, Any]]:
    """Drive each server (name: (port, pid)) in turn, ``args.rounds`` times, so that all see
    the same machine load (other processes come and go); returns one combined report per
    server, with the CPU time the server spent, which other load changes far less than rates."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
    for round_ in range(args.rounds):
        for name, (port, pid) in servers.items():
            before = cpu_s(pid)
            duration_s, round_tag = args.duration / args.rounds, f"{tag}{round_}"
            run = run_load(
                port, batch, concurrency, duration_s, round_tag, random_ids=args.random_ids
            )
            runs[name].append({**run, "cpu_s": cpu_s(pid) - before})
    return {name: combined(reports, batch) for name, reports in runs.items()}


def run_load(
    port: int,
    batch: int,
    concurrency: int,
    duration_s: float,
    tag: str,
    *,
    random_ids: bool = False,
) -> dict[str, Any]:
    """Drive ``port`` from a separate process; returns its JSON report (written to a file, so
    that nothing else the process prints can mix into it)."""
    with tempfile.TemporaryDirectory(prefix="capigate-load-") as tmp:
        out = Path(tmp, "report.json")
        command = [
            sys.executable, __file__, "load", "--port", str(port), "--batch", str(batch),
            "--concurrency", str(concurrency), "--duration", str(duration_s), "--tag", tag,
            "--out", str(out), *(["--random-ids"] if random_ids else []),
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, check=True)
        return dict(json.loads(out.read_bytes()))


# --- the floor: FastAPI that only parses JSON --------------------------------------------


async def floor_ingest(request: Request) -> Response:
    """Parse the JSON body and answer 202: the least any JSON endpoint must do."""
    orjson.loads(await request.body())
    return Response(b'{"results":[]}', status_code=202, media_type="application/json")


def floor_app() -> FastAPI:
    app = FastAPI()
    app.add_api_route(INGEST_PATH, floor_ingest, methods=["POST"])
    return app


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- pre-filling the outbox (for the memory measurement) ----------------------------------


async def _prefill(db_url: str, total: int) -> None:
    """Store ``total`` hashed events straight through the store, as ingest would."""
    from capigate.pipeline import prepare
    from capigate.plan.load import default_plan
    from capigate.plan.mapping import to_meta_event
    from capigate.plan.model import ACTION_SOURCES, SourceInfo
    from capigate.store import NewEvent, open_store

    now_s = int(time.time())
    source = SourceInfo("bench", "website", ACTION_SOURCES)
    mapped = to_meta_event(event("pre", 0, now_s), default_plan(), source=source, now_s=now_s)
    payload = prepare(mapped.event, now_s=now_s).payload
    store = open_store(db_url)
    try:
        for first in range(0, total, FILL_BATCH):
            batch = [
                NewEvent(
                    pixel_id="100000000000001",
                    event_name="Lead",
                    event_id=f"pre-{n}",
                    event_time=now_s,
                    action_source="website",
                    source="bench",
                    plan_key="cta_click",
                    test_event_code=None,
                    payload={**payload, "event_id": f"pre-{n}"},
                    match_score=7,
                )
                for n in range(first, min(total, first + FILL_BATCH))
            ]
            await store.enqueue(batch, now_s=now_s)
    finally:
        await store.close()


def prefill(db_url: str, total: int) -> float:
    """Run ``_prefill`` in its own process; returns events/s."""
    started = time.perf_counter()
    command = [sys.executable, __file__, "prefill", "--db", db_url, "--fill", str(total)]
    subprocess.run(command, check=True)
    return total / (time.perf_counter() - started)


# --- orchestration ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start in {STARTUP_TIMEOUT_S} s")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory in MB of ``pid`` and its children, from /proc."""
    pids = [pid, *_children(pid)]
    now = peak = 0.0
    for each in pids:
        values = {}
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
        now, peak = now + values["VmRSS"], peak + values["VmHWM"]
    return now, peak


def cpu_s(pid: int) -> float:
    """User and system CPU seconds of ``pid`` (all its threads) and its children, from /proc."""
    total = 0
    for each in (pid, *_children(pid)):
        fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = Path(task, "children").read_text().split()
        for child in map(int, children):
            found += [child, *_children(child)]
    return found


class Servers:
    """The processes of one run; all stopped (by their own pid) on exit."""

    def __init__(self, tmp: str) -> None:
        self.tmp = tmp
        self.config = Path(tmp, "capigate.yaml")
        self.config.write_text(CONFIG)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAPIGATE_")},
            "BENCH_KEY": BENCH_KEY,
            "CAPIGATE_WORKER_ENABLED": "false",  # measure ingest alone; events stay queued
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def gateway(self, db_url: str, workers: int = 1) -> tuple[int, int]:
        port = free_port()
        command = [sys.executable, "-m", "capigate", "serve", "--port", str(port)]
        command += ["--db", db_url, "--config", str(self.config), "--workers", str(workers)]
        return port, self._start(command, port)

    def floor(self) -> tuple[int, int]:
        port = free_port()
        return port, self._start([sys.executable, __file__, "floor", "--port", str(port)], port)

    def _start(self, command: list[str], port: int) -> int:
        process = subprocess.Popen(command, env=self.env, stderr=subprocess.DEVNULL)
        self.processes.append(process)
        wait_up(port, process)
        return process.pid

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)
        self.processes.clear()


def line(name: str, report: dict[str, Any], unit: str = "events/s") -> str:
    rate = report["events_s"]
    cpu = f"   CPU {report['cpu_us']:5.0f} us/event" if "cpu_us" in report else ""
    return (
        f"{name:<36} {rate:>8,.0f} {unit}   p50 {report['p50_ms']:6.2f} ms   "
        f"p99 {report['p99_ms']:6.2f} ms{cpu}   {report['statuses']}"
    )


def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="capigate-bench-") as tmp:
        servers = Servers(tmp)
        try:
            return report(args, servers)
        finally:
            servers.stop()


def report(args: argparse.Namespace, servers: Servers) -> int:
    c, d = args.concurrency, args.duration
    load = os.getloadavg()[0]
    print(
        f"capigate ingest benchmark: {os.cpu_count()} CPUs (load {load:.1f}), concurrency {c}, "
        f"floor and gateway alternating in {args.rounds} rounds"
    )
    db_url = f"sqlite:///{servers.tmp}/bench.db"
    gw_port, gw_pid = servers.gateway(db_url)
    ports = {"floor": servers.floor(), "gateway": (gw_port, gw_pid)}
    single = alternating(ports, 1, c, args, "s")
    batch = alternating(ports, 100, c // 2 or 1, args, "b")
    results = {
        "floor single": single["floor"],
        "gateway single": single["gateway"],
        "floor batch": batch["floor"],
        "gateway batch": batch["gateway"],
    }
    print(line("floor          single-event POSTs", results["floor single"], "req/s   "))
    print(line("gateway        single-event POSTs", results["gateway single"]))
    print(line("floor          100-event batches", results["floor batch"]))
    print(line("gateway        100-event batches", results["gateway batch"]))
    if args.workers > 1:
        two_port, _ = servers.gateway(f"sqlite:///{servers.tmp}/workers.db", args.workers)
        name = f"gateway x{args.workers}"
        print(
            line(
                f"{name:<14} single-event POSTs",
                run_load(two_port, 1, c, d, "ws", random_ids=args.random_ids),
            )
        )
        print(
            line(
                f"{name:<14} 100-event batches",
                run_load(two_port, 100, c // 2 or 1, d, "wb", random_ids=args.random_ids),
            )
        )
    ratio = results["gateway single"]["requests_s"] / results["floor single"]["requests_s"]
    print(f"single-event ratio to the floor (one process each): {ratio:.0%}")
    cpu_ratio = results["floor single"]["cpu_us"] / results["gateway single"]["cpu_us"]
    per_core = 1e6 / results["gateway batch"]["cpu_us"]
    print(
        f"by CPU time (less sensitive to other load): floor/gateway per request {cpu_ratio:.0%}; "
        f"batched events per second of gateway CPU {per_core:,.0f}"
    )
    rss_mb_now = memory_at_depth(args, servers, db_url, gw_port, gw_pid)
    return verdict(results, ratio, rss_mb_now, args.fill)


def memory_at_depth(
    args: argparse.Namespace, servers: Servers, db_url: str, port: int, pid: int
) -> float:
    """Fill the outbox to ``args.fill`` events, keep ingesting, read the gateway's RSS."""
    before, _ = rss_mb(pid)
    rate = prefill(db_url, args.fill)
    after_fill = run_load(port, 100, 4, 3.0, "after")
    time.sleep(DEPTH_SETTLE_S)  # the outbox count refreshes every few seconds
    depth = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).json()["outbox_depth"]
    now, peak = rss_mb(pid)
    print(
        f"outbox pre-filled with {args.fill:,} events ({rate:,.0f} events/s through the store); "
        f"depth {depth:,}; gateway still ingests {after_fill['events_s']:,.0f} events/s; "
        f"RSS {now:.0f} MB (peak {peak:.0f} MB, {before:.0f} MB before the fill)"
    )
    return peak


def verdict(results: dict[str, Any], ratio: float, rss_peak_mb: float, fill: int) -> int:
    single, batch = results["gateway single"], results["gateway batch"]
    checks = {
        f"single-event >= {TARGET_SINGLE_RATIO:.0%} of the floor": ratio >= TARGET_SINGLE_RATIO,
        f"single-event p99 < {TARGET_SINGLE_P99_MS:.0f} ms": single["p99_ms"]
        < TARGET_SINGLE_P99_MS,
        f"batched >= {TARGET_BATCH_EVENTS_S:,} events/s": batch["events_s"]
        >= TARGET_BATCH_EVENTS_S,
        f"RSS < {TARGET_RSS_MB:.0f} MB with {fill:,} queued": rss_peak_mb < TARGET_RSS_MB,
    }
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
    return 0 if all(checks.values()) else 1


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    modes = ["bench", "load", "floor", "prefill"]
    parser.add_argument("mode", nargs="?", default="bench", choices=modes)
    parser.add_argument("--db", default="")
    parser.add_argument("--workers", type=int, default=1, help="also run a gateway with N procs")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--rounds", type=int, default=2, help="alternations per phase")
    parser.add_argument("--fill", type=int, default=1_000_000)
    parser.add_argument("--tag", default="x")
    parser.add_argument("--random-ids", action="store_true", help="uuid4 event ids (as clients)")
    parser.add_argument("--out", default="", help="load mode: where to write its JSON report")
    args = parser.parse_args()
    if args.mode == "prefill":
        asyncio.run(_prefill(args.db, args.fill))
        return 0
    if args.mode == "floor":
        serve_floor(args.port)
        return 0
    if args.mode == "load":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        result = asyncio.run(
            _load(
                args.port,
                args.batch,
                args.concurrency,
                args.duration,
                args.tag,
                random_ids=args.random_ids,
            )
        )
        Path(args.out).write_bytes(orjson.dumps(result))
        return 0
    return main(args)


if __name__ == "__main__":
    sys.exit(cli())
