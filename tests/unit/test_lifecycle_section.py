"""The plan's lifecycle section: defaults, units, every broken field named, keys checked."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.errors import PlanError
from capigate.lifecycle import DEFAULT_CONFIG, check_against_plan, read_section
from capigate.lifecycle.config import LifecycleConfig
from capigate.plan import default_plan, load_plan


def _read(data: Any) -> tuple[LifecycleConfig | None, list[tuple[str, str]]]:
    problems: list[tuple[str, str]] = []
    config = read_section(data, "$.lifecycle", lambda p, r, m: problems.append((p, r)))
    return config, problems


def test_absent_section_means_no_lifecycle() -> None:
    """A plan without lifecycle: has no activities at all."""
    assert _read(None) == (None, [])


def test_empty_section_takes_seed_defaults() -> None:
    """lifecycle: {} is seed 000's rules."""
    config, problems = _read({})
    assert problems == []
    assert config == DEFAULT_CONFIG


def test_units_are_converted_to_seconds() -> None:
    """Hours and minutes in YAML become the config's seconds."""
    config, _ = _read({"session_gap_hours": 6, "drop_off_minutes": 2.5})
    assert config is not None
    assert (config.session_gap_s, config.drop_off_s) == (21_600, 150)


def test_every_field_is_read() -> None:
    """Activities, days, steps and return activities all come from the section."""
    data = {
        "activities": {"tap": ["bot"], "expense_logged": ["mini_app"]},
        "return_days": [2, 5],
        "return_activities": ["expense_logged"],
        "retention_days": [7, 28],
        "onboarding_steps": {"language": "language_selected"},
    }
    config, problems = _read(data)
    assert problems == [] and config is not None
    assert dict(config.activities) == {
        "tap": frozenset({"bot"}),
        "expense_logged": frozenset({"mini_app"}),
    }
    assert (config.return_days, config.retention_days) == ((2, 5), (7, 28))
    assert config.return_activities == frozenset({"expense_logged"})
    assert dict(config.onboarding_steps) == {"language": "language_selected"}
    assert config.emitted_keys[-2:] == ("retention_7d", "retention_28d")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([1], "$.lifecycle"),
        ({"sesion_gap_hours": 3}, "$.lifecycle.sesion_gap_hours"),
        ({"activities": []}, "$.lifecycle.activities"),
        ({"activities": {"tap": []}}, "$.lifecycle.activities.tap"),
        ({"activities": {"tap": "bot"}}, "$.lifecycle.activities.tap"),
        ({"session_gap_hours": 0}, "$.lifecycle.session_gap_hours"),
        ({"drop_off_minutes": True}, "$.lifecycle.drop_off_minutes"),
        ({"return_days": [7, 1]}, "$.lifecycle.return_days"),
        ({"return_days": [1]}, "$.lifecycle.return_days"),
        ({"return_activities": "bot_message"}, "$.lifecycle.return_activities"),
        ({"activity_keys": "start_bot"}, "$.lifecycle.activity_keys"),
        ({"activity_keys": [""]}, "$.lifecycle.activity_keys"),
        ({"retention_days": [30, 14]}, "$.lifecycle.retention_days"),
        ({"retention_days": [14, 14]}, "$.lifecycle.retention_days"),
        ({"retention_days": [-1]}, "$.lifecycle.retention_days"),
        ({"onboarding_steps": ["language"]}, "$.lifecycle.onboarding_steps"),
        ({"onboarding_steps": {"language": 3}}, "$.lifecycle.onboarding_steps"),
        ({"onboarding_steps": {}}, "$.lifecycle.onboarding_steps"),
    ],
)
def test_a_broken_field_is_named(data: Any, path: str) -> None:
    """Each broken field fails at its own path and no config comes back."""
    config, problems = _read(data)
    assert config is None
    assert [p for p, _ in problems] == [path]


def _check(config: LifecycleConfig, derived: dict[str, bool]) -> list[str]:
    rules: list[str] = []
    check_against_plan(config, derived, "$.lifecycle", lambda p, r, m: rules.append(r))
    return rules


def test_check_against_plan_wants_derived_keys_and_distinct_activity_names() -> None:
    """Emitted keys must exist and be derived; activities must not reuse plan keys."""
    all_derived = {**dict.fromkeys(DEFAULT_CONFIG.emitted_keys, True), "start_bot": False}
    assert _check(DEFAULT_CONFIG, all_derived) == []
    missing = {k: v for k, v in all_derived.items() if k != "drop_off"}
    assert _check(DEFAULT_CONFIG, missing) == ["lifecycle_key_missing"]
    assert _check(DEFAULT_CONFIG, {**all_derived, "first_entry": False}) == [
        "lifecycle_key_not_derived"
    ]
    assert _check(DEFAULT_CONFIG, {**all_derived, "bot_message": False}) == ["activity_is_plan_key"]
    odd = LifecycleConfig(return_activities=frozenset({"nap"}))
    assert _check(odd, all_derived) == ["unknown_activity"]


def test_activity_keys_default_to_start_bot_and_may_be_emptied() -> None:
    """Seed 000 counts a sent start_bot as activity; a plan may list other keys, or none."""
    assert DEFAULT_CONFIG.activity_keys == frozenset({"start_bot"})
    config, problems = _read({"activity_keys": ["signup", "start_bot"]})
    assert problems == [] and config is not None
    assert config.activity_keys == frozenset({"signup", "start_bot"})
    assert config.noted_keys == config.once_keys | {"signup", "start_bot"}
    emptied, _ = _read({"activity_keys": []})
    assert emptied is not None and emptied.activity_keys == frozenset()


def test_activity_keys_must_be_plan_keys_that_sources_send() -> None:
    """An unknown key, or a derived one (the engine's own output), is refused."""
    plan_keys = {**dict.fromkeys(DEFAULT_CONFIG.emitted_keys, True), "start_bot": False}
    assert _check(LifecycleConfig(activity_keys=frozenset({"signup"})), plan_keys) == [
        "unknown_plan_key"
    ]
    assert _check(LifecycleConfig(activity_keys=frozenset({"first_entry"})), plan_keys) == [
        "activity_key_derived"
    ]
    assert _check(LifecycleConfig(activity_keys=frozenset()), plan_keys) == []


def test_default_plan_has_the_seed_lifecycle() -> None:
    """The built-in plan declares the activities and seed 000's timings, with its region."""
    config = default_plan().lifecycle
    assert config is not None
    assert {"bot_message", "onboarding_step", "expense_logged", "checkout_started"} <= set(
        config.activities
    )
    assert (config.session_gap_s, config.drop_off_s, config.default_region) == (
        43_200,
        1_800,
        "UZ",
    )
    assert list(config.onboarding_steps) == ["language", "name", "phone", "currency", "capital"]
    assert config.activity_keys == frozenset({"start_bot"})


def test_plan_loader_reports_lifecycle_problems_with_lines() -> None:
    """A plan whose lifecycle shadows a key fails to load, naming file and line."""
    text = """
events:
  ping:
    event_name: Ping
    action_source: app
    sources: [bot]
    event_id: ping_{ts}
lifecycle:
  activities:
    ping: [bot]
"""
    with pytest.raises(PlanError) as caught:
        load_plan(text, name="p.yaml")
    message = str(caught.value)
    assert "p.yaml:10" in message and "activity_is_plan_key" in message
    assert "lifecycle_key_missing" in message


def test_config_allows_an_activity_by_source_name_or_kind() -> None:
    """A source may send an activity if its name or its kind is listed."""
    config = LifecycleConfig(activities={"tap": frozenset({"bot", "crm"})})
    assert config.allows("tap", "tg-bot", "bot")
    assert config.allows("tap", "crm", "server")
    assert not config.allows("tap", "site", "website")
    assert not config.allows("swim", "tg-bot", "bot")
