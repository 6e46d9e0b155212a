"""validate_event on custom_data: Purchase, value, currency, contents, typed fields (spec §4)."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.findings import Severity
from capigate.validate import EventCheck
from capigate.validate.currency import ISO_4217_CODES, is_currency
from tests.unit.test_validate_factory import check, make_event, only, rules


def with_custom_data(event_name: str = "ViewContent", **custom_data: Any) -> EventCheck:
    """Check an 'other' event named ``event_name`` with exactly ``custom_data``."""
    return check(make_event("other", event_name=event_name, custom_data=custom_data))


# ---- Purchase, value, currency ----------------------------------------------------------------


def test_purchase_with_value_and_currency_passes() -> None:
    """A Purchase with both required fields is clean."""
    assert with_custom_data("Purchase", value=142.52, currency="USD").findings == ()


def test_purchase_without_custom_data_lacks_both_fields() -> None:
    """A Purchase with no custom_data gets both required-field errors and their subcodes."""
    result = check(make_event("other", event_name="Purchase"))
    assert rules(result) == ["purchase_value_required", "purchase_currency_required"]
    assert "2804009" in result.findings[0].message and "2804010" in result.findings[1].message
    assert [f.path for f in result.findings] == ["$.custom_data.value", "$.custom_data.currency"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"currency": "USD"}, ["purchase_value_required"]),
        ({"value": 10}, ["purchase_currency_required"]),
        ({"value": None, "currency": "USD"}, ["purchase_value_required"]),
    ],
)
def test_purchase_missing_one_field(fields: dict[str, Any], expected: list[str]) -> None:
    """Each missing Purchase field is its own error (no extra value_without_currency)."""
    result = with_custom_data("Purchase", **fields)
    assert rules(result) == expected
    assert not result.ok


def test_only_exact_purchase_requires_value() -> None:
    """'purchase' is a custom event: it does not need value (it gets the case warning)."""
    assert rules(with_custom_data("purchase")) == ["event_name_case"]


@pytest.mark.parametrize("name", ["Subscribe", "StartTrial", "ViewContent"])
def test_other_events_need_no_value(name: str) -> None:
    """Only Purchase requires value and currency at Meta."""
    assert with_custom_data(name).findings == ()


@pytest.mark.parametrize("value", [0, 1, 142.52, "142.52", "10", 10**30])
def test_numeric_values_pass_unchanged(value: Any) -> None:
    """Numbers and numeric strings are accepted and left as they are."""
    result = with_custom_data("Purchase", value=value, currency="usd")
    assert result.findings == ()
    assert result.event["custom_data"]["value"] == value


@pytest.mark.parametrize(
    "value", ["12,50", "1e3", "abc", "", " 5", True, [1], float("nan"), float("inf")]
)
def test_non_numeric_value_is_an_error(value: Any) -> None:
    """value must be a finite number or a plain numeric string."""
    finding = only(with_custom_data("Purchase", value=value, currency="USD"), "value_invalid")
    assert finding.is_error and finding.path == "$.custom_data.value"


@pytest.mark.parametrize("value", [-1, -0.01, "-5"])
def test_negative_value_is_an_error(value: Any) -> None:
    """A negative amount is rejected."""
    assert only(
        with_custom_data("Purchase", value=value, currency="USD"), "value_negative"
    ).is_error


def test_value_without_currency_warns_with_2804023() -> None:
    """On a non-Purchase event, value without currency is a warning citing 2804023."""
    result = with_custom_data("Subscribe", value=5)
    finding = only(result, "value_without_currency")
    assert finding.severity is Severity.WARNING and "2804023" in finding.message
    assert result.ok


@pytest.mark.parametrize("currency", ["USD", "usd", "Uzs", "EUR", "JPY"])
def test_iso_currencies_pass_in_any_case(currency: str) -> None:
    """ISO 4217 codes are accepted case-insensitively."""
    assert with_custom_data("Purchase", value=1, currency=currency).findings == ()


@pytest.mark.parametrize("currency", ["US", "USDT", "ABC", "XXX", "XTS", "$", 840, ""])
def test_non_iso_currency_is_an_error(currency: Any) -> None:
    """Unknown codes, the non-money codes XXX/XTS and non-strings are rejected."""
    assert only(
        with_custom_data("Purchase", value=1, currency=currency), "currency_invalid"
    ).is_error


def test_currency_list_comes_from_the_shipped_iso_4217_data() -> None:
    """The shipped list holds the active codes (UZS, USD, EUR) and not the non-money ones."""
    assert {"UZS", "USD", "EUR", "GBP", "RUB", "KZT"} <= ISO_4217_CODES
    assert "XXX" not in ISO_4217_CODES and len(ISO_4217_CODES) > 150
    assert is_currency("uzs") and not is_currency("uz")


# ---- contents ----------------------------------------------------------------------------------


def test_well_formed_contents_pass() -> None:
    """Items with id, quantity, price and delivery category are accepted."""
    contents = [
        {"id": "sku-1", "quantity": 2, "item_price": 9.5, "delivery_category": "home_delivery"},
        {"id": 42, "quantity": 1, "item_price": "3.10", "title": "Mug"},
    ]
    assert with_custom_data(contents=contents).findings == ()


@pytest.mark.parametrize(
    "item", [{"quantity": 1}, {"id": "", "quantity": 1}, {"id": None, "quantity": 1}]
)
def test_content_without_id_is_2804008(item: dict[str, Any]) -> None:
    """An item without an id is an error citing 2804008 at its index."""
    finding = only(
        with_custom_data(contents=[{"id": "a", "quantity": 1}, item]), "content_id_missing"
    )
    assert finding.path == "$.custom_data.contents[1].id" and "2804008" in finding.message


def test_content_without_quantity_warns() -> None:
    """quantity is required by the Pixel but only a warning here."""
    result = with_custom_data(contents=[{"id": "a"}])
    assert only(result, "content_quantity_missing").severity is Severity.WARNING
    assert result.ok


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ({"id": True, "quantity": 1}, "$.custom_data.contents[0].id"),
        ({"id": "a", "quantity": 0}, "$.custom_data.contents[0].quantity"),
        ({"id": "a", "quantity": "2"}, "$.custom_data.contents[0].quantity"),
        ({"id": "a", "quantity": True}, "$.custom_data.contents[0].quantity"),
        ({"id": "a", "quantity": 1, "item_price": "cheap"}, "$.custom_data.contents[0].item_price"),
        ("sku-1", "$.custom_data.contents[0]"),
    ],
)
def test_badly_typed_content_items_are_errors(item: Any, path: str) -> None:
    """Item ids are strings, quantities positive integers, prices numbers, items objects."""
    finding = only(with_custom_data(contents=[item]), "custom_data_type")
    assert finding.path == path and "2804016" in finding.message


def test_contents_must_be_an_array() -> None:
    """contents as an object is a type error."""
    assert (
        only(with_custom_data(contents={"id": "a"}), "custom_data_type").path
        == "$.custom_data.contents"
    )


@pytest.mark.parametrize("where", ["item", "top"])
@pytest.mark.parametrize(
    ("category", "ok"), [("curbside", True), ("in_store", True), ("drone", False), (1, False)]
)
def test_delivery_category_enum(where: str, category: Any, ok: bool) -> None:
    """delivery_category is in_store, curbside or home_delivery, per item or for the event."""
    if where == "item":
        result = with_custom_data(
            contents=[{"id": "a", "quantity": 1, "delivery_category": category}]
        )
    else:
        result = with_custom_data(delivery_category=category)
    assert result.ok is ok
    assert ("delivery_category_invalid" in rules(result)) is not ok


# ---- other standard fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "bad_key"),
    [
        ({"num_items": 3}, None),
        ({"num_items": None, "contents": None}, None),
        ({"num_items": 0}, None),
        ({"num_items": "3"}, "num_items"),
        ({"num_items": -1}, "num_items"),
        ({"num_items": 2.5}, "num_items"),
        ({"num_items": False}, "num_items"),
        ({"content_ids": ["a", 1]}, None),
        ({"content_ids": "a"}, "content_ids"),
        ({"content_ids": [True]}, "content_ids"),
        ({"content_ids": [{"id": 1}]}, "content_ids"),
        ({"predicted_ltv": 100.5, "net_revenue": "12"}, None),
        ({"predicted_ltv": "lots"}, "predicted_ltv"),
        ({"net_revenue": [1]}, "net_revenue"),
        ({"content_name": "Pro plan", "content_category": "plans", "search_string": "x"}, None),
        ({"content_name": 5}, "content_name"),
        ({"search_string": ["x"]}, "search_string"),
        ({"order_id": "o-1", "item_number": 7}, None),
        ({"order_id": 1.5}, "order_id"),
        ({"item_number": True}, "item_number"),
        ({"status": "completed"}, None),
        ({"status": True}, None),
        ({"status": 1}, "status"),
    ],
)
def test_standard_fields_have_their_types(fields: dict[str, Any], bad_key: str | None) -> None:
    """Typed standard fields are checked; custom properties are not."""
    result = with_custom_data(**fields, plan="pro", anything={"nested": [1]})
    if bad_key is None:
        assert result.findings == ()
    else:
        assert only(result, "custom_data_type").path == f"$.custom_data.{bad_key}"


@pytest.mark.parametrize(
    ("content_type", "ok"),
    [("product", True), ("product_group", True), ("service", False), (["product"], False)],
)
def test_content_type_outside_the_enum_warns(content_type: Any, ok: bool) -> None:
    """content_type is product or product_group; other values are a warning."""
    result = with_custom_data(content_type=content_type)
    assert ("content_type_invalid" in rules(result)) is not ok
    assert result.ok


def test_raw_pii_in_custom_data_warns_per_key_in_order() -> None:
    """Seed 000's phone_number and user_name in custom_data are flagged, in the event's order."""
    result = with_custom_data(phone_number="+998901234567", plan="pro", user_name="Ali")
    assert [(f.rule, f.path) for f in result.findings] == [
        ("custom_data_pii", "$.custom_data.phone_number"),
        ("custom_data_pii", "$.custom_data.user_name"),
    ]
    assert "+998901234567" not in result.findings[0].message
