"""What the gateway remembers about one user between activities (a frozen value).

No raw personal data lives here: onboarding values of the PII steps (name, phone) are kept as
SHA-256 digests only. ``version`` is the store's optimistic-concurrency counter; the rules
never change it. ``next_due_at`` is when the tick has work for this user (a timeout), so the
store can find due users with an index instead of scanning everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Flow:
    """An onboarding or checkout in progress: its session id, start, last step and times."""

    session_id: str
    started_at: float
    last_at: float
    step: str | None = None


@dataclass(frozen=True, slots=True)
class UserState:
    """One user's lifecycle state; ``user_key`` is the Telegram id, else the product's user id."""

    user_key: str
    telegram_id: str | None = None
    user_id: str | None = None
    pixel_id: str | None = None  # where derived events go: the pixel of the last activity
    test_event_code: str | None = None
    registered_at: float | None = None
    last_activity_at: float | None = None
    entries_count: int = 0
    first_entry_at: float | None = None
    return_7d_at: float | None = None
    retention_done: frozenset[int] = frozenset()
    onboarding_values: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    onboarding: Flow | None = None
    onboarding_completed_at: float | None = None
    checkout: Flow | None = None
    next_due_at: float | None = None
    version: int = 0
