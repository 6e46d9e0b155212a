"""Collect events in memory until a batch is full or the oldest has waited long enough.

Pure bookkeeping: the caller passes the time and decides what a flush does. The buffer has a
bound of its own (``max_pending``) so that a client whose gateway and spool both refuse
events stops taking new ones instead of growing without limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from capigate.client.events import Pending


class Batcher:
    """A FIFO of pending events with size and age thresholds."""

    def __init__(self, *, batch_events: int, interval_s: float, max_pending: int) -> None:
        if batch_events < 1 or max_pending < batch_events:
            raise ValueError("need 1 <= batch_events <= max_pending")
        if interval_s <= 0:
            raise ValueError("flush interval: must be more than 0 seconds")
        self.batch_events = batch_events
        self.interval_s = interval_s
        self.max_pending = max_pending
        self._events: deque[Pending] = deque()
        self._oldest_at: float | None = None

    def __len__(self) -> int:
        return len(self._events)

    @property
    def full(self) -> bool:
        """No room for another event."""
        return len(self._events) >= self.max_pending

    def add(self, event: Pending, *, now_s: float) -> bool:
        """Queue ``event``; True when a batch is full and should be flushed now."""
        if self._oldest_at is None:
            self._oldest_at = now_s
        self._events.append(event)
        return len(self._events) >= self.batch_events

    def due(self, now_s: float) -> bool:
        """A batch is full, or the oldest event has waited ``interval_s``."""
        wait_s = self.wait_s(now_s)
        return wait_s is not None and wait_s <= 0

    def wait_s(self, now_s: float) -> float | None:
        """Seconds until ``due``; ``None`` when nothing is pending."""
        if not self._events or self._oldest_at is None:
            return None
        if len(self._events) >= self.batch_events:
            return 0.0
        return max(0.0, self._oldest_at + self.interval_s - now_s)

    def take(self) -> list[Pending]:
        """Every pending event, oldest first; the buffer is left empty."""
        events = list(self._events)
        self._events.clear()
        self._oldest_at = None
        return events

    def put_back(self, events: Sequence[Pending], *, since_s: float) -> None:
        """Return ``events`` to the front (they are older than anything queued since)."""
        self._events.extendleft(reversed(events))
        if events:
            self._oldest_at = min(since_s, self._oldest_at or since_s)
