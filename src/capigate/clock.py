"""Time as a dependency: production code asks a ``Clock``; tests hand in a ``FrozenClock``."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current Unix time in seconds."""

    def __call__(self) -> float: ...


def system_clock() -> float:
    """The wall clock, in Unix seconds."""
    return time.time()


class FrozenClock:
    """A clock that moves only when told to."""

    def __init__(self, now_s: float = 1_763_800_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds

    def set(self, now_s: float) -> None:
        self.now_s = now_s
