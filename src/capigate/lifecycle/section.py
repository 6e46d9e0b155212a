"""The tracking plan's ``lifecycle:`` section, read into a ``LifecycleConfig``.

::

    lifecycle:
      activities:                  # activity name -> sources (kinds or names) that may send it
        bot_message: [bot]
        onboarding_step: [bot, mini_app]
      activity_keys: [start_bot]   # sent plan keys that also count as the user's activity
      session_gap_hours: 12        # AppLaunch after this long without activity
      return_days: [1, 7]          # 7d_Return: first activity on these days (inclusive)
      return_activities: []        # only these activities count as a return (empty: any)
      retention_days: [14, 30, 60, 90, 180, 365]
      drop_off_minutes: 30         # onboarding or checkout idle this long is abandoned
      onboarding_steps:            # step -> the property its value is reported as, in order
        language: language_selected

Every field is optional; a missing one keeps seed 000's default. The plan loader passes its
``fail(path, rule, problem)`` so that problems name the file and line like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from capigate.lifecycle.config import DEFAULT_CONFIG, HOUR_S, LifecycleConfig
from capigate.validate.rules import child

Fail = Callable[[str, str, str], None]
_FIELDS = (
    "activities",
    "activity_keys",
    "session_gap_hours",
    "return_days",
    "return_activities",
    "retention_days",
    "drop_off_minutes",
    "onboarding_steps",
)
MINUTE_S = 60


def read_section(
    data: Any, path: str, fail: Fail, *, default_region: str | None = None
) -> LifecycleConfig | None:
    """The section at ``path`` as a config; ``None`` when absent or broken (``fail`` says why)."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        fail(path, "field_type", "must be a mapping (key: value)")
        return None
    reader = _Reader(data, path, fail)
    for key in data:
        if key not in _FIELDS:
            known = ", ".join(_FIELDS)
            reader.fail(child(path, str(key)), "unknown_field", f"unknown field; known: {known}")
    config = LifecycleConfig(
        activities=reader.activities(),
        activity_keys=frozenset(reader.names("activity_keys", DEFAULT_CONFIG.activity_keys)),
        session_gap_s=reader.positive("session_gap_hours", DEFAULT_CONFIG.session_gap_s / HOUR_S)
        * HOUR_S,
        return_days=reader.return_days(),
        return_activities=frozenset(reader.names("return_activities", ())),
        retention_days=reader.retention_days(),
        drop_off_s=reader.positive("drop_off_minutes", DEFAULT_CONFIG.drop_off_s / MINUTE_S)
        * MINUTE_S,
        onboarding_steps=reader.steps(),
        default_region=default_region,
    )
    return None if reader.failed else config


def check_against_plan(
    config: LifecycleConfig, derived: Mapping[str, bool], path: str, fail: Fail
) -> None:
    """Activities must not shadow plan keys; every key the engine emits must be ``derived``;
    every activity key must be a plan key that sources send (not ``derived``).

    ``derived`` maps each plan key to its ``derived`` flag.
    """
    activities = child(path, "activities")
    for name in config.activities:
        if name in derived:
            message = f"activity {name!r} is also a plan key; give the activity another name"
            fail(child(activities, name), "activity_is_plan_key", message)
    for key in config.emitted_keys:
        if key not in derived:
            fail(path, "lifecycle_key_missing", f"the plan needs the key {key!r} (derived: true)")
        elif not derived[key]:
            fail(path, "lifecycle_key_not_derived", f"plan key {key!r} needs derived: true")
    _check_activity_keys(config, derived, child(path, "activity_keys"), fail)
    if config.return_activities - set(config.activities):
        unknown = ", ".join(sorted(config.return_activities - set(config.activities)))
        fail(child(path, "return_activities"), "unknown_activity", f"not activities: {unknown}")


def _check_activity_keys(
    config: LifecycleConfig, derived: Mapping[str, bool], path: str, fail: Fail
) -> None:
    for key in sorted(config.activity_keys):
        if key not in derived:
            message = f"{key!r} is not a plan key (activity_keys: [] counts no sent event)"
            fail(path, "unknown_plan_key", message)
        elif derived[key]:
            message = f"plan key {key!r} is derived: only keys that sources send count as activity"
            fail(path, "activity_key_derived", message)


class _Reader:
    def __init__(self, data: Mapping[str, Any], path: str, fail: Fail) -> None:
        self.data, self.path, self._fail, self.failed = data, path, fail, False

    def fail(self, path: str, rule: str, problem: str) -> None:
        self.failed = True
        self._fail(path, rule, problem)

    def activities(self) -> Mapping[str, frozenset[str]]:
        raw = self.data.get("activities")
        path = child(self.path, "activities")
        if raw is None:
            return DEFAULT_CONFIG.activities
        if not isinstance(raw, Mapping) or not raw:
            self.fail(path, "field_type", "must map activity names to lists of sources")
            return DEFAULT_CONFIG.activities
        found: dict[str, frozenset[str]] = {}
        for name, sources in raw.items():
            sub = child(path, str(name))
            if not _is_names(sources) or not sources:
                self.fail(sub, "field_type", "must be a non-empty list of source kinds or names")
            else:
                found[str(name)] = frozenset(sources)
        return found

    def positive(self, key: str, default: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(child(self.path, key), "field_value", "must be a number above 0")
            return default
        return float(value)

    def names(self, key: str, default: Collection[str]) -> list[str]:
        value = self.data.get(key, sorted(default))
        if not _is_names(value):
            self.fail(child(self.path, key), "field_type", "must be a list of names")
            return []
        return list(value)

    def return_days(self) -> tuple[int, int]:
        value = self.data.get("return_days", list(DEFAULT_CONFIG.return_days))
        if not _is_days(value) or len(value) != 2 or value[0] > value[1]:
            problem = "must be [first day, last day], e.g. [1, 7]"
            self.fail(child(self.path, "return_days"), "field_value", problem)
            return DEFAULT_CONFIG.return_days
        return (value[0], value[1])

    def retention_days(self) -> tuple[int, ...]:
        value = self.data.get("retention_days", list(DEFAULT_CONFIG.retention_days))
        if not _is_days(value) or sorted(set(value)) != value:
            problem = "must be increasing whole days, e.g. [14, 30, 60]"
            self.fail(child(self.path, "retention_days"), "field_value", problem)
            return DEFAULT_CONFIG.retention_days
        return tuple(value)

    def steps(self) -> Mapping[str, str]:
        value = self.data.get("onboarding_steps")
        if value is None:
            return DEFAULT_CONFIG.onboarding_steps
        good = isinstance(value, Mapping) and value
        if not good or not all(isinstance(v, str) and v for v in value.values()):
            problem = "must map each step, in order, to the property its value is reported as"
            self.fail(child(self.path, "onboarding_steps"), "field_type", problem)
            return DEFAULT_CONFIG.onboarding_steps
        return {str(step): prop for step, prop in value.items()}


def _is_names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _is_days(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    )
