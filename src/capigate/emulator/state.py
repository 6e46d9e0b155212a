"""What the emulator received: every request with its answer, every accepted event, dedup keys.

Accepted events are kept per request as one JSON blob (compact enough for the 200,000-event
delivery benchmark) and decoded on demand. The dedup simulation keeps ``(pixel, event_name,
event_id)`` for 48 h from first receipt (spec §7.2) and never applies to business messaging
(spec §6.3). All methods are thread-safe; none awaits while holding the lock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson

DedupKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Batch:
    """The events of one accepted request."""

    pixel_id: str
    test_event_code: str | None
    received_at: float
    events_json: bytes
    deduplicated: tuple[bool, ...]


class EmulatorState:
    """The emulator's memory; ``reset()`` forgets everything."""

    def __init__(
        self, *, dedup_window_s: float, max_events: int = 1_000_000, max_requests: int = 100_000
    ) -> None:
        self._dedup_window_s = dedup_window_s
        self._max_events = max_events
        self._lock = threading.Lock()
        self._requests: deque[dict[str, Any]] = deque(maxlen=max_requests)
        self._batches: deque[_Batch] = deque()
        self._first_seen: dict[DedupKey, float] = {}
        self._prune_at = 1_024
        self._pruned_at_s = float("-inf")
        self._event_count = 0
        self.request_count = 0

    def reset(self) -> None:
        """Forget requests, events and dedup keys."""
        with self._lock:
            self._requests.clear()
            self._batches.clear()
            self._first_seen.clear()
            self._pruned_at_s = float("-inf")
            self._event_count = 0
            self.request_count = 0

    def record_request(self, entry: dict[str, Any]) -> None:
        """Log one Graph request (accepted, rejected or faulted) and count it."""
        with self._lock:
            self.request_count += 1
            self._requests.append({"seq": self.request_count, **entry})

    def accept(
        self, pixel_id: str, test_event_code: str | None, events: list[dict[str, Any]], now_s: float
    ) -> tuple[bool, ...]:
        """Record accepted events; return, per event, whether Meta would drop it as a duplicate."""
        blob = orjson.dumps(events)
        with self._lock:
            flags = tuple(self._is_duplicate(pixel_id, event, now_s) for event in events)
            self._batches.append(_Batch(pixel_id, test_event_code, now_s, blob, flags))
            self._event_count += len(events)
            while self._event_count > self._max_events and len(self._batches) > 1:
                self._event_count -= len(self._batches.popleft().deduplicated)
            stale = now_s - self._pruned_at_s >= self._dedup_window_s
            if stale or len(self._first_seen) > self._prune_at:
                self._prune(now_s)
        return flags

    def events(
        self, pixel_id: str | None = None, test_event_code: str | None = None
    ) -> list[dict[str, Any]]:
        """Every recorded event as received, plus pixel_id, test_event_code, received_at."""
        with self._lock:
            batches = list(self._batches)
        recorded: list[dict[str, Any]] = []
        for batch in batches:
            if pixel_id is not None and batch.pixel_id != pixel_id:
                continue
            if test_event_code is not None and batch.test_event_code != test_event_code:
                continue
            extra = {
                "pixel_id": batch.pixel_id,
                "test_event_code": batch.test_event_code,
                "received_at": batch.received_at,
            }
            for event, duplicate in zip(
                orjson.loads(batch.events_json), batch.deduplicated, strict=True
            ):
                recorded.append({**event, **extra, "deduplicated": duplicate})
        return recorded

    def dedup_key_count(self) -> int:
        """How many dedup keys are held (expired ones go at the next pruning)."""
        with self._lock:
            return len(self._first_seen)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def _is_duplicate(self, pixel_id: str, event: dict[str, Any], now_s: float) -> bool:
        event_id = event.get("event_id")
        if event_id in (None, "") or event.get("action_source") == "business_messaging":
            return False
        key = (pixel_id, event["event_name"], str(event_id))
        first_s = self._first_seen.get(key)
        if first_s is not None and now_s - first_s < self._dedup_window_s:
            return True
        self._first_seen[key] = now_s
        return False

    def _prune(self, now_s: float) -> None:
        horizon_s = now_s - self._dedup_window_s
        self._first_seen = {k: t for k, t in self._first_seen.items() if t > horizon_s}
        self._prune_at = max(1_024, 2 * len(self._first_seen))
        self._pruned_at_s = now_s
