"""Reading activity items: the user key, time, onboarding values (PII hashed) and findings."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from capigate.lifecycle import DEFAULT_CONFIG, LifecycleConfig, from_sent, read_activity

NOW = 1_763_800_000.0
UZ = LifecycleConfig(default_region="UZ")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _read(item: dict[str, Any], config: LifecycleConfig = DEFAULT_CONFIG) -> Any:
    return read_activity(item, config, now_s=NOW)


def _rules(findings: list[Any]) -> list[str]:
    return [f.rule for f in findings]


def test_plain_activity_reads_user_time_session_and_properties() -> None:
    """A bot message keeps the Telegram id as key, its time, session and properties."""
    item = {
        "event": "bot_message",
        "event_time": NOW - 60,
        "user": {"telegram_id": 42, "user_id": "u-1"},
        "properties": {"app_version": "1.2"},
        "context": {"session_id": "s-1"},
    }
    activity, findings = _read(item)
    assert findings == []
    assert (activity.name, activity.user_key, activity.at_s) == ("bot_message", "42", NOW - 60)
    assert (activity.telegram_id, activity.user_id, activity.session_id) == ("42", "u-1", "s-1")
    assert dict(activity.properties) == {"app_version": "1.2"}


def test_user_id_is_the_key_without_a_telegram_id() -> None:
    """Without user.telegram_id the product's user id keys the state."""
    activity, _ = _read({"event": "bot_message", "user": {"user_id": " u-7 "}})
    assert (activity.user_key, activity.telegram_id, activity.user_id) == ("u-7", None, "u-7")


@pytest.mark.parametrize("user", [None, {}, {"telegram_id": ""}, {"telegram_id": True}])
def test_an_activity_without_a_user_is_refused(user: object) -> None:
    """No user key, no state: the finding names user.telegram_id."""
    activity, findings = _read({"event": "bot_message", "user": user})
    assert activity is None
    assert [(f.path, f.rule) for f in findings] == [
        ("$.user.telegram_id", "activity_user_required")
    ]


def test_time_defaults_to_now_and_accepts_digit_strings() -> None:
    """No event_time means now; a string of digits is Unix seconds too."""
    user = {"telegram_id": 1}
    assert _read({"event": "bot_message", "user": user})[0].at_s == NOW
    assert _read({"event": "bot_message", "user": user, "event_time": "1700"})[0].at_s == 1700


def test_a_future_time_counts_as_now_with_a_warning() -> None:
    """Clock skew at the source never schedules state in the future."""
    item = {"event": "bot_message", "user": {"telegram_id": 1}, "event_time": NOW + 500}
    activity, findings = _read(item)
    assert activity.at_s == NOW
    assert _rules(findings) == ["activity_time_future"]
    assert not findings[0].is_error


@pytest.mark.parametrize("event_time", ["soon", True, float("nan"), [1]])
def test_a_bad_time_is_an_error(event_time: object) -> None:
    """event_time must be a number of seconds."""
    item = {"event": "bot_message", "user": {"telegram_id": 1}, "event_time": event_time}
    activity, findings = _read(item)
    assert activity is None
    assert _rules(findings) == ["event_time_type"]


def test_sections_that_are_not_objects_are_errors() -> None:
    """properties and context must be objects."""
    item = {"event": "bot_message", "user": {"telegram_id": 1}, "properties": [1], "context": 2}
    activity, findings = _read(item)
    assert activity is None
    assert [f.path for f in findings] == ["$.properties", "$.context"]


def test_registered_at_is_read_and_bad_values_are_ignored() -> None:
    """properties.registered_at dates the registration; a future or odd value is ignored."""
    user = {"telegram_id": 1}
    ok = {"event": "bot_message", "user": user, "properties": {"registered_at": NOW - 86_400}}
    assert _read(ok)[0].registered_at == NOW - 86_400
    for bad in (NOW + 10, "yesterday"):
        item = {"event": "bot_message", "user": user, "properties": {"registered_at": bad}}
        activity, findings = _read(item)
        assert activity.registered_at is None
        assert _rules(findings) == ["registered_at"]


def test_onboarding_step_reads_value_or_seed_property() -> None:
    """A plain step takes properties.value, else its seed property (currency_selected)."""
    user = {"telegram_id": 1}
    by_value = {"step": "language", "value": "uz"}
    activity, _ = _read({"event": "onboarding_step", "user": user, "properties": by_value})
    assert (activity.step, activity.value) == ("language", "uz")
    by_seed = {"step": "capital", "start_capital_amount": 1_000_000}
    activity, _ = _read({"event": "onboarding_step", "user": user, "properties": by_seed})
    assert (activity.step, activity.value) == ("capital", "1000000")


@pytest.mark.parametrize("step", [None, "favourite_colour", 5])
def test_onboarding_step_must_be_a_configured_step(step: object) -> None:
    """An unknown step is an error that lists the configured ones."""
    item = {"event": "onboarding_step", "user": {"telegram_id": 1}, "properties": {"step": step}}
    activity, findings = _read(item)
    assert activity is None
    assert _rules(findings) == ["onboarding_step"]
    assert "language, name, phone, currency, capital" in findings[0].message


def test_onboarding_step_without_a_value_is_an_error() -> None:
    """A step must say what the user chose."""
    for step in ("currency", "phone"):
        props = {"step": step}
        item = {"event": "onboarding_step", "user": {"telegram_id": 1}, "properties": props}
        activity, findings = _read(item)
        assert activity is None
        assert _rules(findings) == ["onboarding_value"]


def test_phone_step_keeps_only_the_sha256_of_the_normalized_phone() -> None:
    """The phone is normalized with the plan's region and hashed: no raw digits remain."""
    props = {"step": "phone", "phone_number": "90 123 45 67"}
    item = {"event": "onboarding_step", "user": {"telegram_id": 1}, "properties": props}
    activity, findings = _read(item, UZ)
    assert findings == []
    assert activity.value == _sha("998901234567")


def test_phone_step_can_take_the_phone_from_user() -> None:
    """Without a property, the phone step reads user.phone."""
    item = {
        "event": "onboarding_step",
        "user": {"telegram_id": 1, "phone": "+998 90 123 45 67"},
        "properties": {"step": "phone"},
    }
    assert _read(item)[0].value == _sha("998901234567")


def test_name_step_hashes_first_and_last_name_positionally() -> None:
    """'Ali Valiyev' becomes '<sha fn> <sha ln>'; a lone first name leaves the last slot empty."""
    props = {"step": "name", "value": "Ali Valiyev"}
    item = {"event": "onboarding_step", "user": {"telegram_id": 1}, "properties": props}
    assert _read(item)[0].value == f"{_sha('ali')} {_sha('valiyev')}"
    item["properties"] = {"step": "name", "user_name": "Ali"}
    assert _read(item)[0].value == f"{_sha('ali')} "
    item["properties"] = {"step": "name"}
    item["user"] = {"telegram_id": 1, "last_name": "Valiyev"}
    assert _read(item)[0].value == f" {_sha('valiyev')}"


def test_a_bad_phone_counts_the_step_but_keeps_no_value() -> None:
    """An invalid phone is a warning: the step is done, nothing is sent for it."""
    props = {"step": "phone", "value": "12"}
    item = {"event": "onboarding_step", "user": {"telegram_id": 1}, "properties": props}
    activity, findings = _read(item, UZ)
    assert activity.value == ""
    assert findings and not any(f.is_error for f in findings)
    assert "12" not in activity.value


def test_checkout_activity_reads_its_optional_step() -> None:
    """A checkout may name the step it is at (payment form, plan choice)."""
    item = {"event": "checkout_started", "user": {"telegram_id": 1}, "properties": {"step": "pay"}}
    assert _read(item)[0].step == "pay"
    item["properties"] = {}
    assert _read(item)[0].step is None


def test_a_sent_start_reads_as_plain_activity_of_its_user() -> None:
    """start_bot as activity: the plan key as name, the user's ids, time, session, properties."""
    item = {
        "event": "start_bot",
        "event_time": NOW - 30,
        "user": {"telegram_id": 42, "fbc": "fb.1.1.x"},
        "properties": {"language": "uz"},
        "context": {"session_id": "s-1", "start_param": "AbCdEfGhIjKlMnOp"},
    }
    activity = from_sent(item, "start_bot", now_s=NOW)
    assert activity is not None
    assert (activity.name, activity.user_key, activity.at_s) == ("start_bot", "42", NOW - 30)
    assert (activity.telegram_id, activity.session_id) == ("42", "s-1")
    assert dict(activity.properties) == {"language": "uz"}


@pytest.mark.parametrize("event_time", [None, NOW + 600])
def test_a_sent_start_without_or_with_a_future_time_counts_as_now(event_time: object) -> None:
    """A missing or future event_time is now, as for activity items."""
    item = {"event": "start_bot", "event_time": event_time, "user": {"user_id": " u-9 "}}
    activity = from_sent(item, "start_bot", now_s=NOW)
    assert activity is not None and (activity.user_key, activity.at_s) == ("u-9", NOW)


@pytest.mark.parametrize("user", [None, {}, {"email": "a@b.c"}, "42"])
def test_a_sent_event_without_a_user_is_no_activity(user: object) -> None:
    """No Telegram or product id: nothing to register."""
    assert from_sent({"event": "start_bot", "user": user}, "start_bot", now_s=NOW) is None
