"""What the lifecycle engine listens to and when its rules fire: one frozen value, with defaults.

The plan's ``lifecycle:`` section (``capigate.lifecycle.section``) builds it; every field has
the default that reproduces seed 000. Activity names have fixed meanings
(:data:`ONBOARDING_STEP` and friends); any other declared activity only says "the user was
active". Derived events go out under fixed plan keys (:data:`APP_LAUNCH_KEY`, ...); the
retention key for day N is ``retention_{N}d``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

HOUR_S = 3600
DAY_S = 86_400

# Activity names with a meaning of their own; every other declared activity is plain activity.
ONBOARDING_STEP = "onboarding_step"
EXPENSE_LOGGED = "expense_logged"
CHECKOUT_STARTED = "checkout_started"
CHECKOUT_COMPLETED = "checkout_completed"
CHECKOUT_CANCELLED = "checkout_cancelled"

# The plan keys the engine emits (they must exist in the plan with ``derived: true``).
APP_LAUNCH_KEY = "app_open"
RETURN_KEY = "return_7d"
FIRST_ENTRY_KEY = "first_entry"
DROP_OFF_KEY = "drop_off"
COMPLETE_KEY = "onboarding_complete"


def retention_key(days: int) -> str:
    """The plan key of the ``days``-day retention event (``retention_30d``)."""
    return f"retention_{days}d"


DEFAULT_SESSION_GAP_S = 12 * HOUR_S  # AppLaunch after this long without activity
DEFAULT_RETURN_DAYS = (1, 7)  # 7d_Return: first activity on days 1..7 after registration
DEFAULT_RETENTION_DAYS = (14, 30, 60, 90, 180, 365)
DEFAULT_DROP_OFF_S = 30 * 60  # onboarding or checkout idle this long is abandoned

# Seed 000's five onboarding steps and the property each one's value is reported as.
DEFAULT_ONBOARDING_STEPS: Mapping[str, str] = MappingProxyType(
    {
        "language": "language_selected",
        "name": "user_name",
        "phone": "phone_number",
        "currency": "currency_selected",
        "capital": "start_capital_amount",
    }
)
# Steps whose value is personal data: kept only as SHA-256 digests, sent as these user fields.
PII_STEPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"name": ("first_name", "last_name"), "phone": ("phone",)}
)

# Plan keys whose sent events also count as the user's activity: a /start registers the user.
DEFAULT_ACTIVITY_KEYS = frozenset({"start_bot"})

DEFAULT_ACTIVITIES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "bot_message": frozenset({"bot"}),
        "app_opened": frozenset({"mini_app", "mobile_app"}),
        ONBOARDING_STEP: frozenset({"bot", "mini_app"}),
        EXPENSE_LOGGED: frozenset({"bot", "mini_app"}),
        CHECKOUT_STARTED: frozenset({"bot", "mini_app", "website"}),
        CHECKOUT_COMPLETED: frozenset({"bot", "mini_app", "website", "server", "webhook"}),
        CHECKOUT_CANCELLED: frozenset({"bot", "mini_app", "website"}),
    }
)


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """The lifecycle rules' settings (see ``capigate.lifecycle.rules`` for what each does).

    ``activities`` maps each activity name to the sources (kinds or names) that may send it;
    ``activity_keys`` are plan keys whose sent events also count as plain activity (seed: the
    bot's ``start_bot``, so a /start registers the user without a separate ``bot_message``);
    ``onboarding_steps`` maps each step, in order, to the property its value is reported as.
    """

    activities: Mapping[str, frozenset[str]] = field(default_factory=lambda: DEFAULT_ACTIVITIES)
    activity_keys: frozenset[str] = DEFAULT_ACTIVITY_KEYS
    session_gap_s: float = DEFAULT_SESSION_GAP_S
    return_days: tuple[int, int] = DEFAULT_RETURN_DAYS
    return_activities: frozenset[str] = frozenset()  # empty: any activity counts as a return
    retention_days: tuple[int, ...] = DEFAULT_RETENTION_DAYS
    drop_off_s: float = DEFAULT_DROP_OFF_S
    onboarding_steps: Mapping[str, str] = field(default_factory=lambda: DEFAULT_ONBOARDING_STEPS)
    default_region: str | None = None  # national phone numbers in onboarding (from the plan)
    emitted_keys: tuple[str, ...] = field(init=False, repr=False, compare=False)
    once_keys: frozenset[str] = field(init=False, repr=False, compare=False)  # once per user
    noted_keys: frozenset[str] = field(init=False, repr=False, compare=False)  # sent: applied

    def __post_init__(self) -> None:
        keys = (APP_LAUNCH_KEY, RETURN_KEY, FIRST_ENTRY_KEY, DROP_OFF_KEY, COMPLETE_KEY)
        retention = tuple(retention_key(days) for days in self.retention_days)
        object.__setattr__(self, "emitted_keys", (*keys, *retention))
        once = {RETURN_KEY, FIRST_ENTRY_KEY, COMPLETE_KEY, *retention}
        object.__setattr__(self, "once_keys", frozenset(once))
        object.__setattr__(self, "noted_keys", self.once_keys | self.activity_keys)

    def allows(self, activity: str, source_name: str, source_kind: str) -> bool:
        """Whether a source (by name or kind) may send ``activity``."""
        allowed = self.activities.get(activity, frozenset())
        return source_name in allowed or source_kind in allowed


DEFAULT_CONFIG = LifecycleConfig()
