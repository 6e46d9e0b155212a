"""Isolating the events that make Meta refuse a batch, by bisection (pure).

Meta rejects a whole request when one of its events is invalid and does not say which one
(spec §1.2). So a refused part is replaced by its two halves, which are sent in turn, until
every refused part holds a single event: those alone are dead-lettered, every other event is
delivered. ``Bisection`` is the plan; the worker sends its parts and reports each answer.

Cost: n events with k bad ones take at most 1 + 2k·⌈log2 n⌉ requests (21 for one bad event
in 1,000). A budget of ``1 + 2·poison_budget·⌈log2 n⌉`` requests caps one delivery, so a
batch made only of bad events (a systematic bug) never costs 2n requests: once it is spent
the unresolved parts wait for a retry, and the next delivery isolates the next few.

Only refusals that can come from single events are split: code 100 with a CAPI subcode.
Refusals of the request itself (the token, the pixel: 100/33, permissions, a deprecated
version) would fail every half the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from capigate.classify import Outcome, OutcomeKind

INVALID_PARAMETER_CODE: Final = 100
OBJECT_MISSING_SUBCODE: Final = 33  # 100/33: no such pixel, or the token has no access to it
POISON_BUDGET: Final = 4  # bad events one delivery may isolate before the rest waits

T = TypeVar("T")


def splittable(outcome: Outcome, size: int) -> bool:
    """Whether a refusal of ``size`` events may come from some of them, so halves may pass."""
    return (
        size > 1
        and outcome.kind is OutcomeKind.PERMANENT
        and outcome.code == INVALID_PARAMETER_CODE
        and outcome.subcode is not None
        and outcome.subcode != OBJECT_MISSING_SUBCODE
    )


def request_budget(size: int, poison_budget: int = POISON_BUDGET) -> int:
    """How many requests one delivery of ``size`` events may spend on isolating bad ones."""
    if size <= 1:
        return 1
    return 1 + 2 * poison_budget * math.ceil(math.log2(size))


def halves(part: tuple[T, ...]) -> tuple[tuple[T, ...], tuple[T, ...]]:
    """The two halves of a part (the first one is the shorter for odd sizes)."""
    middle = len(part) // 2
    return part[:middle], part[middle:]


@dataclass(frozen=True, slots=True)
class Bisection(Generic[T]):
    """Parts still to send, the next one first, and the requests sent and allowed."""

    pending: tuple[tuple[T, ...], ...]
    sent: int
    budget: int

    @classmethod
    def start(cls, items: tuple[T, ...], poison_budget: int = POISON_BUDGET) -> Bisection[T]:
        """The plan for one delivery of ``items``: send them all at once first."""
        return cls((items,) if items else (), 0, request_budget(len(items), poison_budget))

    def next_part(self) -> tuple[T, ...] | None:
        """The part to send now; None when done or when the budget is spent."""
        if not self.pending or self.sent >= self.budget:
            return None
        return self.pending[0]

    def settled(self) -> Bisection[T]:
        """The next part was sent and its answer settles it as a whole."""
        return Bisection(self.pending[1:], self.sent + 1, self.budget)

    def refused(self) -> Bisection[T]:
        """The next part was refused in a way its halves may not be: send them instead."""
        if len(self.pending[0]) < 2:
            raise ValueError("a part of one event cannot be split")
        first, second = halves(self.pending[0])
        return Bisection((first, second, *self.pending[1:]), self.sent + 1, self.budget)

    @property
    def remaining(self) -> tuple[T, ...]:
        """Every item not settled yet, in order."""
        return tuple(item for part in self.pending for item in part)
