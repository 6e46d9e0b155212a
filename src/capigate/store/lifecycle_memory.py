"""Lifecycle state in memory: the ``LifecycleStore`` part of ``InMemoryStore``.

Each method runs without awaiting, so on one event loop every save is atomic, like the SQL
stores' transactions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capigate.lifecycle import UserState
from capigate.store.base import EnqueueResult, NewEvent


@dataclass(slots=True)
class LifecycleTables:
    """The memory store's lifecycle data: users by key and scheduler leases by name."""

    users: dict[str, UserState] = field(default_factory=dict)
    leases: dict[str, tuple[str, float]] = field(default_factory=dict)  # name -> owner, expiry


class MemoryLifecycle:
    """Mixin for ``InMemoryStore``: lifecycle operations over ``self._lifecycle``."""

    if TYPE_CHECKING:
        _lifecycle: LifecycleTables

        def _record(self, name: str, **arguments: Any) -> None: ...
        def _enqueue_one(self, event: NewEvent, now_s: float) -> EnqueueResult: ...

    async def load_user_state(self, user_key: str) -> UserState | None:
        """The saved state of ``user_key``, or ``None``."""
        self._record("load_user_state", user_key=user_key)
        return self._lifecycle.users.get(user_key)

    async def save_user_state(
        self,
        state: UserState,
        *,
        expected_version: int,
        events: Sequence[NewEvent],
        now_s: float,
    ) -> list[EnqueueResult] | None:
        """Save over ``expected_version`` and enqueue ``events``; ``None`` on a conflict."""
        self._record(
            "save_user_state",
            state=state,
            expected_version=expected_version,
            events=list(events),
            now_s=now_s,
        )
        saved = self._lifecycle.users.get(state.user_key)
        if (saved.version if saved else 0) != expected_version:
            return None
        stored = dataclasses.replace(state, version=expected_version + 1)
        self._lifecycle.users[state.user_key] = stored
        return [self._enqueue_one(event, now_s) for event in events]

    async def due_user_states(self, *, now_s: float, limit: int) -> list[UserState]:
        """Users due at ``now_s``, oldest first."""
        self._record("due_user_states", now_s=now_s, limit=limit)
        due = [
            s
            for s in self._lifecycle.users.values()
            if s.next_due_at is not None and s.next_due_at <= now_s
        ]
        return sorted(due, key=lambda s: (s.next_due_at or 0.0, s.user_key))[:limit]

    async def acquire_scheduler(
        self, name: str, *, owner: str, now_s: float, lease_s: float
    ) -> bool:
        """Take or renew the lease unless another owner holds an unexpired one."""
        self._record("acquire_scheduler", lease=name, owner=owner, now_s=now_s, lease_s=lease_s)
        holder = self._lifecycle.leases.get(name)
        if holder is not None and holder[0] != owner and holder[1] > now_s:
            return False
        self._lifecycle.leases[name] = (owner, now_s + lease_s)
        return True

    async def release_scheduler(self, name: str, *, owner: str) -> None:
        """Give the lease up if ``owner`` holds it."""
        self._record("release_scheduler", lease=name, owner=owner)
        holder = self._lifecycle.leases.get(name)
        if holder is not None and holder[0] == owner:
            del self._lifecycle.leases[name]
