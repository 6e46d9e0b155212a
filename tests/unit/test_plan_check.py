"""`plan check`: each lint rule against Meta's rules and the house rules, with its source."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.errors import PlanError
from capigate.findings import Finding
from capigate.plan import Plan, PlanEvent, check_plan, ensure_valid, load_plan


def _event(**changes: Any) -> PlanEvent:
    fields: dict[str, Any] = {
        "key": "e",
        "event_name": "Lead",
        "action_source": "website",
        "event_id": "e_{session_id}",
        "sources": frozenset({"website"}),
    }
    fields.update(changes)
    return PlanEvent(**fields)


def _check(*events: PlanEvent, strict_names: bool = False, **plan: Any) -> dict[str, Finding]:
    findings = check_plan(Plan({e.key: e for e in events}, **plan), strict_names=strict_names)
    return {f.rule: f for f in findings}


def test_a_clean_event_has_no_finding() -> None:
    """A website Lead with a session id template passes untouched."""
    assert _check(_event()) == {}


@pytest.mark.parametrize(
    ("name", "rule", "is_error"),
    [
        ("A" * 51, "custom_event_name_too_long", True),
        ("A" * 41, "custom_event_name_sdk_length", False),
        ("Start Bot!", "custom_event_name_chars", True),
        ("-Start", "custom_event_name_chars", True),
        ("viewcontent", "event_name_case", False),
    ],
)
def test_event_names_follow_meta(name: str, rule: str, is_error: bool) -> None:
    """Custom names: <= 50 chars (40 for the SDK), Meta's charset; standard names exact."""
    finding = _check(_event(event_name=name))[rule]
    assert finding.path == "$.events.e.event_name"
    assert finding.is_error is is_error and finding.spec == "§10"


def test_leading_digit_names_are_valid() -> None:
    """7d_Return is a valid custom event name at Meta."""
    assert _check(_event(event_name="7d_Return")) == {}


def test_strict_names_adds_seed_004_style() -> None:
    """Optional lint: lowercase snake_case, no leading digit (a warning)."""
    finding = _check(_event(event_name="7d_Return"), strict_names=True)["custom_event_name_style"]
    assert not finding.is_error


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"action_source": "web"}, "$.events.e.action_source"),
        (
            {"action_source_by_source": {"bot": "telegram"}},
            "$.events.e.action_source_by_source.bot",
        ),
        ({"fallback_action_source": "sms"}, "$.events.e.fallback_action_source"),
    ],
)
def test_action_sources_are_metas_nine(changes: dict[str, Any], path: str) -> None:
    """Every action source the plan names is one of Meta's values."""
    finding = _check(_event(**changes))["action_source_invalid"]
    assert finding.path == path and finding.is_error and finding.spec == "§2"


def test_fallback_cannot_be_app() -> None:
    """Falling back from app to app would still be rejected."""
    assert _check(_event(fallback_action_source="app"))["fallback_is_app"].is_error


def test_business_messaging_names_are_an_allowlist() -> None:
    """Only Meta's 14 names; names the live API was seen refusing are warnings."""
    bm = {"action_source": "business_messaging"}
    assert _check(_event(event_name="Lead", **bm))["messaging_event_name"].spec == "§6.1"
    observed = _check(_event(event_name="OrderShipped", **bm))["messaging_event_name_observed"]
    assert not observed.is_error
    assert _check(_event(event_name="ViewContent", **bm)) == {}


def test_app_event_from_a_bot_warns_about_the_fallback() -> None:
    """A bot cannot describe a device: its app events go out as chat."""
    event = _event(action_source="app", sources=frozenset({"bot", "mini_app"}))
    finding = _check(event)["app_data_fallback"]
    assert not finding.is_error and finding.spec == "DESIGN Seed conflicts"
    assert "from bot " in finding.message and "as chat" in finding.message


def test_app_event_from_mini_apps_only_needs_no_fallback() -> None:
    """A mini app sends its platform and user agent, so app_data can be filled."""
    assert _check(_event(action_source="app", sources=frozenset({"mini_app"}))) == {}


def test_derived_app_events_warn_for_the_lifecycle_engine() -> None:
    """The lifecycle engine has no device context either."""
    event = _event(action_source="app", sources=frozenset({"mini_app"}), derived=True)
    assert "lifecycle" in _check(event)["app_data_fallback"].message


def test_app_event_without_fallback_is_an_error() -> None:
    """No fallback and no device context: every such event would be refused."""
    event = _event(action_source="app", sources=frozenset({"bot"}), fallback_action_source=None)
    assert _check(event)["app_data_no_fallback"].is_error


def test_website_override_keeps_a_mixed_event_clean() -> None:
    """drop_off-style: app from apps, website from the website -> nothing to fall back."""
    event = _event(
        action_source="app",
        action_source_by_source={"website": "website"},
        sources=frozenset({"website", "mini_app"}),
    )
    assert _check(event) == {}


def test_purchase_must_require_value_and_currency() -> None:
    """Meta requires value and currency on Purchase (§4)."""
    finding = _check(_event(event_name="Purchase"))["revenue_value_required"]
    assert finding.is_error and finding.spec == "§4"
    assert "value and currency" in finding.message


def test_value_required_events_must_require_their_value_property() -> None:
    """House rule: value_required names value_property and currency in required."""
    event = _event(event_name="Plan_Change", value_required=True, value_property="value_diff")
    finding = _check(event)["revenue_value_required"]
    assert finding.spec == "DESIGN Seed conflicts" and "value_diff and currency" in finding.message
    ok = _event(
        event_name="Plan_Change",
        value_required=True,
        value_property="value_diff",
        required=("value_diff", "currency"),
    )
    assert _check(ok) == {}


def test_revenue_names_without_the_house_rule_warn() -> None:
    """Subscribe without value_required is legal at Meta but breaks the house rule."""
    finding = _check(_event(event_name="Subscribe"))["revenue_value"]
    assert not finding.is_error and finding.path == "$.events.e.value_required"


def test_event_id_without_variables_is_an_error() -> None:
    """A constant id makes Meta keep one event for everybody."""
    assert _check(_event(event_id="lead"))["event_id_constant"].spec == "§7.2"


def test_event_id_with_an_unknown_variable_is_an_error() -> None:
    """Template variables are known ids, {ts}, or required properties."""
    finding = _check(_event(event_id="e_{order}"))["event_id_variable"]
    assert finding.is_error and "{order}" in finding.message
    assert _check(_event(event_id="e_{order}_{ts}", required=("order",))) == {}


def test_event_id_with_an_optional_variable_warns() -> None:
    """An optional property in the id means some events will be refused."""
    finding = _check(_event(event_id="e_{order}", optional=("order",)))
    assert not finding["event_id_optional_variable"].is_error


def test_source_that_is_not_a_kind_is_taken_as_a_name() -> None:
    """Source names are allowed, but flagged in case of a typo."""
    finding = _check(_event(sources=frozenset({"webiste"})))["source_not_a_kind"]
    assert "'webiste'" in finding.message and not finding.is_error


def test_pii_in_custom_data_is_an_error() -> None:
    """phone_number may never be a custom_data field or constant."""
    finding = _check(_event(custom_fields=("phone_number",)))["pii_custom_data"]
    assert finding.is_error and finding.spec == "§13"


def test_declared_pii_properties_warn_where_they_go() -> None:
    """Declared PII goes hashed to user_data; PII with no match key goes nowhere."""
    findings = check_plan(Plan({"e": _event(required=("user_name",), optional=("username",))}))
    by_path = {f.path: f for f in findings if f.rule == "pii_property"}
    assert "user_data.fn/ln" in by_path["$.events.e.required"].message
    assert "nowhere" in by_path["$.events.e.optional"].message


def test_user_data_keys_are_metas() -> None:
    """Expected user_data keys are Meta names; app-only keys on web events warn."""
    assert _check(_event(user_data=("email",)))["user_data_key"].is_error
    assert not _check(_event(user_data=("madid",)))["app_only_user_key"].is_error
    assert _check(_event(user_data=("em", "fbp", "client_user_agent"))) == {}


def test_duplicate_event_ids_for_one_event_name_are_an_error() -> None:
    """Two keys with one template and name would deduplicate each other at Meta."""
    first, second = _event(key="a"), _event(key="b")
    finding = _check(first, second)["event_id_duplicate"]
    assert finding.path == "$.events.b.event_id" and finding.is_error


def test_shared_event_id_template_across_names_warns() -> None:
    """Same template, different event names: legal, but worth a look."""
    finding = _check(_event(key="a"), _event(key="b", event_name="ViewContent"))["event_id_shared"]
    assert not finding.is_error


def test_allow_meta_names_is_flagged() -> None:
    """Raw Meta names bypass the plan; the lint says so."""
    assert not _check(_event(), allow_meta_names=True)["meta_names_allowed"].is_error


def test_ensure_valid_raises_with_file_and_line() -> None:
    """Start-up refuses a plan with lint errors, citing file:line for each."""
    text = "events:\n  e:\n    event_name: Lead\n    action_source: web\n    sources: [website]\n"
    plan = load_plan(text + "    event_id: e_{session_id}\n", name="p.yaml")
    with pytest.raises(PlanError) as caught:
        ensure_valid(plan)
    assert "p.yaml:4:" in str(caught.value)
    assert [f.rule for f in caught.value.findings] == ["action_source_invalid"]


def test_every_finding_names_its_source() -> None:
    """Each rule cites the spec section or DESIGN decision it comes from."""
    events = [
        _event(key="a", event_name="A" * 60, action_source="app", sources=frozenset({"x"})),
        _event(key="b", event_name="Purchase", event_id="b", custom_fields=("email",)),
        _event(key="c", event_id="c_{nope}", user_data=("madid", "mail"), required=("phone",)),
    ]
    findings = check_plan(Plan({e.key: e for e in events}, allow_meta_names=True))
    assert len(findings) >= 9
    assert all(f.spec for f in findings)
