"""Wiring the delivery worker from ``Settings``: one HTTP pool, one Meta client per pixel.

Where events go:

* a Meta access token is configured: ``graph_url`` (Meta's Graph API by default);
* sandbox mode (no token) with ``CAPIGATE_GRAPH_URL`` set: that URL, e.g. a standalone
  ``capigate emulator --port N``, with a placeholder token (the emulator accepts any);
* sandbox mode without it: the emulator mounted in ``capigate serve``, reached in-process
  through ``httpx.ASGITransport`` (``sandbox_app``). ``capigate worker`` alone has no such
  emulator and refuses to start, saying so.

``running_worker`` runs the worker as a background task for the duration of a block, as
``capigate serve`` does in its lifespan; ``delivery_report`` is what ``/readyz`` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
from starlette.types import ASGIApp

from capigate.clock import Clock, system_clock
from capigate.errors import ConfigError, StoreError
from capigate.lifecycle_engine import LifecycleEngine
from capigate.meta.client import MetaClient
from capigate.secret import Secret
from capigate.settings import DEFAULT_GRAPH_URL, Settings
from capigate.store import Store
from capigate.worker.circuit import circuit_report
from capigate.worker.loop import DeliveryWorker

SANDBOX_TOKEN: Final = Secret("capigate-sandbox-token")  # the emulator accepts any token
SANDBOX_GRAPH_URL: Final = "http://sandbox-emulator"
HTTP_LIMITS: Final = httpx.Limits(max_connections=64, max_keepalive_connections=32)
log = logging.getLogger("capigate.worker")


def uses_mounted_emulator(settings: Settings) -> bool:
    """Sandbox mode without CAPIGATE_GRAPH_URL: deliver to the emulator inside serve."""
    return settings.sandbox and settings.graph_url == DEFAULT_GRAPH_URL


def build_clients(
    settings: Settings, http: httpx.AsyncClient, *, graph_url: str, clock: Clock
) -> dict[str, MetaClient]:
    """One client per configured pixel, with its own token (a placeholder in sandbox mode)."""
    return {
        pixel.id: MetaClient(
            http,
            access_token=pixel.access_token or SANDBOX_TOKEN,
            api_version=settings.graph_version,
            graph_url=graph_url,
            clock=clock,
        )
        for pixel in settings.pixels
    }


@asynccontextmanager
async def delivery_clients(
    settings: Settings, *, clock: Clock = system_clock, sandbox_app: ASGIApp | None = None
) -> AsyncIterator[dict[str, MetaClient]]:
    """The Meta clients for every pixel, on one pooled HTTP client closed on exit."""
    transport: httpx.AsyncBaseTransport | None = None
    graph_url = settings.graph_url
    if uses_mounted_emulator(settings):
        if sandbox_app is None:
            raise ConfigError(
                "sandbox mode (no CAPIGATE_META_ACCESS_TOKEN): the worker needs the emulator "
                "of capigate serve, or CAPIGATE_GRAPH_URL pointing at `capigate emulator`"
            )
        transport = httpx.ASGITransport(app=sandbox_app)
        graph_url = SANDBOX_GRAPH_URL
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request is noise
    async with httpx.AsyncClient(transport=transport, limits=HTTP_LIMITS) as http:
        yield build_clients(settings, http, graph_url=graph_url, clock=clock)


@asynccontextmanager
async def running_worker(
    settings: Settings,
    store: Store,
    *,
    clock: Clock = system_clock,
    sandbox_app: ASGIApp | None = None,
    lifecycle: LifecycleEngine | None = None,
) -> AsyncIterator[DeliveryWorker]:
    """Deliver in the background while the block runs; stop gracefully when it ends."""
    async with delivery_clients(settings, clock=clock, sandbox_app=sandbox_app) as clients:
        worker = DeliveryWorker(
            store, clients, settings=settings.worker, clock=clock, lifecycle=lifecycle
        )
        task = asyncio.create_task(worker.run(), name="capigate-delivery")
        log.info("delivery worker started", extra={"fields": _start_fields(settings, worker)})
        try:
            yield worker
        finally:
            worker.stop()
            await task


async def delivery_report(store: Store, worker: DeliveryWorker | None) -> dict[str, Any]:
    """Delivery as ``/readyz`` shows it: every pixel paused (by any worker) and why.

    The circuits come from the store, so a gateway reports pauses that a separate
    ``capigate worker`` process decided.
    """
    try:
        circuits = await store.circuits()
    except StoreError:
        log.exception("readiness: cannot read the pixel circuits")
        circuits = []
    paused = [circuit_report(c) for c in circuits if c.status != "closed"]
    reasons = [f"delivery to pixel {c['pixel_id']} is paused: {c['reason']}" for c in paused]
    report: dict[str, Any] = {"paused_pixels": paused, "reasons": reasons}
    if worker is not None:
        status = worker.status()
        report["worker"] = {k: status[k] for k in ("worker_id", "running", "batches_in_flight")}
        report["worker"]["events"] = worker.counters.by_pixel()
        for pixel_id in status["unconfigured_pixels"]:
            reasons.append(f"events for pixel {pixel_id} wait: it is not in pixels:")
    return report


def _start_fields(settings: Settings, worker: DeliveryWorker) -> dict[str, Any]:
    return {
        "worker_id": worker.worker_id,
        "pixels": [p.id for p in settings.pixels],
        "target": "in-process emulator" if uses_mounted_emulator(settings) else settings.graph_url,
        "batch_size": settings.worker.batch_size,
        "flush_interval_s": settings.worker.flush_interval_s,
        "concurrency": settings.worker.concurrency,
    }


@asynccontextmanager
async def serve_delivery(
    settings: Settings,
    store: Store,
    *,
    clock: Clock = system_clock,
    sandbox_app: ASGIApp | None = None,
    lifecycle: LifecycleEngine | None = None,
) -> AsyncIterator[DeliveryWorker | None]:
    """The worker ``capigate serve`` runs in-process; None when ``worker.enabled`` is false."""
    if not settings.worker.enabled:
        log.info("delivery worker disabled (worker.enabled: false): run `capigate worker`")
        yield None
        return
    run = running_worker(settings, store, clock=clock, sandbox_app=sandbox_app, lifecycle=lifecycle)
    async with run as worker:
        yield worker


def delivery_metrics(worker: DeliveryWorker, put: Callable[..., None]) -> None:
    """Copy the worker's counters and circuits into metrics: ``put(name, value, **labels)``."""
    counters = worker.counters
    for (pixel_id, kind), count in counters.requests.items():
        put("capigate_delivery_requests_total", count, pixel=pixel_id, outcome=kind)
    for (pixel_id, result), count in counters.events.items():
        put("capigate_delivery_events_total", count, pixel=pixel_id, result=result)
    for pixel_id, count in counters.mismatches.items():
        put("capigate_delivery_mismatch_total", count, pixel=pixel_id)
    for circuit in worker.circuits.snapshot():
        paused = 1 if circuit["status"] != "closed" else 0
        put("capigate_delivery_paused", paused, pixel=circuit["pixel_id"])
