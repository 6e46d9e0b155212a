"""The plan's webhooks: section: a full provider, defaults, and every problem named by path."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.errors import PlanError
from capigate.plan import default_plan, load_plan
from capigate.webhooks.config import (
    DAY_S,
    DEFAULT_KEYS,
    Action,
    Adapter,
    Outcome,
    ProviderConfig,
)
from capigate.webhooks.section import check_against_plan, default_secret_env, read_section

MINIMAL: dict[str, Any] = {
    "action": "cancel",
    "fields": {"transaction_id": "id"},
    "user": {"telegram_id": "user.id"},
}


def _read(data: Any) -> tuple[dict[str, ProviderConfig], set[tuple[str, str]]]:
    problems: list[tuple[str, str, str]] = []
    providers = read_section(data, "$.webhooks", lambda *found: problems.append(found))
    return providers, {(path, rule) for path, rule, _ in problems}


def _problems(entry: Any, name: str = "billing") -> set[tuple[str, str]]:
    providers, problems = _read({name: entry})
    assert name not in providers
    return problems


def test_a_minimal_provider_gets_the_defaults() -> None:
    """Secret variable from the name, 300 s tolerance, 35-day lapse, seed 000's keys."""
    providers, problems = _read({"my-billing": MINIMAL})
    assert problems == set()
    config = providers["my-billing"]
    assert config.secret_env == "CAPIGATE_WEBHOOK_MY_BILLING_SECRET"
    assert (config.adapter, config.tolerance_s, config.amount_divisor) == (Adapter.SIGNED, 300, 1)
    assert config.lapse_after(None) == 35 * DAY_S
    assert config.keys == DEFAULT_KEYS
    assert config.action_for(None) is Action.CANCEL


def test_every_setting_is_read() -> None:
    """Event types, paths, units, currency, lapse per plan and keys all land in the config."""
    entry = {
        "secret_env": "BILLING_HMAC",
        "tolerance_s": 120,
        "event_type": "type",
        "events": {"payment.succeeded": "charge", "charge.refunded": "refund"},
        "fields": {"transaction_id": "data.id", "amount": "data.amount"},
        "user": {"telegram_id": "data.tg", "email": "data.email"},
        "properties": {"payment_method": "data.method"},
        "amount_unit": "minor",
        "currency": "uzs",
        "lapse_after_days": {"default": 40, "weekly": 9},
        "keys": {"renewal": "renew_subscription", "refund": "refund"},
    }
    config = _read({"billing": entry})[0]["billing"]
    assert config.secret_env == "BILLING_HMAC" and config.tolerance_s == 120
    assert config.event_type == ("type",)
    assert config.action_for("charge.refunded") is Action.REFUND
    assert config.action_for("unknown") is None
    assert config.fields["amount"] == ("data", "amount")
    assert config.user == {"telegram_id": ("data", "tg"), "email": ("data", "email")}
    assert config.properties == {"payment_method": ("data", "method")}
    assert (config.amount_divisor, config.currency) == (100, "UZS")
    assert (config.lapse_after("weekly"), config.lapse_after("monthly")) == (9 * DAY_S, 40 * DAY_S)
    assert config.key_for(Outcome.RENEWAL) == "renew_subscription"
    assert config.key_for(Outcome.SUBSCRIBE) == "subscribe"
    assert config.key_for(Outcome.REFUND) == "refund"


def test_a_number_of_lapse_days_applies_to_every_plan() -> None:
    """lapse_after_days: 8 is eight days whatever the plan."""
    config = _read({"b": {**MINIMAL, "lapse_after_days": 8}})[0]["b"]
    assert config.lapse_after("monthly") == 8 * DAY_S


def test_the_atmos_adapter_fills_its_defaults() -> None:
    """adapter: atmos alone is a complete provider: charges in tiyin of UZS."""
    config = _read({"atmos": {"adapter": "atmos"}})[0]["atmos"]
    assert config.adapter is Adapter.ATMOS
    assert config.callback_key_env == "CAPIGATE_ATMOS_CALLBACK_KEY"
    assert config.action is Action.CHARGE
    assert (config.amount_divisor, config.currency) == (100, "UZS")
    assert config.fields["transaction_id"] == ("callback", "transaction_id")


def test_no_section_is_no_providers() -> None:
    """A plan without webhooks has none."""
    assert _read(None) == ({}, set())


NO_ACTION = {k: v for k, v in MINIMAL.items() if k != "action"}
TID = {"transaction_id": "id"}


@pytest.mark.parametrize(
    ("overrides", "where", "rule"),
    [
        ({"secret": "x"}, ".secret", "unknown_field"),
        ({"secret_env": "lower"}, ".secret_env", "field_value"),
        ({"adapter": "stripe"}, ".adapter", "field_value"),
        ({"tolerance_s": 0}, ".tolerance_s", "field_value"),
        ({"tolerance_s": 7200}, ".tolerance_s", "field_value"),
        ({"action": "pay"}, ".action", "field_value"),
        ({"event_type": "t"}, "", "webhook_actions"),
        ({"fields": {"transaction_id": "a..b"}}, ".fields.transaction_id", "field_path"),
        ({"fields": {"transaction_id": 5}}, ".fields.transaction_id", "field_type"),
        ({"fields": {**TID, "price": "p"}}, ".fields.price", "unknown_field"),
        ({"fields": {}}, ".fields", "field_required"),
        ({"user": {"email": "e"}}, ".user", "field_required"),
        ({"user": {"Email": "e"}}, ".user.Email", "field_value"),
        ({"amount_unit": "cents"}, ".amount_unit", "field_value"),
        ({"currency": "ABC"}, ".currency", "field_value"),
        ({"lapse_after_days": -1}, ".lapse_after_days", "field_value"),
        ({"lapse_after_days": {"weekly": "7"}}, ".lapse_after_days.weekly", "field_value"),
        ({"keys": {"upgrade": "plan_change"}}, ".keys.upgrade", "unknown_field"),
        ({"keys": {"refund": 5}}, ".keys.refund", "field_type"),
        ({"callback_key_env": "K"}, ".callback_key_env", "field_value"),
        ({"action": "charge"}, ".fields", "field_required"),
    ],
)
def test_each_problem_is_named_by_its_path_and_rule(
    overrides: dict[str, Any], where: str, rule: str
) -> None:
    """A broken provider is left out and the problem points at the setting."""
    assert ("$.webhooks.billing" + where, rule) in _problems({**MINIMAL, **overrides})


def test_event_type_without_events_is_refused() -> None:
    """An event type path needs the map of event types to actions."""
    entry = {**NO_ACTION, "event_type": "t"}
    assert _problems(entry) == {("$.webhooks.billing.events", "field_type")}


def test_a_provider_that_is_not_a_mapping_is_refused() -> None:
    """Each provider's settings are a mapping."""
    assert _problems("not a mapping") == {("$.webhooks.billing", "field_type")}


def test_a_charge_provider_needs_a_currency_somewhere() -> None:
    """Without fields.currency or currency, revenue events could not carry one."""
    entry = {**MINIMAL, "action": "charge", "fields": {"transaction_id": "id", "amount": "a"}}
    assert _problems(entry) == {("$.webhooks.billing", "field_required")}


def test_bad_names_and_a_non_mapping_section_are_refused() -> None:
    """Provider names are URL-safe; the section maps names to settings."""
    assert _read({"Billing!": MINIMAL})[1] == {("$.webhooks['Billing!']", "webhook_name")}
    assert _read(["billing"])[1] == {("$.webhooks", "field_type")}


def test_default_secret_env_is_upper_snake() -> None:
    """Dashes become underscores in the variable name."""
    assert default_secret_env("pay-me") == "CAPIGATE_WEBHOOK_PAY_ME_SECRET"


def test_keys_must_exist_in_the_plan_and_allow_webhooks() -> None:
    """A missing key, or one webhooks may not send, is a problem at keys.<outcome>."""
    config = _read({"b": {**MINIMAL, "keys": {"refund": "refund"}}})[0]["b"]
    sources = {
        "subscribe": frozenset({"server", "webhook"}),
        "reactivate_subscription": frozenset({"server"}),
        "plan_change": frozenset({"webhook-b"}),
        "cancel_subscription": frozenset({"webhook"}),
    }
    problems: list[tuple[str, str, str]] = []
    check_against_plan({"b": config}, sources, "$.webhooks", lambda *p: problems.append(p))
    assert {(path, rule) for path, rule, _ in problems} == {
        ("$.webhooks.b.keys.refund", "webhook_key_missing"),
        ("$.webhooks.b.keys.reactivate", "webhook_key_not_allowed"),
    }


PLAN_HEAD = (
    "events:\n"
    "  subscribe:\n"
    "    event_name: Subscribe\n"
    "    action_source: app\n"
    "    sources: [webhook]\n"
    "    event_id: sub_{transaction_id}\n"
    "webhooks:\n"
)


def _plan_problems(webhooks: str) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(PLAN_HEAD + webhooks, name="plan.yaml")
    return [f.message for f in caught.value.findings]


def test_a_plan_names_the_line_of_a_webhook_problem() -> None:
    """Through the plan loader, a bad webhook setting is a PlanError with file:line."""
    problems = _plan_problems("  billing:\n    action: cancel\n    amount_unit: cents\n")
    assert any(
        p.startswith("plan.yaml:10: webhooks.billing.amount_unit: must be") for p in problems
    )


def test_a_plan_refuses_webhook_keys_it_does_not_have() -> None:
    """The default keys name seed 000's payment rows; a plan without them must say so."""
    problems = _plan_problems(
        "  billing:\n"
        "    action: charge\n"
        "    currency: UZS\n"
        "    fields: {transaction_id: id, amount: amount}\n"
        "    user: {telegram_id: tg}\n"
    )
    assert any("webhooks.billing.keys.reactivate: the plan has no key" in p for p in problems)
    assert not any("keys.subscribe" in p for p in problems)


def test_the_default_plan_has_the_billing_and_atmos_providers() -> None:
    """Seed 000's payment rows arrive through billing (signed) and atmos (forwarded)."""
    providers = default_plan().webhooks
    assert set(providers) == {"billing", "atmos"}
    assert providers["atmos"].adapter is Adapter.ATMOS
    billing = providers["billing"]
    assert billing.action_for("payment.succeeded") is Action.CHARGE
    assert billing.key_for(Outcome.RENEWAL) == "subscribe"
    assert billing.key_for(Outcome.REFUND) is None
