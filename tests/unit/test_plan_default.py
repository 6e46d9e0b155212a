"""The built-in plan is seed 000 row by row, and lints with documented warnings only."""

from __future__ import annotations

from importlib import resources

import pytest

from capigate.plan import check_plan, default_plan, ensure_valid
from capigate.validate.custom_data import PII_KEYS

# Seed 000, in its order: plan key, Meta event_name, event_id template.
SEED_000 = [
    ("landing_view", "ViewContent", "viewcontent_{session_id}"),
    ("cta_click", "Lead", "cta_{session_id}"),
    ("start_bot", "Start_Bot", "startbot_{telegram_id}"),
    ("first_entry", "First_Entry", "firstentry_{telegram_id}"),
    ("subscribe", "Subscribe", "sub_{transaction_id}"),
    ("cancel_subscription", "Unsubscribe", "cancel_{transaction_id}"),
    ("reactivate_subscription", "Reactivate_Sub", "reactivate_{transaction_id}"),
    ("plan_change", "Plan_Change", "planchange_{transaction_id}"),
    ("drop_off", "Drop_Off", "dropoff_{session_id}"),
    ("onboarding_language", "CompleteRegistration", "onboard_lang_{user_id}_{ts}"),
    ("onboarding_name", "CompleteRegistration", "onboard_name_{user_id}_{ts}"),
    ("onboarding_phone", "CompleteRegistration", "onboard_phone_{user_id}_{ts}"),
    ("onboarding_currency", "CompleteRegistration", "onboard_currency_{user_id}_{ts}"),
    ("onboarding_capital", "CompleteRegistration", "onboard_capital_{user_id}_{ts}"),
    ("onboarding_complete", "CompleteRegistration", "onboarding_{telegram_id}"),
    ("app_open", "AppLaunch", "session_{user_id}_{ts}"),
    ("return_7d", "7d_Return", "ret7_{telegram_id}"),
    ("retention_14d", "14d_Return", "retention14_{user_id}"),
    ("retention_30d", "1m_Return", "retention30_{user_id}"),
    ("retention_60d", "2m_Return", "retention60_{user_id}"),
    ("retention_90d", "3m_Return", "retention90_{user_id}"),
    ("retention_180d", "6m_Return", "retention180_{user_id}"),
    ("retention_365d", "12m_Return", "retention365_{user_id}"),
]
EXPECTED_WARNINGS = {"app_data_fallback", "pii_property"}


def test_default_plan_has_the_23_seed_keys_in_order() -> None:
    """Exactly seed 000's keys, in the seed's order."""
    assert default_plan().keys == tuple(key for key, _, _ in SEED_000)


@pytest.mark.parametrize(("key", "name", "template"), SEED_000, ids=[row[0] for row in SEED_000])
def test_default_plan_row_matches_the_seed(key: str, name: str, template: str) -> None:
    """Each row has the seed's Meta event name and event_id convention."""
    event = default_plan().events[key]
    assert (event.event_name, event.event_id) == (name, template)


def test_landing_page_rows_are_website_events_from_the_website() -> None:
    """ViewContent and Lead go out as website events, sent only by the landing page."""
    for key in ("landing_view", "cta_click"):
        event = default_plan().events[key]
        assert event.action_source == "website" and event.sources == {"website"}


def test_bot_rows_keep_the_seeds_app_with_chat_fallback() -> None:
    """Seed conflict: app events keep action_source=app and fall back to chat."""
    for key, _, _ in SEED_000[2:]:
        event = default_plan().events[key]
        assert event.action_source == "app", key
        assert event.fallback_action_source == "chat", key


def test_drop_off_is_website_from_the_website_and_app_otherwise() -> None:
    """Seed: Drop_Off comes from website/app."""
    event = default_plan().events["drop_off"]
    assert event.action_source == "app"
    assert dict(event.action_source_by_source) == {"website": "website"}
    assert {"website", "mini_app", "bot"} <= event.sources


def test_revenue_rows_require_value_and_currency() -> None:
    """House rule: Subscribe, Reactivate_Sub and Plan_Change (value_diff) carry money."""
    plan = default_plan()
    for key, value in [
        ("subscribe", "value"),
        ("reactivate_subscription", "value"),
        ("plan_change", "value_diff"),
    ]:
        event = plan.events[key]
        assert event.value_required and event.value_property == value
        assert {value, "currency", "transaction_id"} <= set(event.required)
    assert not plan.events["cancel_subscription"].value_required


def test_onboarding_statuses_and_step_count_are_constants() -> None:
    """Seed table 2: status per step, step_count=5 on completion."""
    events = default_plan().events
    steps = [
        key for key in events if key.startswith("onboarding_") and key != "onboarding_complete"
    ]
    statuses = {key: events[key].custom_constants["status"] for key in steps}
    assert statuses == {
        "onboarding_language": "language",
        "onboarding_name": "name",
        "onboarding_phone": "phone",
        "onboarding_currency": "currency",
        "onboarding_capital": "capital",
    }
    assert events["onboarding_complete"].custom_constants == {"step_count": 5}


def test_retention_rows_send_their_day_count() -> None:
    """retention_Nd sends days_active=N and is derived by the lifecycle engine."""
    for key, _, _ in SEED_000[17:]:
        event = default_plan().events[key]
        days = int(key.removeprefix("retention_").removesuffix("d"))
        assert event.custom_constants == {"days_active": days}
        assert event.derived


def test_no_personal_data_is_sent_as_custom_data() -> None:
    """phone_number and user_name are declared, but never custom_data fields."""
    for event in default_plan().events.values():
        assert not set(event.custom_fields) & PII_KEYS, event.key
        assert not set(event.custom_constants) & PII_KEYS, event.key


def test_plan_defaults_are_for_uzbekistan() -> None:
    """Phones default to region UZ and money to UZS."""
    defaults = default_plan().defaults
    assert (defaults.default_region, defaults.currency) == ("UZ", "UZS")


def test_default_plan_passes_the_lint_with_warnings_only() -> None:
    """plan check: no error, and only the two documented kinds of warning."""
    findings = check_plan(default_plan())
    assert not [f for f in findings if f.is_error]
    assert {f.rule for f in findings} == EXPECTED_WARNINGS
    assert ensure_valid(default_plan()) == findings


def test_every_expected_warning_is_documented_in_the_yaml() -> None:
    """default.yaml's header names each warning the lint gives it."""
    text = resources.files("capigate.plan").joinpath("default.yaml").read_text()
    for rule in EXPECTED_WARNINGS:
        assert rule in text


def test_default_plan_is_loaded_once() -> None:
    """The built-in plan is parsed once per process."""
    assert default_plan() is default_plan()
