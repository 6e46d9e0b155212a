"""The lifecycle rules: pure functions from (state, activity or time) to (state, derived events).

``on_activity`` runs when a user does something; ``on_tick`` runs in the worker for users whose
``next_due_at`` has come. Times are Unix seconds; "day N" of a user is the N-th whole 24 h
period since registration (``floor((t - registered_at) / 86400)``), not a calendar day.

Registration
    The user's first activity registers them, at its ``properties.registered_at`` if the source
    knows it (users who predate the gateway), else at the activity's time. It never moves. A
    sent event of an activity key (seed 000: ``start_bot``) is activity too, so a /start
    registers the user (``LifecycleConfig.activity_keys``).

AppLaunch (``app_open``)
    An activity that comes ``session_gap_s`` (12 h) or more after the user's previous activity.
    Not on the very first activity (there was no inactivity), nor for a late activity older
    than the last one. event_id ``session_{user_id}_{ts}``, ``ts`` being the activity's time.

7d_Return (``return_7d``)
    Once per user: the first activity on day ``return_days`` (1..7 inclusive, i.e. 24 h to 8 x
    24 h after registration), optionally only of ``return_activities`` (e.g. expense_logged).
    custom_data ``days_since_start`` (the day) and ``entries_count`` (expenses so far).

Retention (``retention_{N}d`` for N in 14, 30, 60, 90, 180, 365)
    Milestone N's window is [day N, the next milestone's day); the last one never closes. The
    first activity inside a window emits that milestone, once per user ever. A user who skips
    a whole window (active on day 13, then day 35) does not get it later (no 14d_Return, but
    1m_Return on day 35): "active on day N" means active in N's window, not "N days passed".
    custom_data ``days_active`` = N. event_id ``retention{N}_{user_id}``.

First_Entry (``first_entry``)
    The user's first ``expense_logged``, with ``entry_mode``, ``amount``, ``category_assigned``
    (or ``category``) and ``currency`` (else the currency chosen in onboarding).

CompleteRegistration (``onboarding_complete``)
    When the last of the configured onboarding steps (seed: language, name, phone, currency,
    capital; any order, repeats overwrite) is done, once. It carries the step values as seed
    000's properties; name and phone go as hashed ``user.first_name``/``last_name``/``phone``
    (sent as fn/ln/ph), never in custom_data. The plan adds ``step_count=5``. A value written
    as a plain decimal number (``5000000``, ``-12.5``: optional minus, no leading zero, no
    exponent) goes out as a JSON number, as the step's own event sends it; any other value
    stays text (``UZS``, ``uz``, and ``007``, whose leading zero makes it a code).

Backfills (``on_sent``)
    A source may send a once-only event itself (first_entry, return_7d, retention_{N}d,
    onboarding_complete). Its id equals the derived one, so the store drops whichever comes
    second within its dedup window; ``on_sent`` also marks it done in the state, so it is not
    derived later either.

Drop_Off (``drop_off``)
    An onboarding (from its first step) or a checkout (``checkout_started``) with no further
    step for ``drop_off_s`` (30 min) is abandoned: ``on_tick`` emits Drop_Off once for that
    session, at the time of its last step, with ``step_at_exit`` (``onboarding_<first step
    not done>`` or ``checkout[_<step>]``), ``session_duration`` (first to last step, seconds)
    and ``reason`` ``timeout``. ``checkout_cancelled`` emits it at once (``reason`` from the
    activity, else ``cancelled``); ``checkout_completed`` ends the checkout without one. A
    step after a drop-off starts a new session. event_id ``dropoff_{session_id}``, the
    session id being the source's ``context.session_id`` at the flow's start, else
    ``onboarding-<user>-<start ts>`` / ``checkout-<user>-<start ts>``.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from capigate.lifecycle.activity import Activity
from capigate.lifecycle.config import (
    APP_LAUNCH_KEY,
    CHECKOUT_CANCELLED,
    CHECKOUT_COMPLETED,
    CHECKOUT_STARTED,
    COMPLETE_KEY,
    DAY_S,
    DROP_OFF_KEY,
    EXPENSE_LOGGED,
    FIRST_ENTRY_KEY,
    ONBOARDING_STEP,
    PII_STEPS,
    RETURN_KEY,
    LifecycleConfig,
    retention_key,
)
from capigate.lifecycle.derived import DerivedEvent
from capigate.lifecycle.state import Flow, UserState

Step = tuple[UserState, list[DerivedEvent]]
FIRST_ENTRY_FIELDS = ("entry_mode", "amount", "category_assigned", "currency")
TIMEOUT_REASON = "timeout"
CANCELLED_REASON = "cancelled"
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def on_activity(
    state: UserState | None, activity: Activity, now_s: float, config: LifecycleConfig
) -> Step:
    """The user's state after ``activity`` and the events it derives, in order."""
    at_s = min(activity.at_s, now_s)
    state = _identified(state or UserState(activity.user_key), activity, at_s)
    events: list[DerivedEvent] = []
    previous = state.last_activity_at
    if previous is not None and at_s - previous >= config.session_gap_s:
        events.append(_app_launch(activity, at_s))
    state = replace(state, last_activity_at=at_s if previous is None else max(previous, at_s))
    for rule in (_by_kind, _return_7d, _retention):
        state, more = rule(state, activity, at_s, config)
        events.extend(more)
    return _with_due(state, config), events


def on_tick(state: UserState, now_s: float, config: LifecycleConfig) -> Step:
    """The user's state at ``now_s`` and the Drop_Off events of flows that timed out."""
    events: list[DerivedEvent] = []
    onboarding, checkout = state.onboarding, state.checkout
    if onboarding is not None and now_s >= onboarding.last_at + config.drop_off_s:
        step = _pending_step(state, config)
        events.append(_drop_off(onboarding, f"onboarding_{step}", TIMEOUT_REASON))
        state = replace(state, onboarding=None)
    if checkout is not None and now_s >= checkout.last_at + config.drop_off_s:
        events.append(_drop_off(checkout, _checkout_exit(checkout), TIMEOUT_REASON))
        state = replace(state, checkout=None)
    return _with_due(state, config), events


def on_sent(
    state: UserState | None, user_key: str, plan_key: str, at_s: float, config: LifecycleConfig
) -> UserState | None:
    """The state after a source sent a once-only event itself (a backfill), or ``None``.

    ``None`` means nothing to remember: ``plan_key`` is not once-only (AppLaunch, Drop_Off) or
    was already done. Marking it done keeps the engine from deriving it again later, even once
    the store's dedup window has forgotten the backfill's event_id.
    """
    state = state or UserState(user_key)
    retention = {retention_key(days): days for days in config.retention_days}
    if plan_key == FIRST_ENTRY_KEY and state.first_entry_at is None:
        return replace(state, first_entry_at=at_s)
    if plan_key == RETURN_KEY and state.return_7d_at is None:
        return replace(state, return_7d_at=at_s)
    if plan_key in retention and retention[plan_key] not in state.retention_done:
        return replace(state, retention_done=state.retention_done | {retention[plan_key]})
    if plan_key == COMPLETE_KEY and state.onboarding_completed_at is None:
        done = replace(state, onboarding_completed_at=at_s, onboarding=None)
        return _with_due(done, config)
    return None


def day_of(at_s: float, registered_at: float) -> int:
    """The user's day number at ``at_s``: whole 24 h periods since registration."""
    return math.floor((at_s - registered_at) / DAY_S)


# --- state bookkeeping ------------------------------------------------------------------------


def _identified(state: UserState, activity: Activity, at_s: float) -> UserState:
    registered_at = state.registered_at
    if registered_at is None:
        registered_at = activity.registered_at if activity.registered_at is not None else at_s
    return replace(
        state,
        telegram_id=activity.telegram_id or state.telegram_id,
        user_id=activity.user_id or state.user_id,
        registered_at=registered_at,
    )


def _with_due(state: UserState, config: LifecycleConfig) -> UserState:
    flows = [flow for flow in (state.onboarding, state.checkout) if flow is not None]
    due = min((flow.last_at + config.drop_off_s for flow in flows), default=None)
    return replace(state, next_due_at=due)


def _flow(flow: Flow | None, activity: Activity, at_s: float, kind: str) -> Flow:
    """``flow`` advanced to ``at_s``, or a new one (a new session) if there is none."""
    if flow is None:
        session_id = activity.session_id or f"{kind}-{activity.user_key}-{int(at_s)}"
        return Flow(session_id, at_s, at_s, activity.step)
    return replace(flow, last_at=max(flow.last_at, at_s), step=activity.step or flow.step)


# --- rules ------------------------------------------------------------------------------------


def _by_kind(state: UserState, activity: Activity, at_s: float, config: LifecycleConfig) -> Step:
    if activity.name == EXPENSE_LOGGED:
        return _expense(state, activity, at_s)
    if activity.name == ONBOARDING_STEP:
        return _onboarding_step(state, activity, at_s, config)
    if activity.name == CHECKOUT_STARTED:
        return replace(state, checkout=_flow(state.checkout, activity, at_s, "checkout")), []
    if activity.name == CHECKOUT_COMPLETED:
        return replace(state, checkout=None), []
    if activity.name == CHECKOUT_CANCELLED:
        flow = _flow(state.checkout, activity, at_s, "checkout")
        reason = _text(activity.properties.get("reason")) or CANCELLED_REASON
        return replace(state, checkout=None), [_drop_off(flow, _checkout_exit(flow), reason)]
    return state, []


def _app_launch(activity: Activity, at_s: float) -> DerivedEvent:
    properties = {"session_id": activity.session_id}
    properties["app_version"] = _text(activity.properties.get("app_version"))
    present = {name: value for name, value in properties.items() if value is not None}
    return DerivedEvent(APP_LAUNCH_KEY, int(at_s), present)


def _expense(state: UserState, activity: Activity, at_s: float) -> Step:
    state = replace(state, entries_count=state.entries_count + 1)
    if state.first_entry_at is not None:
        return state, []
    given = dict(activity.properties)
    if "category_assigned" not in given and "category" in given:
        given["category_assigned"] = given["category"]
    if "currency" not in given and "currency" in state.onboarding_values:
        given["currency"] = state.onboarding_values["currency"]
    properties = {name: given[name] for name in FIRST_ENTRY_FIELDS if given.get(name) is not None}
    event = DerivedEvent(FIRST_ENTRY_KEY, int(at_s), properties)
    return replace(state, first_entry_at=at_s), [event]


def _onboarding_step(
    state: UserState, activity: Activity, at_s: float, config: LifecycleConfig
) -> Step:
    if state.onboarding_completed_at is not None or activity.step is None:
        return state, []
    values = {**state.onboarding_values, activity.step: activity.value or ""}
    flow = _flow(state.onboarding, activity, at_s, "onboarding")
    state = replace(state, onboarding_values=values, onboarding=flow)
    if any(step not in values for step in config.onboarding_steps):
        return state, []
    event = _registration(values, config, at_s)
    return replace(state, onboarding=None, onboarding_completed_at=at_s), [event]


def _registration(values: dict[str, str], config: LifecycleConfig, at_s: float) -> DerivedEvent:
    properties: dict[str, Any] = {}
    user: dict[str, str] = {}
    for step, name in config.onboarding_steps.items():
        if step in PII_STEPS:
            digests = values[step].split(" ")
            user.update((f, d) for f, d in zip(PII_STEPS[step], digests, strict=False) if d)
        elif values[step]:
            properties[name] = _number_or_text(values[step])
    return DerivedEvent(COMPLETE_KEY, int(at_s), properties, user)


def _number_or_text(value: str) -> int | float | str:
    """A plain decimal number as a number (see CompleteRegistration above), else the text."""
    if not _DECIMAL.fullmatch(value):
        return value
    if "." not in value:
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else value


def _return_7d(state: UserState, activity: Activity, at_s: float, config: LifecycleConfig) -> Step:
    wanted = config.return_activities
    if state.return_7d_at is not None or (wanted and activity.name not in wanted):
        return state, []
    first, last = config.return_days
    day = day_of(at_s, _registered(state))
    if not first <= day <= last:
        return state, []
    properties = {"days_since_start": day, "entries_count": state.entries_count}
    return replace(state, return_7d_at=at_s), [DerivedEvent(RETURN_KEY, int(at_s), properties)]


def _retention(state: UserState, activity: Activity, at_s: float, config: LifecycleConfig) -> Step:
    day = day_of(at_s, _registered(state))
    reached = [days for days in config.retention_days if days <= day]
    if not reached or max(reached) in state.retention_done:
        return state, []
    milestone = max(reached)
    event = DerivedEvent(retention_key(milestone), int(at_s), {"days_active": milestone})
    return replace(state, retention_done=state.retention_done | {milestone}), [event]


def _drop_off(flow: Flow, step_at_exit: str, reason: str) -> DerivedEvent:
    properties = {
        "step_at_exit": step_at_exit,
        "reason": reason,
        "session_duration": int(flow.last_at - flow.started_at),
    }
    return DerivedEvent(DROP_OFF_KEY, int(flow.last_at), properties, session_id=flow.session_id)


def _pending_step(state: UserState, config: LifecycleConfig) -> str:
    missing = (step for step in config.onboarding_steps if step not in state.onboarding_values)
    return next(missing, "complete")


def _checkout_exit(flow: Flow) -> str:
    return f"checkout_{flow.step}" if flow.step else "checkout"


def _registered(state: UserState) -> float:
    assert state.registered_at is not None  # set by _identified before any rule runs
    return state.registered_at


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
