"""Where the gateway's ingest CPU goes: the app in-process on SQLite, no HTTP, under cProfile.

The load is ``bench_ingest``'s: unique events, single POSTs from 16 concurrent callers or
100-event batches from 8. Requests go straight into the ASGI app (no sockets, no HTTP parser),
so the figures are the gateway's own work, with ``capigate serve``'s garbage-collector settings;
CPU time counts every thread (the SQLite writer's too), cProfile sees the event loop's thread
only. A profile inflates small functions; compare CPU per event between runs of the same machine
load.

    python scripts/profile_ingest.py [--batch 100] [--requests 100] [--top 30] [--no-profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_ingest import BENCH_KEY, CONFIG, INGEST_PATH, Bodies

from capigate.settings import load
from capigate.web.app import create_app

Message = dict[str, Any]


def _scope(body: bytes) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {BENCH_KEY}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": INGEST_PATH, "raw_path": INGEST_PATH.encode(),
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _post(app: Any, body: bytes) -> None:
    sent: list[Message] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # a client that stays connected
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(body), receive, send)
    if sent[0]["status"] != 202:
        raise SystemExit(f"the gateway answered {sent[0]['status']}: {sent[-1].get('body')!r}")


async def _drive(app: Any, bodies: list[bytes], concurrency: int) -> None:
    async def caller(share: list[bytes]) -> None:
        for body in share:
            await _post(app, body)

    await asyncio.gather(*(caller(bodies[c::concurrency]) for c in range(concurrency)))


async def run(args: argparse.Namespace, tmp: str, config: Path) -> None:
    environ = {"BENCH_KEY": BENCH_KEY, "CAPIGATE_WORKER_ENABLED": "false"}
    environ["CAPIGATE_DB"] = f"sqlite:///{tmp}/profile.db"
    logging.disable(logging.WARNING)
    app = create_app(load(config_path=str(config), environ=environ), serving=True)
    concurrency = 16 if args.batch == 1 else 8
    async with app.router.lifespan_context(app):
        source = Bodies("p", args.batch)
        await _drive(app, [source.next() for _ in range(max(20, args.requests // 10))], concurrency)
        bodies = [source.next() for _ in range(args.requests)]
        profile = cProfile.Profile() if args.profile else None
        started, main_started, wall = time.process_time(), time.thread_time(), time.perf_counter()
        if profile:
            profile.enable()
        await _drive(app, bodies, concurrency)
        if profile:
            profile.disable()
        cpu_s = time.process_time() - started
        main_s = time.thread_time() - main_started
        wall_s = time.perf_counter() - wall
    events = args.requests * args.batch
    print(
        f"{args.requests} requests of {args.batch} event(s): {1e6 * cpu_s / events:.1f} us CPU "
        f"per event ({1e6 * main_s / events:.1f} on the event loop's thread, the rest in the "
        f"store's threads), {events / wall_s:,.0f} events/s{' (profiled)' if profile else ''}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    if profile:
        pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--top", type=int, default=30, help="profile lines shown")
    parser.add_argument("--sort", default="tottime", help="pstats order (tottime, cumulative)")
    parser.add_argument("--no-profile", dest="profile", action="store_false")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="capigate-profile-") as tmp:
        config = Path(tmp, "capigate.yaml")
        config.write_text(CONFIG)
        asyncio.run(run(args, tmp, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
