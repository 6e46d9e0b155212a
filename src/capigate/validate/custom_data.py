"""custom_data (spec §4): Purchase value and currency, ISO 4217, contents, typed standard fields.

Keys that are not standard are custom properties and pass unchecked, except names that say they
carry raw personal data (§13).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.currency import is_currency
from capigate.validate.rules import child, found, kind

DELIVERY_CATEGORIES = frozenset({"in_store", "curbside", "home_delivery"})
CONTENT_TYPES = frozenset({"product", "product_group"})
CUSTOMER_SEGMENTS = frozenset(
    {"new_customer_to_business", "new_customer_to_business_line",
     "new_customer_to_product_area", "new_customer_to_medium", "existing_customer_to_business",
     "existing_customer_to_business_line", "existing_customer_to_product_area",
     "existing_customer_to_medium", "customer_in_loyalty_program"}
)  # fmt: skip
PII_KEYS = frozenset(
    {"email", "e_mail", "phone", "phone_number", "mobile", "user_name", "username",
     "first_name", "last_name", "full_name", "date_of_birth", "birthday", "address"}
)  # fmt: skip
_NUMBER_KEYS = ("predicted_ltv", "net_revenue")
_STRING_KEYS = ("content_name", "content_category", "search_string")
_ID_KEYS = ("order_id", "item_number")  # strings; integers are common and harmless
_NUMERIC_STRING = re.compile(r"-?\d+(?:\.\d+)?")

PATH = "$.custom_data"


def check_custom_data(
    custom_data: Mapping[str, Any], event_name: object, out: list[Finding]
) -> None:
    """Append findings for the ``custom_data`` object of an event named ``event_name``."""
    _check_value_and_currency(custom_data, event_name, out)
    contents = custom_data.get("contents")
    if contents is not None:
        _check_contents(contents, out)
    _check_typed_fields(custom_data, out)
    for key in sorted(custom_data.keys() & PII_KEYS):
        out.append(
            found(
                "custom_data_pii",
                child(PATH, key),
                f"custom_data.{key} looks like raw personal data; Meta's rules keep it out of "
                "custom_data. Send it hashed in user_data instead.",
            )
        )


def check_purchase_without_custom_data(out: list[Finding]) -> None:
    """A Purchase with no custom_data at all lacks both required fields."""
    _check_value_and_currency({}, "Purchase", out)


def check_customer_segmentation(value: object, path: str, out: list[Finding]) -> None:
    """customer_segmentation is one of Meta's 9 values (top level or in custom_data)."""
    if not _is_one_of(value, CUSTOMER_SEGMENTS):
        out.append(
            found(
                "customer_segmentation_invalid",
                path,
                "customer_segmentation must be one of: " + ", ".join(sorted(CUSTOMER_SEGMENTS)),
            )
        )


def _check_value_and_currency(
    data: Mapping[str, Any], event_name: object, out: list[Finding]
) -> None:
    value, currency = data.get("value"), data.get("currency")
    purchase = event_name == "Purchase"
    if value is None:
        if purchase:
            out.append(
                found(
                    "purchase_value_required",
                    f"{PATH}.value",
                    "Purchase needs custom_data.value, the amount paid. Add it.",
                )
            )
    else:
        _check_value(value, out)
    if currency is None:
        if purchase:
            out.append(
                found(
                    "purchase_currency_required",
                    f"{PATH}.currency",
                    "Purchase needs custom_data.currency, an ISO 4217 code such as USD. Add it.",
                )
            )
        elif value is not None:
            out.append(
                found(
                    "value_without_currency",
                    f"{PATH}.currency",
                    "custom_data.value has no currency; Meta cannot use the value. Add an ISO "
                    "4217 currency code.",
                )
            )
    elif not isinstance(currency, str) or not is_currency(currency):
        out.append(
            found(
                "currency_invalid",
                f"{PATH}.currency",
                "custom_data.currency must be an ISO 4217 code such as USD, EUR or UZS.",
            )
        )


def _check_value(value: object, out: list[Finding]) -> None:
    number = _number(value)
    if number is None:
        got = "a non-numeric string" if isinstance(value, str) else kind(value)
        out.append(
            found(
                "value_invalid",
                f"{PATH}.value",
                f"custom_data.value must be a finite number such as 142.52, not {got}.",
            )
        )
    elif number < 0:
        out.append(
            found(
                "value_negative",
                f"{PATH}.value",
                "custom_data.value is negative; send the amount as 0 or more.",
            )
        )


def _check_contents(contents: object, out: list[Finding]) -> None:
    path = f"{PATH}.contents"
    if not isinstance(contents, list):
        out.append(_type_error(path, contents, "an array of objects"))
        return
    for i, item in enumerate(contents):
        item_path = f"{path}[{i}]"
        if isinstance(item, Mapping):
            _check_content_item(item, item_path, out)
        else:
            out.append(_type_error(item_path, item, "an object"))


def _check_content_item(item: Mapping[str, Any], path: str, out: list[Finding]) -> None:
    item_id = item.get("id")
    if item_id is None or item_id == "":
        out.append(
            found(
                "content_id_missing",
                f"{path}.id",
                "Each contents item needs an id (the product id or SKU). Add it.",
            )
        )
    elif isinstance(item_id, bool) or not isinstance(item_id, str | int):
        out.append(_type_error(f"{path}.id", item_id, "a string"))
    quantity = item.get("quantity")
    if quantity is None:
        out.append(
            found(
                "content_quantity_missing",
                f"{path}.quantity",
                "contents items should carry a quantity; Meta's Pixel requires id and quantity.",
            )
        )
    elif isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        out.append(_type_error(f"{path}.quantity", quantity, "a positive integer"))
    price = item.get("item_price")
    if price is not None and _number(price) is None:
        out.append(_type_error(f"{path}.item_price", price, "a number"))
    category = item.get("delivery_category")
    if category is not None:
        _check_delivery_category(category, f"{path}.delivery_category", out)


def _check_typed_fields(data: Mapping[str, Any], out: list[Finding]) -> None:
    for key in _NUMBER_KEYS:
        number = data.get(key)
        if number is not None and _number(number) is None:
            out.append(_type_error(f"{PATH}.{key}", number, "a number"))
    for key in _STRING_KEYS:
        text = data.get(key)
        if text is not None and not isinstance(text, str):
            out.append(_type_error(f"{PATH}.{key}", text, "a string"))
    for key in _ID_KEYS:
        ident = data.get(key)
        if ident is not None and (isinstance(ident, bool) or not isinstance(ident, str | int)):
            out.append(_type_error(f"{PATH}.{key}", ident, "a string"))
    _check_enums_and_lists(data, out)


def _check_enums_and_lists(data: Mapping[str, Any], out: list[Finding]) -> None:
    num_items = data.get("num_items")
    if num_items is not None and (
        isinstance(num_items, bool) or not isinstance(num_items, int) or num_items < 0
    ):
        out.append(_type_error(f"{PATH}.num_items", num_items, "an integer of 0 or more"))
    content_ids = data.get("content_ids")
    if content_ids is not None and not _is_id_list(content_ids):
        out.append(_type_error(f"{PATH}.content_ids", content_ids, "an array of strings"))
    status = data.get("status")
    if status is not None and not isinstance(status, str | bool):
        out.append(_type_error(f"{PATH}.status", status, "a string or a boolean"))
    content_type = data.get("content_type")
    if content_type is not None and not _is_one_of(content_type, CONTENT_TYPES):
        out.append(
            found(
                "content_type_invalid",
                f"{PATH}.content_type",
                "custom_data.content_type should be 'product' or 'product_group'; catalog ads "
                "ignore other values.",
            )
        )
    category = data.get("delivery_category")
    if category is not None:
        _check_delivery_category(category, f"{PATH}.delivery_category", out)
    segment = data.get("customer_segmentation")
    if segment is not None:
        check_customer_segmentation(segment, f"{PATH}.customer_segmentation", out)


def _check_delivery_category(category: object, path: str, out: list[Finding]) -> None:
    if not _is_one_of(category, DELIVERY_CATEGORIES):
        out.append(
            found(
                "delivery_category_invalid",
                path,
                "delivery_category must be 'in_store', 'curbside' or 'home_delivery'.",
            )
        )


def _number(value: object) -> float | None:
    """The number in ``value`` (Meta's own examples send numeric strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _NUMERIC_STRING.fullmatch(value):
        return float(value)
    return None


def _is_one_of(value: object, choices: frozenset[str]) -> bool:
    return isinstance(value, str) and value in choices


def _is_id_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    )


def _type_error(path: str, value: object, expected: str) -> Finding:
    field = path.removeprefix("$.")
    return found("custom_data_type", path, f"{field} must be {expected}, not {kind(value)}.")
