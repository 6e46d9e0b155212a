"""The outbox depth without counting a million rows on every ingest request."""

from __future__ import annotations

from capigate.clock import Clock

DEPTH_REFRESH_S = 2.0  # how stale another process's changes may be in the count
# A full count walks every queued row (0.3 s of CPU at 1.3 million on SQLite): the next one waits
# long enough that counting takes at most this share of the time, however deep the outbox.
MAX_COUNT_SHARE = 0.02


class DepthGauge:
    """A full count refreshed every ``refresh_s`` seconds (longer when counting is slow: see
    ``MAX_COUNT_SHARE``), plus this process's own changes.

    Exact while one process writes; with several, their changes appear at the next refresh.
    """

    def __init__(self, clock: Clock, refresh_s: float = DEPTH_REFRESH_S) -> None:
        self._clock = clock
        self._refresh_s = refresh_s
        self._counted: int | None = None
        self._counted_at = 0.0
        self._valid_s = refresh_s
        self._delta = 0

    def current(self) -> int | None:
        """The estimate, or ``None`` when a fresh count is needed."""
        if self._counted is None or self._clock() - self._counted_at >= self._valid_s:
            return None
        return max(0, self._counted + self._delta)

    def counted(self, count: int, took_s: float = 0.0) -> None:
        """Record a full count taken just now, which took ``took_s`` seconds."""
        self._counted, self._counted_at, self._delta = count, self._clock(), 0
        self._valid_s = max(self._refresh_s, took_s / MAX_COUNT_SHARE)

    def add(self, delta: int) -> None:
        """Record events this process moved into (+) or out of (-) the outbox."""
        self._delta += delta
