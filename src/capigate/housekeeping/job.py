"""The purges: what the store keeps only for a while, forgotten every ``interval_s``.

* ``dedup_keys``: (pixel, event_name, event_id) keys older than the 48 h dedup window
  (``Store.purge``); the events' records stay in the log.
* ``landing_sessions``: landing visits past every attribution TTL, which can no longer link a
  /start or carry a key (``purge_landing_sessions``, ``AttributionSettings.retention_s``).
* ``webhook_signatures``: replay-protection keys whose timestamp tolerance has passed
  (``purge_signatures``).

A run happens only while this process holds the store's ``housekeeping`` scheduler lease (on
PostgreSQL one process of many; the lease outlives the interval, so the holder keeps it and the
others wait, and it passes on when the holder stops or dies). Each purge that fails is logged
and the others still run; nothing raises out of ``run_due`` or the background loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

from capigate.attribution.config import AttributionSettings
from capigate.clock import Clock, system_clock
from capigate.housekeeping.config import HousekeepingSettings
from capigate.settings import Settings
from capigate.store import Store

SCHEDULER = "housekeeping"  # the store's scheduler lease for the purges
STOP_TIMEOUT_S = 10.0  # a purge in flight at shutdown gets this long, then is cancelled
log = logging.getLogger("capigate.housekeeping")

Purge = Callable[[float], Awaitable[int]]
"""``now_s`` -> how many rows the purge freed."""


@dataclass(frozen=True, slots=True)
class HousekeepingReport:
    """What one ``run_due`` did: whether it ran, rows freed per purge, purges that failed."""

    ran: bool
    freed: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    failed: tuple[str, ...] = ()


def store_purges(store: Store, attribution: AttributionSettings) -> dict[str, Purge]:
    """The store's purges by name, in the order they run."""

    async def dedup_keys(now_s: float) -> int:
        return await store.purge(now_s=now_s)

    async def landing_sessions(now_s: float) -> int:
        return await store.purge_landing_sessions(before_s=now_s - attribution.retention_s)

    async def webhook_signatures(now_s: float) -> int:
        return await store.purge_signatures(now_s=now_s)

    return {
        "dedup_keys": dedup_keys,
        "landing_sessions": landing_sessions,
        "webhook_signatures": webhook_signatures,
    }


def default_owner() -> str:
    """host:pid:random, unique per process, readable in the store's scheduler lease."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Housekeeper:
    """Runs ``purges`` every ``settings.interval_s`` while ``owner`` holds the lease."""

    def __init__(
        self,
        store: Store,
        purges: Mapping[str, Purge],
        *,
        settings: HousekeepingSettings | None = None,
        owner: str | None = None,
    ) -> None:
        self.settings = settings or HousekeepingSettings()
        self.owner = owner or default_owner()
        self.last: HousekeepingReport | None = None  # the last run that held the lease
        self.ran = asyncio.Event()  # set after each run that held the lease
        self._store = store
        self._purges = dict(purges)
        self._next_at = float("-inf")
        self._held = False  # the last attempt took the lease
        self._stopping = asyncio.Event()

    async def run_due(self, *, now_s: float) -> HousekeepingReport:
        """Run every purge if the interval passed and the lease is ours; never raises."""
        if now_s < self._next_at or not await self._acquire(now_s):
            return HousekeepingReport(ran=False)
        self._next_at = now_s + self.settings.interval_s
        freed: dict[str, int] = {}
        failed: list[str] = []
        for name, purge in self._purges.items():
            try:
                freed[name] = await purge(now_s)
            except Exception:  # one failing purge must not stop the others, nor the gateway
                log.exception("housekeeping: purge failed", extra={"fields": {"purge": name}})
                failed.append(name)
        log.info("housekeeping: purged", extra={"fields": {**freed, "failed": failed}})
        self.last = HousekeepingReport(True, MappingProxyType(freed), tuple(failed))
        self.ran.set()
        return self.last

    async def run(self, clock: Clock = system_clock) -> None:
        """Check every ``poll_s`` whether a run is due, until ``stop()``."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.settings.poll_s)
            if not self._stopping.is_set():
                await self.run_due(now_s=clock())

    def stop(self) -> None:
        """Make ``run()`` return (after the run in flight, if any)."""
        self._stopping.set()

    async def release(self) -> None:
        """Give the lease up (a stopping gateway), so that another process takes over at once."""
        if not self._held:
            return
        try:
            await self._store.release_scheduler(SCHEDULER, owner=self.owner)
        except Exception:
            log.exception("housekeeping: could not release the lease; it runs out by itself")

    async def _acquire(self, now_s: float) -> bool:
        lease_s = self.settings.interval_s + self.settings.poll_s  # the holder renews in time
        try:
            self._held = await self._store.acquire_scheduler(
                SCHEDULER, owner=self.owner, now_s=now_s, lease_s=lease_s
            )
        except Exception:
            log.exception("housekeeping: cannot take the lease; trying again later")
            return False
        return self._held


@asynccontextmanager
async def running(
    settings: Settings, store: Store, *, clock: Clock = system_clock
) -> AsyncIterator[Housekeeper | None]:
    """Purge in the background while the block runs (``capigate serve``); None when disabled."""
    config = settings.housekeeping
    if not config.enabled:
        yield None
        return
    keeper = Housekeeper(store, store_purges(store, settings.attribution), settings=config)
    task = asyncio.create_task(keeper.run(clock), name="capigate-housekeeping")
    try:
        yield keeper
    finally:
        keeper.stop()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=STOP_TIMEOUT_S)
        await keeper.release()
