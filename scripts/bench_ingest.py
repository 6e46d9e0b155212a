"""Ingest benchmark: the gateway on SQLite against a bare FastAPI JSON endpoint (the floor).

Run by ``make bench-ingest``. Three processes on loopback: the gateway (``capigate serve`` on a
temporary SQLite file), the floor (FastAPI under uvicorn that only parses the JSON body), and
a load generator (a minimal keep-alive HTTP/1.1 client on asyncio, so that the client is not
the bottleneck). Phases: single-event POSTs, 100-event batches, then 1,000,000 events queued
in 1,000-event batches to measure the gateway's resident memory. Prints events/s, p50/p99
latency, the ratio to the floor, RSS, and whether each target is met.

    python scripts/bench_ingest.py [--duration 8] [--concurrency 16] [--fill 1000000]
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
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0",
            "fbp": "fb.1.1596403881668.1116446470",
        },
        "properties": {"button_id": "open_tg", "utm_source": "fb", "utm_campaign": "nov"},
        "context": {"session_id": f"s-{n}", "page_url": "https://example.com/lp?utm_source=fb"},
    }


class Bodies:
    """Unique request bodies: one event, or a batch of ``size`` events."""

    def __init__(self, tag: str, size: int) -> None:
        self.tag, self.size, self.n = tag, size, 0
        self.now_s = int(time.time())

    def next(self) -> bytes:
        events = [event(self.tag, self.n + i, self.now_s) for i in range(self.size)]
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
    port: int, batch: int, concurrency: int, duration_s: float, tag: str
) -> dict[str, Any]:
    key = os.environ.get("BENCH_KEY", BENCH_KEY)
    warm_deadline = time.perf_counter() + 1.0
    await asyncio.gather(
        *(
            _one_connection(port, Bodies(f"{tag}w{c}", batch), key, warm_deadline, None)
            for c in range(concurrency)
        )
    )
    out: dict[str, Any] = {"latencies": [], "statuses": {}}
    started = time.perf_counter()
    deadline = started + duration_s
    await asyncio.gather(
        *(
            _one_connection(port, Bodies(f"{tag}c{c}", batch), key, deadline, out)
            for c in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(out["latencies"])
    requests = len(latencies)
    return {
        "requests_s": requests / elapsed,
        "events_s": requests * batch / elapsed,
        "p50_ms": 1000 * latencies[requests // 2] if requests else None,
        "p99_ms": 1000 * latencies[min(requests - 1, int(requests * 0.99))] if requests else None,
        "statuses": {str(k): v for k, v in out["statuses"].items()},
        "requests": requests,
    }


def run_load(
    port: int, batch: int, concurrency: int, duration_s: float, tag: str
) -> dict[str, Any]:
    """Drive ``port`` from a separate process; returns its JSON report."""
    command = [
        sys.executable, __file__, "load", "--port", str(port), "--batch", str(batch),
        "--concurrency", str(concurrency), "--duration", str(duration_s), "--tag", tag,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


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
    """(current, peak) resident memory of ``pid`` in MB, from /proc."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def fill(port: int, total: int) -> float:
    """Queue ``total`` unique events in 1,000-event batches; returns events/s."""
    concurrency = 4
    per_connection = total // (FILL_BATCH * concurrency)

    async def go() -> None:
        async def one(c: int) -> None:
            bodies = Bodies(f"fill{c}", FILL_BATCH)
            async with httpx.AsyncClient(timeout=60) as client:
                for _ in range(per_connection):
                    response = await client.post(
                        f"http://127.0.0.1:{port}{INGEST_PATH}",
                        content=bodies.next(),
                        headers={"Authorization": f"Bearer {BENCH_KEY}"},
                    )
                    response.raise_for_status()

        await asyncio.gather(*(one(c) for c in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(go())
    return per_connection * concurrency * FILL_BATCH / (time.perf_counter() - started)


def line(name: str, report: dict[str, Any], unit: str = "events/s") -> str:
    rate = report["events_s"]
    return (
        f"{name:<34} {rate:>10,.0f} {unit}   p50 {report['p50_ms']:6.2f} ms   "
        f"p99 {report['p99_ms']:6.2f} ms   statuses {report['statuses']}"
    )


def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="capigate-bench-") as tmp:
        config = Path(tmp, "capigate.yaml")
        config.write_text(CONFIG)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CAPIGATE_")},
            "BENCH_KEY": BENCH_KEY,
        }
        gw_port, floor_port = free_port(), free_port()
        gateway = subprocess.Popen(
            [
                sys.executable, "-m", "capigate", "serve", "--port", str(gw_port),
                "--db", f"sqlite:///{tmp}/bench.db", "--config", str(config),
            ],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        floor = subprocess.Popen([sys.executable, __file__, "floor", "--port", str(floor_port)])
        try:
            wait_up(gw_port, gateway)
            wait_up(floor_port, floor)
            return report(args, gw_port, floor_port, gateway.pid)
        finally:
            for process in (gateway, floor):
                process.terminate()
                process.wait(timeout=30)


def report(args: argparse.Namespace, gw_port: int, floor_port: int, gw_pid: int) -> int:
    c, d = args.concurrency, args.duration
    print(f"capigate ingest benchmark: {os.cpu_count()} CPUs, concurrency {c}, {d:.0f} s phases")
    floor_single = run_load(floor_port, 1, c, d, "fs")
    print(line("floor   single-event POSTs", floor_single, "req/s   "))
    gw_single = run_load(gw_port, 1, c, d, "gs")
    print(line("gateway single-event POSTs", gw_single))
    floor_batch = run_load(floor_port, 100, c // 2 or 1, d, "fb")
    print(line("floor   100-event batches", floor_batch))
    gw_batch = run_load(gw_port, 100, c // 2 or 1, d, "gb")
    print(line("gateway 100-event batches", gw_batch))
    ratio = gw_single["requests_s"] / floor_single["requests_s"]
    print(f"single-event ratio to the floor: {ratio:.0%}")
    rss_before, _ = rss_mb(gw_pid)
    fill_rate = fill(gw_port, args.fill)
    depth = httpx.get(f"http://127.0.0.1:{gw_port}/readyz", timeout=10).json()["outbox_depth"]
    rss_now, rss_peak = rss_mb(gw_pid)
    print(
        f"filled {args.fill:,} events at {fill_rate:,.0f} events/s; outbox depth {depth:,}; "
        f"gateway RSS {rss_now:.0f} MB (peak {rss_peak:.0f} MB, {rss_before:.0f} MB before)"
    )
    checks = {
        f"single-event >= {TARGET_SINGLE_RATIO:.0%} of floor": ratio >= TARGET_SINGLE_RATIO,
        f"single-event p99 < {TARGET_SINGLE_P99_MS:.0f} ms": gw_single["p99_ms"]
        < TARGET_SINGLE_P99_MS,
        f"batched >= {TARGET_BATCH_EVENTS_S:,} events/s": gw_batch["events_s"]
        >= TARGET_BATCH_EVENTS_S,
        f"RSS < {TARGET_RSS_MB:.0f} MB with {args.fill:,} queued": rss_peak < TARGET_RSS_MB,
    }
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'MISSED'}] {name}")
    return 0 if all(checks.values()) else 1


def cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "load", "floor"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--fill", type=int, default=1_000_000)
    parser.add_argument("--tag", default="x")
    args = parser.parse_args()
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
            _load(args.port, args.batch, args.concurrency, args.duration, args.tag)
        )
        print(json.dumps(result))
        return 0
    return main(args)


if __name__ == "__main__":
    sys.exit(cli())
