"""Field paths and the payload mapping: each event type read into a Payment, or 422 findings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from capigate.webhooks.config import Action, ProviderConfig
from capigate.webhooks.items import to_item
from capigate.webhooks.mapping import Ignored, Payment, read_payment
from capigate.webhooks.paths import MISSING, json_path, lookup, parse_path
from capigate.webhooks.section import read_section

T0 = 1_763_800_000

BILLING: dict[str, Any] = {
    "event_type": "type",
    "events": {
        "payment.succeeded": "charge",
        "subscription.canceled": "cancel",
        "subscription.expired": "expire",
        "charge.refunded": "refund",
    },
    "fields": {
        "transaction_id": "data.id",
        "amount": "data.amount",
        "currency": "data.currency",
        "plan": "data.plan",
        "event_time": "created",
        "reason": "data.cancel_reason",
        "original_transaction_id": "data.charge",
    },
    "user": {"telegram_id": "data.customer.telegram_id", "email": "data.customer.email"},
    "properties": {"payment_method": "data.method"},
    "amount_unit": "minor",
}


def _fail(path: str, rule: str, problem: str) -> None:
    raise AssertionError(f"{path}: {rule}: {problem}")


def _config(**overrides: Any) -> ProviderConfig:
    return read_section({"billing": {**BILLING, **overrides}}, "$.webhooks", _fail)["billing"]


def _payload(kind: str, **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "ch_1",
        "amount": 4_900_000,
        "currency": "uzs",
        "plan": "monthly",
        "method": "uzcard",
        "customer": {"telegram_id": 77123, "email": "ali@example.com"},
    }
    return {"type": kind, "created": T0 - 5, "data": {**body, **data}}


def _read(payload: object, config: ProviderConfig | None = None) -> Any:
    return read_payment(payload, config or _config(), now_s=T0)


def _errors(payload: object, config: ProviderConfig | None = None) -> set[tuple[str, str]]:
    found = _read(payload, config)
    assert isinstance(found, list), found
    return {(f.path, f.rule) for f in found}


# --- paths -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("data.amount", ("data", "amount")),
        ("$.data.items[0].price", ("data", "items", 0, "price")),
        ("matrix[1][2]", ("matrix", 1, 2)),
        ("x-request-id", ("x-request-id",)),
    ],
)
def test_paths_parse_keys_and_indexes(text: str, steps: tuple[object, ...]) -> None:
    """Dots separate keys, [n] indexes lists, a leading $. is allowed."""
    assert parse_path(text) == steps


@pytest.mark.parametrize("text", ["", "$.", "a..b", "a[x]", "a b", "a.[0]", "a]"])
def test_malformed_paths_are_refused(text: str) -> None:
    """A path that names nothing, or has odd characters, is a ValueError."""
    with pytest.raises(ValueError):
        parse_path(text)


def test_lookup_finds_values_and_misses_absent_or_null_ones() -> None:
    """Missing keys, out-of-range indexes, nulls and wrong shapes all answer MISSING."""
    doc = {"a": {"b": [10, {"c": None}]}, "s": "text"}
    assert lookup(doc, ("a", "b", 0)) == 10
    for path in [("a", "x"), ("a", "b", 5), ("a", "b", 1, "c"), ("s", 0), ("a", "b", "c")]:
        assert lookup(doc, path) is MISSING
    assert json_path(("a", "b", 0, "c")) == "$.a.b[0].c"


# --- one Payment per event type ------------------------------------------------------------


def test_a_charge_reads_every_mapped_fact() -> None:
    """Amount in tiyin becomes UZS, currency is upper-cased, ids become strings."""
    assert _read(_payload("payment.succeeded")) == Payment(
        provider="billing",
        action=Action.CHARGE,
        transaction_id="ch_1",
        user_key="77123",
        event_time=T0 - 5,
        user={"telegram_id": "77123", "email": "ali@example.com"},
        amount=Decimal(49000),
        currency="UZS",
        plan="monthly",
        event_type="payment.succeeded",
        properties={"payment_method": "uzcard"},
    )


def test_a_cancellation_needs_no_amount() -> None:
    """Cancel events carry no money: a payload without amount is fine."""
    payload = _payload("subscription.canceled", cancel_reason="too expensive")
    del payload["data"]["amount"]
    payment = _read(payload)
    assert (payment.action, payment.amount, payment.reason) == (
        Action.CANCEL,
        None,
        "too expensive",
    )


def test_a_refund_reads_the_original_charge() -> None:
    """A refund carries its amount and the charge it refunds."""
    payment = _read(_payload("charge.refunded", id="re_9", charge="ch_1", amount=1_000_050))
    assert payment.action is Action.REFUND
    assert (payment.transaction_id, payment.original_transaction_id) == ("re_9", "ch_1")
    assert payment.amount == Decimal("10000.50")


def test_an_expiry_maps_to_expire() -> None:
    """subscription.expired is the expire action."""
    assert _read(_payload("subscription.expired")).action is Action.EXPIRE


def test_an_unmapped_event_type_is_ignored_not_refused() -> None:
    """invoice.created is not in events: acknowledged, nothing read further."""
    assert _read({"type": "invoice.created"}) == Ignored("invoice.created")


def test_a_provider_with_one_action_needs_no_event_type() -> None:
    """action: charge reads every body as a charge."""
    entry = {k: v for k, v in BILLING.items() if k not in ("event_type", "events")}
    config = read_section({"b": {**entry, "action": "charge"}}, "$", _fail)["b"]
    payment = _read({"data": _payload("ignored")["data"]}, config)
    assert (payment.action, payment.event_type) == (Action.CHARGE, None)


# --- refusals name the payload's field ------------------------------------------------------


def test_missing_required_fields_are_named_by_their_paths() -> None:
    """No id, no user, no amount: each finding points at the configured path."""
    payload = _payload("payment.succeeded")
    for key in ("id", "amount", "customer"):
        del payload["data"][key]
    assert _errors(payload) == {
        ("$.data.id", "field_required"),
        ("$.data.amount", "field_required"),
        ("$.data.customer.telegram_id", "field_required"),
    }


def test_the_message_names_the_path_and_the_mapping() -> None:
    """The 422 says which path is missing and which fact it is mapped to."""
    payload = _payload("payment.succeeded")
    del payload["data"]["amount"]
    (finding,) = _read(payload)
    assert finding.message == "the payload has no data.amount (billing maps amount to it)"


def test_a_missing_event_type_is_refused() -> None:
    """The event type path is required when configured."""
    assert _errors({"data": {}}) == {("$.type", "field_required")}


def test_a_missing_currency_falls_back_to_the_providers_currency() -> None:
    """With currency: UZS configured, a payload without one is in UZS."""
    payload = _payload("payment.succeeded")
    del payload["data"]["currency"]
    assert _errors(payload) == {("$.data.currency", "field_required")}
    assert _read(payload, _config(currency="UZS")).currency == "UZS"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"amount": -1}, ("$.data.amount", "amount_type")),
        ({"amount": "12,5"}, ("$.data.amount", "amount_type")),
        ({"amount": True}, ("$.data.amount", "amount_type")),
        ({"currency": "XYZ"}, ("$.data.currency", "currency_code")),
        ({"id": "has space"}, ("$.data.id", "id_format")),
        ({"id": "x" * 129}, ("$.data.id", "id_format")),
        ({"id": {"nested": 1}}, ("$.data.id", "field_type")),
        ({"plan": ["monthly"]}, ("$.data.plan", "field_type")),
        ({"customer": {"telegram_id": 1.5}}, ("$.data.customer.telegram_id", "field_type")),
    ],
)
def test_bad_values_are_refused_with_a_rule(
    data: dict[str, Any], expected: tuple[str, str]
) -> None:
    """Negative or non-numeric amounts, unknown currencies and odd ids are 422s."""
    assert _errors(_payload("payment.succeeded", **data)) == {expected}


def test_amounts_may_be_numeric_strings_or_floats() -> None:
    """ "4900000" and 49000.5 (with amount_unit major) are both read exactly."""
    assert _read(_payload("payment.succeeded", amount="4900000")).amount == Decimal(49000)
    major = _config(amount_unit="major")
    assert _read(_payload("payment.succeeded", amount=49000.5), major).amount == Decimal("49000.5")


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (T0 - 60, T0 - 60),
        (str(T0 - 60), T0 - 60),
        ((T0 - 60) * 1000, T0 - 60),
        ("2025-11-22T08:25:40+00:00", 1_763_799_940),
        ("2025-11-22T13:25:40+05:00", 1_763_799_940),
    ],
)
def test_event_time_accepts_seconds_milliseconds_and_zoned_iso(
    created: object, expected: int
) -> None:
    """Unix seconds or ms, as numbers or text, or ISO 8601 with a zone."""
    payload = {**_payload("payment.succeeded"), "created": created}
    assert _read(payload).event_time == expected


@pytest.mark.parametrize("created", ["2025-11-22T08:25:40", "yesterday", -5, True])
def test_an_unreadable_event_time_is_refused(created: object) -> None:
    """A time without a zone is ambiguous and refused, like garbage."""
    payload = {**_payload("payment.succeeded"), "created": created}
    assert _errors(payload) == {("$.created", "event_time_format")}


def test_without_an_event_time_path_the_time_is_now() -> None:
    """Payloads that carry no time are dated when they arrive."""
    fields = {k: v for k, v in BILLING["fields"].items() if k != "event_time"}
    assert _read(_payload("payment.succeeded"), _config(fields=fields)).event_time == T0


def test_the_first_identity_present_keys_the_subscription() -> None:
    """user_id is used when the Telegram id is absent; both go to the ingest user."""
    user = {"telegram_id": "data.customer.telegram_id", "user_id": "data.customer.id"}
    payload = _payload("payment.succeeded", customer={"id": "u-5"})
    payment = _read(payload, _config(user=user))
    assert (payment.user_key, payment.user) == ("u-5", {"user_id": "u-5"})


def test_optional_facts_that_are_absent_are_left_out() -> None:
    """No plan, reason or payment method: the Payment simply has none."""
    payload = _payload("payment.succeeded")
    for key in ("plan", "method"):
        del payload["data"][key]
    payment = _read(payload)
    assert (payment.plan, payment.properties) == (None, {})


def test_a_non_object_payload_is_refused_at_the_event_type() -> None:
    """A list body has no type: the first required path is named."""
    assert _errors([1, 2]) == {("$.type", "field_required")}


def test_a_missing_identity_names_every_mapped_identity() -> None:
    """With telegram_id and user_id mapped and neither sent, both are named as alternatives."""
    user = {"telegram_id": "data.customer.telegram_id", "user_id": "data.customer.id"}
    found = _read(_payload("payment.succeeded", customer={}), _config(user=user))
    assert [(f.path, f.message) for f in found] == [
        (
            "$.data.customer.telegram_id",
            "the payload has no data.customer.telegram_id (billing maps user.telegram_id to "
            "it); one of telegram_id, user_id is needed",
        ),
        (
            "$.data.customer.id",
            "the payload has no data.customer.id (billing maps user.user_id to it); one of "
            "telegram_id, user_id is needed",
        ),
    ]


def test_the_item_carries_the_decision_over_pass_through_properties_and_reason() -> None:
    """to_item: plan key, time, user, and properties with the decision's facts winning."""
    payment = _read(_payload("subscription.canceled", cancel_reason="moving", method="cash"))
    item = to_item(payment, "cancel_subscription", {"transaction_id": "ch_1", "days_active": 3})
    assert item == {
        "event": "cancel_subscription",
        "event_time": T0 - 5,
        "user": {"telegram_id": "77123", "email": "ali@example.com"},
        "properties": {
            "payment_method": "cash",
            "reason": "moving",
            "transaction_id": "ch_1",
            "days_active": 3,
        },
    }
