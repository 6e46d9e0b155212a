"""What the routes share at run time: settings, store, sources, the ingest use case, metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from capigate.clock import Clock
from capigate.errors import StoreError
from capigate.ingest import Ingestor
from capigate.settings import Settings
from capigate.sources import SourceRegistry
from capigate.store import Store
from capigate.web.metrics import Counter, Metrics
from capigate.worker.loop import DeliveryWorker
from capigate.worker.service import delivery_metrics, delivery_report

log = logging.getLogger("capigate.web")
SANDBOX_NOTE = "sandbox mode: no Meta access token, events go to /__emulator__"


@dataclass(slots=True)
class Gateway:
    """The running gateway's parts; built by ``create_app``'s lifespan."""

    settings: Settings
    store: Store
    registry: SourceRegistry
    ingestor: Ingestor
    metrics: Metrics
    clock: Clock
    worker: DeliveryWorker | None = None  # the in-process delivery worker, if serve runs one
    # The ingest route's counters: by (source, status), by (code,), by (reason,).
    ingest_events: Counter = field(init=False)
    ingest_requests: Counter = field(init=False)
    ingest_rejected: Counter = field(init=False)

    def __post_init__(self) -> None:
        counter = self.metrics.counter
        self.ingest_events = counter("capigate_ingest_events_total", "source", "status")
        self.ingest_requests = counter("capigate_ingest_requests_total", "code")
        self.ingest_rejected = counter("capigate_ingest_rejected_total", "reason")

    async def readiness(self) -> dict[str, Any]:
        """``/readyz``: ready unless the store is unreachable or the outbox is too deep."""
        reasons: list[str] = [SANDBOX_NOTE] if self.settings.sandbox else []
        high_water = self.settings.outbox_high_water
        depth: int | None
        try:
            depth = await self.store.outbox_depth()
        except StoreError:
            log.exception("readiness: store unreachable")
            depth = None
        ready = depth is not None and depth < high_water
        if depth is None:
            reasons.append("store unreachable")
        elif depth >= high_water:
            reasons.append(f"outbox depth {depth} is above the high-water mark {high_water}")
        delivery = await delivery_report(self.store, self.worker)
        reasons.extend(delivery.pop("reasons"))
        return {
            "status": "ready" if ready else "not_ready",
            "sandbox": self.settings.sandbox,
            "store": "ok" if depth is not None else "unreachable",
            "outbox_depth": depth,
            "outbox_high_water": high_water,
            "reasons": reasons,
            "delivery": delivery,
        }

    async def refresh_gauges(self) -> None:
        """Update the gauges that ``/metrics`` shows."""
        self.metrics.set("capigate_outbox_high_water", self.settings.outbox_high_water)
        self.metrics.set("capigate_sandbox", 1 if self.settings.sandbox else 0)
        try:
            self.metrics.set("capigate_outbox_depth", await self.store.outbox_depth())
        except StoreError:
            log.exception("metrics: store unreachable")
        if self.worker is not None:
            delivery_metrics(self.worker, self.metrics.set)
