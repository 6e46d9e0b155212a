"""Plain activity from the bot and mini app, read from an ingest item (never sent to Meta).

An activity item has the ingest shape with an activity name as ``event``::

    {"event": "onboarding_step", "event_time": 1763800000,
     "user": {"telegram_id": 42}, "properties": {"step": "phone", "value": "+998 90 123 45 67"},
     "context": {"session_id": "onb-42"}}

The user is ``user.telegram_id`` (else ``user.user_id``): without one there is no state to keep.
An onboarding step's value comes from ``properties.value``, else the step's seed property
(``phone_number``), else, for the name and phone steps, ``user.first_name``/``user.phone``.
Values of the personal steps are hashed here (``capigate.normalize``) and only the digests
travel on; an activity in the future counts as now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from capigate.errors import InvalidField
from capigate.findings import Finding, error, warning
from capigate.lifecycle.config import (
    CHECKOUT_CANCELLED,
    CHECKOUT_COMPLETED,
    CHECKOUT_STARTED,
    ONBOARDING_STEP,
    PII_STEPS,
    LifecycleConfig,
)
from capigate.normalize import hash_field

SPEC = "DESIGN The tracking plan (derived events)"
CHECKOUT_ACTIVITIES = frozenset({CHECKOUT_STARTED, CHECKOUT_COMPLETED, CHECKOUT_CANCELLED})
_META_KEYS = {"first_name": "fn", "last_name": "ln", "phone": "ph"}


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing a user did, at ``at_s``; ``properties`` stay in memory only."""

    name: str
    user_key: str
    at_s: float
    telegram_id: str | None = None
    user_id: str | None = None
    step: str | None = None  # the onboarding step, or the checkout's step if given
    value: str | None = None  # onboarding value; personal steps: SHA-256 digests, space-separated
    session_id: str | None = None
    registered_at: float | None = None
    properties: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def read_activity(
    item: Mapping[str, Any], config: LifecycleConfig, *, now_s: float
) -> tuple[Activity | None, list[Finding]]:
    """The activity in ``item`` and every finding (paths into the item); ``None`` on an error."""
    findings: list[Finding] = []
    name = str(item.get("event"))
    user = _section(item, "user", findings)
    properties = _section(item, "properties", findings)
    context = _section(item, "context", findings)
    telegram_id, user_id = _id_text(user.get("telegram_id")), _id_text(user.get("user_id"))
    user_key = telegram_id or user_id
    if user_key is None:
        message = f"activity {name!r} needs user.telegram_id (or user.user_id) to keep its state"
        findings.append(error("$.user.telegram_id", "activity_user_required", message, SPEC))
    at_s = _time(item.get("event_time"), now_s, findings)
    step, value = None, None
    if name == ONBOARDING_STEP:
        step, value = _onboarding(user, properties, config, findings)
    elif name in CHECKOUT_ACTIVITIES:
        step = _text(properties.get("step"))
    if user_key is None or any(f.is_error for f in findings):
        return None, findings
    activity = Activity(
        name=name,
        user_key=user_key,
        at_s=at_s,
        telegram_id=telegram_id,
        user_id=user_id,
        step=step,
        value=value,
        session_id=_text(context.get("session_id")),
        registered_at=_registered_at(properties.get("registered_at"), now_s, findings),
        properties=MappingProxyType(dict(properties)),
    )
    return activity, findings


def from_sent(item: Mapping[str, Any], plan_key: str, *, now_s: float) -> Activity | None:
    """A sent event of an activity key (``LifecycleConfig.activity_keys``) as plain activity.

    The plan has checked the item already; ``None`` when it names no user. Its time counts as
    in ``read_activity`` (missing or in the future: now).
    """
    findings: list[Finding] = []
    user = _section(item, "user", findings)
    telegram_id, user_id = _id_text(user.get("telegram_id")), _id_text(user.get("user_id"))
    user_key = telegram_id or user_id
    if user_key is None:
        return None
    return Activity(
        name=plan_key,
        user_key=user_key,
        at_s=_time(item.get("event_time"), now_s, findings),
        telegram_id=telegram_id,
        user_id=user_id,
        session_id=_text(_section(item, "context", findings).get("session_id")),
        properties=MappingProxyType(dict(_section(item, "properties", findings))),
    )


def _section(item: Mapping[str, Any], name: str, findings: list[Finding]) -> Mapping[str, Any]:
    value = item.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        findings.append(error(f"$.{name}", "field_type", f"{name} must be an object"))
        return {}
    return value


def _time(value: object, now_s: float, findings: list[Finding]) -> float:
    if value is None:
        return now_s
    at_s = _number(value)
    if at_s is None:
        message = "event_time must be Unix seconds (a number)"
        findings.append(error("$.event_time", "event_time_type", message, "§2"))
        return now_s
    if at_s > now_s:
        message = "event_time is in the future; the activity counts as now"
        findings.append(warning("$.event_time", "activity_time_future", message, SPEC))
        return now_s
    return at_s


def _registered_at(value: object, now_s: float, findings: list[Finding]) -> float | None:
    if value is None:
        return None
    at_s = _number(value)
    if at_s is None or at_s > now_s:
        message = "registered_at must be Unix seconds, not in the future; it was ignored"
        findings.append(warning("$.properties.registered_at", "registered_at", message, SPEC))
        return None
    return at_s


def _onboarding(
    user: Mapping[str, Any],
    properties: Mapping[str, Any],
    config: LifecycleConfig,
    findings: list[Finding],
) -> tuple[str | None, str | None]:
    step = _text(properties.get("step"))
    if step is None or step not in config.onboarding_steps:
        steps = ", ".join(config.onboarding_steps)
        message = f"onboarding_step needs properties.step, one of: {steps}"
        findings.append(error("$.properties.step", "onboarding_step", message, SPEC))
        return None, None
    if step in PII_STEPS:
        return step, _hashed_value(step, user, properties, config, findings)
    value = _text(properties.get("value")) or _text(properties.get(config.onboarding_steps[step]))
    if value is None:
        seed_name = config.onboarding_steps[step]
        message = f"onboarding step {step!r} needs properties.value (or properties.{seed_name})"
        findings.append(error("$.properties.value", "onboarding_value", message, SPEC))
    return step, value


def _hashed_value(
    step: str,
    user: Mapping[str, Any],
    properties: Mapping[str, Any],
    config: LifecycleConfig,
    findings: list[Finding],
) -> str | None:
    """SHA-256 digests of a personal step's value, one per user field, space-separated."""
    fields = PII_STEPS[step]
    raw = _text(properties.get("value")) or _text(properties.get(config.onboarding_steps[step]))
    parts = _split(raw, len(fields)) if raw else [_text(user.get(name)) for name in fields]
    if not any(parts):
        message = f"onboarding step {step!r} needs properties.value (or user.{fields[0]})"
        findings.append(error("$.properties.value", "onboarding_value", message, SPEC))
        return None
    region = config.default_region
    digests = [
        _digest(name, part, region, findings) if part else ""
        for name, part in zip(fields, parts, strict=False)
    ]
    return " ".join(digests)  # positional: "<fn> <ln>"; an empty part stays empty


def _digest(name: str, value: str, region: str | None, findings: list[Finding]) -> str:
    try:
        return hash_field(_META_KEYS[name], value, default_region=region)
    except InvalidField as exc:
        message = f"{exc.message}; the step counts as done, but its value is not sent"
        findings.append(warning("$.properties.value", exc.rule, message, SPEC))
        return ""


def _split(value: str, count: int) -> list[str | None]:
    """``"Ali Valiyev"`` -> first name and the rest, when the step has two fields."""
    if count == 1:
        return [value]
    first, _, rest = value.partition(" ")
    return [first, rest.strip() or None]


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return None


def _id_text(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
