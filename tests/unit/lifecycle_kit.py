"""Helpers for lifecycle rule tests: activities at given times, a user that lives through them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from capigate.lifecycle import (
    DEFAULT_CONFIG,
    Activity,
    DerivedEvent,
    LifecycleConfig,
    UserState,
    on_activity,
    on_tick,
)
from capigate.lifecycle.config import DAY_S, HOUR_S

T0 = 1_763_800_000.0
DAY = float(DAY_S)
HOUR = float(HOUR_S)
MINUTE = 60.0


def act(name: str, at_s: float, user: str = "42", **fields: Any) -> Activity:
    """An activity of ``name`` by Telegram user ``user`` at ``at_s``."""
    return Activity(name=name, user_key=user, at_s=at_s, telegram_id=user, **fields)


@dataclass
class Life:
    """One user's state carried through activities and ticks, collecting every derived event."""

    config: LifecycleConfig = DEFAULT_CONFIG
    state: UserState | None = None
    events: list[DerivedEvent] = field(default_factory=list)

    def do(self, name: str, at_s: float, **fields: Any) -> list[DerivedEvent]:
        """Apply an activity at ``at_s`` (also the current time); returns what it derived."""
        self.state, derived = on_activity(self.state, act(name, at_s, **fields), at_s, self.config)
        self.events.extend(derived)
        return derived

    def tick(self, now_s: float) -> list[DerivedEvent]:
        """Run the tick at ``now_s`` if the user is due (as the worker would)."""
        state = self.state
        if state is None or state.next_due_at is None or state.next_due_at > now_s:
            return []
        self.state, derived = on_tick(state, now_s, self.config)
        self.events.extend(derived)
        return derived

    def names(self) -> list[str]:
        """The plan keys of every event derived so far."""
        return [event.plan_key for event in self.events]


def keys(events: list[DerivedEvent]) -> list[str]:
    """The plan keys of ``events``."""
    return [event.plan_key for event in events]
