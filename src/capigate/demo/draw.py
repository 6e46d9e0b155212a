"""Drawing from a seeded source of randomness, which callers hand in (``random.Random``).

Only three methods are used, so the simulation stays pure and a test can pass its own source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")


class Rng(Protocol):
    """The part of ``random.Random`` the simulation uses."""

    def random(self) -> float: ...

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int: ...

    def getrandbits(self, k: int, /) -> int: ...


def chance(rng: Rng, probability: float) -> bool:
    """True with ``probability``."""
    return rng.random() < probability


def between(rng: Rng, low: float, high: float) -> float:
    """A uniform draw from ``[low, high)``."""
    return low + (high - low) * rng.random()


def pick(rng: Rng, items: Sequence[T]) -> T:
    """One of ``items``, each as likely."""
    return items[rng.randrange(len(items))]


def digits(rng: Rng, count: int) -> str:
    """``count`` random decimal digits."""
    return "".join(str(rng.randrange(10)) for _ in range(count))


def token(rng: Rng, chars: int) -> str:
    """``chars`` characters of ``[A-Za-z0-9_-]`` (a link token, a click id)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(alphabet[rng.getrandbits(6)] for _ in range(chars))
