"""Token buckets keyed by caller (a browser source and a client IP), on an injected clock."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_TRACKED_KEYS = 100_000  # buckets kept; the least recently used full bucket goes first


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class TokenBuckets:
    """One bucket per key: ``rate_per_s`` tokens a second, at most ``burst`` saved up.

    Memory is bounded: beyond ``max_keys`` the least recently used bucket is forgotten, which
    at worst gives a long-idle caller a fresh (full) bucket.
    """

    def __init__(self, rate_per_s: float, burst: int, *, max_keys: int = MAX_TRACKED_KEYS) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now_s: float, cost: int = 1) -> float:
        """Spend ``cost`` tokens; returns 0.0 when allowed, else the seconds to wait."""
        cost = min(cost, self.burst)  # a request larger than the burst waits for a full bucket
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now_s)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed_s = max(0.0, now_s - bucket.updated_s)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed_s * self.rate_per_s)
            bucket.updated_s = now_s
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate_per_s

    def __len__(self) -> int:
        return len(self._buckets)
