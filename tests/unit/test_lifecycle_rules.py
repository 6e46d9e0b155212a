"""Every lifecycle rule on an injected time line: what it derives, when, and exactly how often."""

from __future__ import annotations

import hashlib

import pytest

from capigate.lifecycle import (
    DEFAULT_CONFIG,
    Flow,
    UserState,
    day_of,
    on_activity,
    on_sent,
    on_tick,
)
from capigate.lifecycle.config import LifecycleConfig
from tests.unit.lifecycle_kit import DAY, HOUR, MINUTE, T0, Life, act, keys

ONBOARDING = [
    ("language", "uz"),
    ("name", "fn ln"),
    ("phone", "ph"),
    ("currency", "UZS"),
    ("capital", "1000000"),
]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- registration and sessions ----------------------------------------------------------------


def test_first_activity_registers_the_user_and_derives_nothing() -> None:
    """The first activity sets registration and last activity; no AppLaunch without a gap."""
    life = Life()
    assert life.do("bot_message", T0) == []
    assert life.state is not None
    assert (life.state.registered_at, life.state.last_activity_at) == (T0, T0)
    assert (life.state.telegram_id, life.state.next_due_at) == ("42", None)


def test_registered_at_from_the_source_wins_and_never_moves() -> None:
    """A source that knows the registration date sets it once; later claims are ignored."""
    life = Life()
    life.do("bot_message", T0, registered_at=T0 - 3 * DAY)
    life.do("bot_message", T0 + 1, registered_at=T0 - 300 * DAY)
    assert life.state is not None and life.state.registered_at == T0 - 3 * DAY


def test_ids_learned_later_are_kept() -> None:
    """A user id sent with a later activity joins the state; a missing one does not erase it."""
    state, _ = on_activity(None, act("bot_message", T0), T0, DEFAULT_CONFIG)
    state, _ = on_activity(state, act("bot_message", T0 + 1, user_id="u-9"), T0 + 1, DEFAULT_CONFIG)
    state, _ = on_activity(state, act("bot_message", T0 + 2), T0 + 2, DEFAULT_CONFIG)
    assert (state.telegram_id, state.user_id) == ("42", "u-9")


@pytest.mark.parametrize(("gap_s", "launches"), [(12 * HOUR - 1, 0), (12 * HOUR, 1), (3 * DAY, 1)])
def test_app_launch_after_twelve_hours_without_activity(gap_s: float, launches: int) -> None:
    """AppLaunch fires for a gap of 12 h or more, not for 12 h minus a second."""
    life = Life()
    life.do("bot_message", T0)
    derived = life.do("app_opened", T0 + gap_s, session_id="s-2", properties={"app_version": "3"})
    launch = [e for e in derived if e.plan_key == "app_open"]
    assert len(launch) == launches
    if launches:
        assert launch[0].event_time == int(T0 + gap_s)
        assert dict(launch[0].properties) == {"session_id": "s-2", "app_version": "3"}


def test_app_launch_gap_is_measured_from_the_last_activity() -> None:
    """Steady activity every 11 h never launches; the 12 h gap counts from the latest one."""
    life = Life()
    for i in range(6):
        life.do("bot_message", T0 + i * 11 * HOUR)
    assert "app_open" not in life.names()


def test_a_late_activity_neither_launches_nor_moves_last_activity_back() -> None:
    """An activity older than the last one (a replayed spool) changes no session."""
    life = Life()
    life.do("bot_message", T0)
    life.do("bot_message", T0 + 20 * HOUR)
    assert life.do("bot_message", T0 + HOUR) == []
    assert life.state is not None and life.state.last_activity_at == T0 + 20 * HOUR


def test_an_activity_from_the_future_counts_at_now() -> None:
    """on_activity never records a time after ``now_s``."""
    state, _ = on_activity(None, act("bot_message", T0 + 50), T0, DEFAULT_CONFIG)
    assert state.last_activity_at == T0


def test_day_of_counts_whole_days_since_registration() -> None:
    """Day 0 is the first 24 h; the boundary belongs to the next day; before is negative."""
    assert day_of(T0 + DAY - 1, T0) == 0
    assert day_of(T0 + DAY, T0) == 1
    assert day_of(T0 - 1, T0) == -1


# --- 7d_Return --------------------------------------------------------------------------------


def test_return_7d_on_the_first_activity_of_days_one_to_seven() -> None:
    """Day 0 is not a return; the first activity on day 1..7 is, once, with its counts."""
    life = Life()
    life.do("expense_logged", T0)
    life.do("expense_logged", T0 + 2 * HOUR)
    assert "return_7d" not in life.names()
    derived = life.do("expense_logged", T0 + 3 * DAY)
    [ret] = [e for e in derived if e.plan_key == "return_7d"]
    assert dict(ret.properties) == {"days_since_start": 3, "entries_count": 3}
    life.do("bot_message", T0 + 4 * DAY)
    assert life.names().count("return_7d") == 1


@pytest.mark.parametrize(("offset_s", "returns"), [(8 * DAY - 1, True), (8 * DAY, False)])
def test_return_7d_window_ends_with_day_seven(offset_s: float, returns: bool) -> None:
    """Day 7 (up to 8 x 24 h) still counts; day 8 does not."""
    life = Life()
    life.do("bot_message", T0)
    assert ("return_7d" in keys(life.do("bot_message", T0 + offset_s))) is returns


def test_return_7d_can_require_a_kind_of_activity() -> None:
    """With return_activities, only those activities count as the return."""
    life = Life(LifecycleConfig(return_activities=frozenset({"expense_logged"})))
    life.do("bot_message", T0)
    assert "return_7d" not in keys(life.do("bot_message", T0 + 2 * DAY))
    assert "return_7d" in keys(life.do("expense_logged", T0 + 3 * DAY))


# --- retention --------------------------------------------------------------------------------


def test_retention_fires_on_the_first_activity_in_each_window() -> None:
    """Day 14 -> 14d, day 29 nothing new, day 30 -> 30d; days_active carries N."""
    life = Life()
    life.do("bot_message", T0)
    derived = life.do("bot_message", T0 + 14 * DAY)
    [event] = [e for e in derived if e.plan_key == "retention_14d"]
    assert (event.properties["days_active"], event.event_time) == (14, int(T0 + 14 * DAY))
    later = life.do("bot_message", T0 + 29 * DAY + 23 * HOUR)
    assert not [e for e in later if e.plan_key.startswith("retention")]
    assert "retention_30d" in keys(life.do("bot_message", T0 + 30 * DAY))


def test_retention_skipped_windows_are_not_emitted_later() -> None:
    """Active on day 13 then day 35: 1m_Return only; 14d is gone for good."""
    life = Life()
    life.do("bot_message", T0)
    life.do("bot_message", T0 + 13 * DAY)
    later = life.do("bot_message", T0 + 35 * DAY)
    assert "retention_30d" in keys(later)
    assert "retention_14d" not in life.names()


def test_retention_last_window_stays_open() -> None:
    """Day 500 is still inside the 365-day window."""
    life = Life()
    life.do("bot_message", T0)
    assert "retention_365d" in keys(life.do("bot_message", T0 + 500 * DAY))


def test_retention_is_never_repeated_even_if_state_says_otherwise_later() -> None:
    """A milestone recorded as done is not emitted again."""
    state = UserState("42", registered_at=T0, last_activity_at=T0, retention_done=frozenset({14}))
    _, derived = on_activity(
        state, act("bot_message", T0 + 15 * DAY), T0 + 15 * DAY, DEFAULT_CONFIG
    )
    assert "retention_14d" not in keys(derived)


# --- First_Entry ------------------------------------------------------------------------------


def test_first_entry_on_the_first_expense_only() -> None:
    """The first expense derives First_Entry with the seed's fields; later ones count only."""
    life = Life()
    props = {"entry_mode": "voice", "amount": 25000, "category": "food", "currency": "UZS"}
    [first] = life.do("expense_logged", T0, properties=props)
    assert first.plan_key == "first_entry"
    assert dict(first.properties) == {
        "entry_mode": "voice",
        "amount": 25000,
        "category_assigned": "food",
        "currency": "UZS",
    }
    assert life.do("expense_logged", T0 + 60, properties=props) == []
    assert life.state is not None and life.state.entries_count == 2


def test_first_entry_takes_the_onboarding_currency_when_it_has_none() -> None:
    """An expense without a currency uses the one the user chose in onboarding."""
    life = Life()
    life.do("onboarding_step", T0, step="currency", value="USD")
    [first] = life.do("expense_logged", T0 + 60, properties={"amount": 5})
    assert dict(first.properties) == {"amount": 5, "currency": "USD"}


# --- onboarding and CompleteRegistration ------------------------------------------------------


def _onboard(life: Life, start: float, steps: list[tuple[str, str]], every_s: float = 60) -> None:
    for i, (step, value) in enumerate(steps):
        life.do("onboarding_step", start + i * every_s, step=step, value=value)


def test_complete_registration_when_the_fifth_step_is_done() -> None:
    """Five steps in any order complete onboarding once; PII goes as hashed user fields."""
    life = Life()
    name_value = f"{_sha('ali')} {_sha('valiyev')}"
    steps = [("phone", _sha("998901234567")), ("language", "uz"), ("name", name_value)]
    _onboard(life, T0, [*steps, ("capital", "1000000")])
    assert life.names() == []
    derived = life.do("onboarding_step", T0 + 600, step="currency", value="UZS")
    [done] = derived
    assert (done.plan_key, done.event_time) == ("onboarding_complete", int(T0 + 600))
    assert dict(done.properties) == {
        "language_selected": "uz",
        "currency_selected": "UZS",
        "start_capital_amount": 1_000_000,
    }
    assert dict(done.user) == {
        "first_name": _sha("ali"),
        "last_name": _sha("valiyev"),
        "phone": _sha("998901234567"),
    }
    assert life.state is not None and life.state.onboarding is None
    assert life.state.next_due_at is None


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("5000000", 5_000_000),
        ("-12.5", -12.5),
        ("0", 0),
        ("0.25", 0.25),
        ("007", "007"),
        ("1e6", "1e6"),
        ("5 000 000", "5 000 000"),
        ("12.", "12."),
        ("+5", "+5"),
        ("9" * 400 + ".5", "9" * 400 + ".5"),
        ("UZS", "UZS"),
    ],
)
def test_plain_decimal_step_values_go_out_as_numbers(value: str, sent: object) -> None:
    """Only a plain decimal number becomes a JSON number; codes and other text stay text."""
    life = Life()
    _onboard(life, T0, [*ONBOARDING[:4], ("capital", value)])
    [done] = life.events
    got = done.properties["start_capital_amount"]
    assert (got, type(got)) == (sent, type(sent))


def test_onboarding_completes_once_and_later_steps_are_ignored() -> None:
    """Repeating a step after completion derives nothing and changes no value."""
    life = Life()
    _onboard(life, T0, ONBOARDING)
    later = life.do("onboarding_step", T0 + DAY, step="language", value="ru")
    assert "onboarding_complete" not in keys(later)
    assert life.state is not None and life.state.onboarding_values["language"] == "uz"
    assert life.names().count("onboarding_complete") == 1


def test_empty_values_are_not_sent() -> None:
    """A step done without a usable value (a bad phone) sends nothing for it."""
    life = Life()
    _onboard(life, T0, [*ONBOARDING[:2], ("phone", ""), *ONBOARDING[3:]])
    [done] = life.events
    assert "phone" not in done.user
    life = Life()
    _onboard(life, T0, [*ONBOARDING[:3], ("currency", ""), *ONBOARDING[4:]])
    assert "currency_selected" not in life.events[0].properties


def test_onboarding_flow_and_due_time() -> None:
    """The first step opens a flow (session from the source, else synthesized); due 30 min on."""
    life = Life()
    life.do("onboarding_step", T0, step="language", value="uz")
    assert life.state is not None and life.state.onboarding is not None
    assert life.state.onboarding.session_id == f"onboarding-42-{int(T0)}"
    assert life.state.next_due_at == T0 + 30 * MINUTE
    life.do("onboarding_step", T0 + 10 * MINUTE, step="name", value="x ", session_id="later")
    assert life.state.onboarding.session_id == f"onboarding-42-{int(T0)}"
    assert life.state.next_due_at == T0 + 40 * MINUTE


# --- Drop_Off ---------------------------------------------------------------------------------


def test_onboarding_drop_off_after_thirty_idle_minutes_once() -> None:
    """The tick derives one Drop_Off at the last step's time, naming the first missing step."""
    life = Life()
    _onboard(life, T0, ONBOARDING[:2], every_s=5 * MINUTE)
    assert life.tick(T0 + 5 * MINUTE + 30 * MINUTE - 1) == []
    [drop] = life.tick(T0 + 35 * MINUTE)
    assert (drop.plan_key, drop.event_time) == ("drop_off", int(T0 + 5 * MINUTE))
    assert dict(drop.properties) == {
        "step_at_exit": "onboarding_phone",
        "reason": "timeout",
        "session_duration": 300,
    }
    assert drop.session_id == f"onboarding-42-{int(T0)}"
    assert life.tick(T0 + DAY) == []
    assert life.state is not None and life.state.next_due_at is None


def test_a_step_after_a_drop_off_starts_a_new_session() -> None:
    """Coming back after a drop-off is a new session that can drop off again, or complete."""
    life = Life()
    life.do("onboarding_step", T0, step="language", value="uz", session_id="onb-1")
    life.tick(T0 + HOUR)
    life.do("onboarding_step", T0 + 2 * HOUR, step="name", value="a b")
    life.tick(T0 + 3 * HOUR)
    drops = [e for e in life.events if e.plan_key == "drop_off"]
    assert [d.session_id for d in drops] == ["onb-1", f"onboarding-42-{int(T0 + 2 * HOUR)}"]
    _onboard(life, T0 + DAY, ONBOARDING[2:])
    assert life.names()[-1] == "onboarding_complete"


def test_checkout_abandoned_checkout_drops_off_with_its_step() -> None:
    """checkout_started then silence: Drop_Off checkout_<step> after the timeout."""
    life = Life()
    life.do("checkout_started", T0, session_id="pay-1")
    life.do("checkout_started", T0 + 4 * MINUTE, step="card")
    [drop] = life.tick(T0 + 34 * MINUTE)
    assert dict(drop.properties) == {
        "step_at_exit": "checkout_card",
        "reason": "timeout",
        "session_duration": 240,
    }
    assert drop.session_id == "pay-1"


def test_completed_checkout_never_drops_off() -> None:
    """checkout_completed ends the flow: no Drop_Off, nothing due."""
    life = Life()
    life.do("checkout_started", T0)
    life.do("checkout_completed", T0 + 60)
    assert life.state is not None and life.state.next_due_at is None
    assert life.tick(T0 + DAY) == [] and life.names() == []


def test_cancelled_checkout_drops_off_at_once_with_the_reason() -> None:
    """checkout_cancelled emits Drop_Off immediately, with the source's reason if any."""
    life = Life()
    life.do("checkout_started", T0)
    [drop] = life.do("checkout_cancelled", T0 + 90, properties={"reason": "too expensive"})
    assert dict(drop.properties) == {
        "step_at_exit": "checkout",
        "reason": "too expensive",
        "session_duration": 90,
    }
    assert life.state is not None and life.state.checkout is None
    [alone] = Life().do("checkout_cancelled", T0)
    assert alone.properties["reason"] == "cancelled"
    assert alone.session_id == f"checkout-42-{int(T0)}"


def test_due_time_is_the_earlier_of_onboarding_and_checkout() -> None:
    """With both flows open, the user is due at the first deadline; the tick handles each."""
    life = Life()
    life.do("checkout_started", T0)
    life.do("onboarding_step", T0 + 10 * MINUTE, step="language", value="uz")
    assert life.state is not None and life.state.next_due_at == T0 + 30 * MINUTE
    assert keys(life.tick(T0 + 30 * MINUTE)) == ["drop_off"]
    assert life.state.next_due_at == T0 + 40 * MINUTE
    assert [e.properties["step_at_exit"] for e in life.tick(T0 + 40 * MINUTE)] == [
        "onboarding_name"
    ]


def test_tick_on_a_state_with_every_step_done_names_complete() -> None:
    """A flow whose steps are all recorded (the plan's steps changed) exits at 'complete'."""
    state = UserState(
        "42",
        registered_at=T0,
        onboarding_values={"language": "uz"},
        onboarding=Flow("s", T0, T0),
    )
    config = LifecycleConfig(onboarding_steps={"language": "language_selected"})
    _, [drop] = on_tick(state, T0 + HOUR, config)
    assert drop.properties["step_at_exit"] == "onboarding_complete"


def test_custom_timeouts_apply() -> None:
    """drop_off_s and session_gap_s come from the config."""
    life = Life(LifecycleConfig(drop_off_s=5 * MINUTE, session_gap_s=HOUR))
    life.do("checkout_started", T0)
    assert keys(life.tick(T0 + 5 * MINUTE)) == ["drop_off"]
    assert keys(life.do("bot_message", T0 + HOUR)) == ["app_open"]


# --- backfills --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan_key", "activity", "at_s"),
    [
        ("first_entry", "expense_logged", T0 + 60),
        ("return_7d", "bot_message", T0 + 2 * DAY),
        ("retention_30d", "bot_message", T0 + 31 * DAY),
    ],
)
def test_a_backfilled_event_is_not_derived_again(plan_key: str, activity: str, at_s: float) -> None:
    """Once a source sent a once-only event itself, the rule that would derive it is done."""
    life = Life()
    life.do("bot_message", T0)
    marked = on_sent(life.state, "42", plan_key, T0 + 1, DEFAULT_CONFIG)
    assert marked is not None
    life.state = marked
    assert plan_key not in keys(life.do(activity, at_s))
    assert on_sent(life.state, "42", plan_key, T0 + 2, DEFAULT_CONFIG) is None


def test_a_backfilled_registration_ends_onboarding() -> None:
    """onboarding_complete sent directly closes the flow: no Drop_Off, no second one."""
    life = Life()
    life.do("onboarding_step", T0, step="language", value="uz")
    life.state = on_sent(life.state, "42", "onboarding_complete", T0 + 60, DEFAULT_CONFIG)
    assert life.state is not None and life.state.next_due_at is None
    assert life.tick(T0 + DAY) == []
    _onboard(life, T0 + DAY, ONBOARDING)
    assert "onboarding_complete" not in life.names()


def test_sent_events_that_are_not_once_only_change_nothing() -> None:
    """AppLaunch or Drop_Off sent directly are not remembered; a new user gets a bare state."""
    assert on_sent(None, "42", "app_open", T0, DEFAULT_CONFIG) is None
    fresh = on_sent(None, "7", "first_entry", T0, DEFAULT_CONFIG)
    assert fresh == UserState("7", first_entry_at=T0)
