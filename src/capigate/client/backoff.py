"""When to try again: exponential backoff with jitter, and the gateway's ``Retry-After``.

Pure: randomness and the current time are parameters, so tests pin the schedule exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

DEFAULT_ATTEMPTS = 4  # tries of one request inside one call, the first included
DEFAULT_BASE_S = 0.5
DEFAULT_CAP_S = 30.0
DEFAULT_MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After ends the call: the spool waits instead


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long one call retries before its events go to the spool."""

    attempts: int = DEFAULT_ATTEMPTS
    base_s: float = DEFAULT_BASE_S
    cap_s: float = DEFAULT_CAP_S
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts: must be at least 1")
        if not 0 <= self.base_s <= self.cap_s:
            raise ValueError("base_s and cap_s: need 0 <= base_s <= cap_s")

    def backoff_s(self, retry: int, random: Callable[[], float]) -> float:
        """The wait before retry number ``retry`` (1, 2, ...): half fixed, half random.

        The ceiling doubles from ``base_s`` up to ``cap_s``; "equal jitter" keeps at least half
        of it, so clients that failed together do not come back together, nor at once.
        """
        ceiling = min(self.cap_s, self.base_s * 2.0 ** (retry - 1))
        return float(ceiling / 2 + ceiling / 2 * random())

    def wait_s(
        self, retry: int, retry_after_s: float | None, random: Callable[[], float]
    ) -> float | None:
        """The wait before retry ``retry``, never shorter than ``Retry-After``.

        ``None`` means stop now: no tries left, or the gateway asked for a longer pause than
        ``max_retry_after_s`` (the spool honours it instead of a blocked caller).
        """
        if retry >= self.attempts:
            return None
        if retry_after_s is not None and retry_after_s > self.max_retry_after_s:
            return None
        return max(self.backoff_s(retry, random), retry_after_s or 0.0)


def parse_retry_after(value: str | None, *, now_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    seconds = when.timestamp() - now_s
    return max(0.0, seconds) if math.isfinite(seconds) else None
