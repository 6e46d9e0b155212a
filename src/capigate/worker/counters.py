"""Delivery counters per pixel, for ``/metrics`` and the dashboard.

Label values are fixed vocabularies (outcome kinds, results) and configured pixel ids, never
event data.
"""

from __future__ import annotations

from collections import Counter
from typing import Final

RESULTS: Final = ("delivered", "retry", "dead", "expired", "released")


class DeliveryCounters:
    """Graph requests by outcome and events by result, per pixel, since the worker started."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()  # (pixel_id, outcome kind)
        self.events: Counter[tuple[str, str]] = Counter()  # (pixel_id, result)
        self.mismatches: Counter[str] = Counter()  # pixel_id -> events_received mismatches

    def request(self, pixel_id: str, kind: str) -> None:
        """Count one Graph request and how it ended."""
        self.requests[(pixel_id, kind)] += 1

    def settled(self, pixel_id: str, result: str, count: int) -> None:
        """Count ``count`` events that ended one delivery attempt with ``result``."""
        if result not in RESULTS:
            raise ValueError(f"unknown delivery result {result!r}")
        self.events[(pixel_id, result)] += count

    def mismatch(self, pixel_id: str) -> None:
        """Count a 2xx answer whose events_received differs from what was sent."""
        self.mismatches[pixel_id] += 1

    def total(self, result: str) -> int:
        """Events with ``result`` over every pixel."""
        return sum(n for (_, r), n in self.events.items() if r == result)

    def by_pixel(self) -> dict[str, dict[str, int]]:
        """Events by result for each pixel, e.g. ``{"123": {"delivered": 990, "dead": 1}}``."""
        found: dict[str, dict[str, int]] = {}
        for (pixel_id, result), count in sorted(self.events.items()):
            found.setdefault(pixel_id, {})[result] = count
        return found
