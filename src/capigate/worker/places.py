"""Places to send from, per pixel, and batches leased ahead to take them.

``concurrency`` bounds the requests in flight to one pixel. Leasing takes a write to the
store, so a batch that waited for its lease until a place freed would leave the place idle
meanwhile: a pixel may hold ``ahead`` more batches than places, already leased, and the first
of them takes a freed place at once. A batch gives its place up when its last request is
answered; ``give_up`` is idempotent, so a finished task may always call it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

LEASE_AHEAD_BATCHES = 1  # leased per pixel beyond its places, so a freed place sends at once


class Place:
    """One leased batch's claim: first a turn to wait, then a place to send from."""

    __slots__ = ("_given_up", "_pixel_id", "_places", "_sending")

    def __init__(self, places: Places, pixel_id: str) -> None:
        self._places = places
        self._pixel_id = pixel_id
        self._sending = False
        self._given_up = False

    async def take(self) -> None:
        """Wait until the pixel has a free place and take it."""
        if not self._given_up and not self._sending:
            await self._places.semaphore(self._pixel_id).acquire()
            self._sending = True

    def give_up(self) -> None:
        """Free the place (or the turn in line) for the pixel's next batch; once."""
        if self._given_up:
            return
        self._given_up = True
        if self._sending:
            self._places.semaphore(self._pixel_id).release()
        self._places.left(self._pixel_id)


class Places:
    """The places of every pixel and how many batches each holds, sending or waiting."""

    def __init__(
        self,
        concurrency: int,
        *,
        ahead: int = LEASE_AHEAD_BATCHES,
        on_free: Callable[[], None] = lambda: None,
    ) -> None:
        self.concurrency = concurrency
        self.ahead = ahead
        self._on_free = on_free
        self._held: Counter[str] = Counter()
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    def hold(self, pixel_id: str) -> Place:
        """Count a batch just leased for ``pixel_id``; it sends once it takes a place."""
        self._held[pixel_id] += 1
        return Place(self, pixel_id)

    def full(self) -> set[str]:
        """Pixels that may not lease more: all places taken and the batches ahead leased."""
        limit = self.concurrency + self.ahead
        return {pixel_id for pixel_id, held in self._held.items() if held >= limit}

    def semaphore(self, pixel_id: str) -> asyncio.Semaphore:
        """The pixel's places to send from."""
        found = self._semaphores.get(pixel_id)
        if found is None:
            found = self._semaphores[pixel_id] = asyncio.Semaphore(self.concurrency)
        return found

    def left(self, pixel_id: str) -> None:
        """A batch of ``pixel_id`` gave its place (or turn) up."""
        self._held[pixel_id] -= 1
        self._on_free()
