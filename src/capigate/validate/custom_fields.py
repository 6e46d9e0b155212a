"""Typed standard custom_data fields (spec §4), one checker per key, and contents items."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.rules import found, kind

DELIVERY_CATEGORIES = frozenset({"in_store", "curbside", "home_delivery"})
CONTENT_TYPES = frozenset({"product", "product_group"})
CUSTOMER_SEGMENTS = frozenset(
    {"new_customer_to_business", "new_customer_to_business_line",
     "new_customer_to_product_area", "new_customer_to_medium", "existing_customer_to_business",
     "existing_customer_to_business_line", "existing_customer_to_product_area",
     "existing_customer_to_medium", "customer_in_loyalty_program"}
)  # fmt: skip
_NUMERIC_STRING = re.compile(r"-?\d+(?:\.\d+)?")

PATH = "$.custom_data"


def number(value: object) -> float | None:
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


def is_one_of(value: object, choices: frozenset[str]) -> bool:
    """True when ``value`` is a string in ``choices`` (safe for unhashable values)."""
    return isinstance(value, str) and value in choices


def check_customer_segmentation(value: object, path: str, out: list[Finding]) -> None:
    """customer_segmentation is one of Meta's 9 values (top level or in custom_data)."""
    if not is_one_of(value, CUSTOMER_SEGMENTS):
        out.append(
            found(
                "customer_segmentation_invalid",
                path,
                "customer_segmentation must be one of: " + ", ".join(sorted(CUSTOMER_SEGMENTS)),
            )
        )


def type_error(path: str, value: object, expected: str) -> Finding:
    """A custom_data_type finding: ``path`` must be ``expected``."""
    field = path.removeprefix("$.")
    return found("custom_data_type", path, f"{field} must be {expected}, not {kind(value)}.")


def _check_number(key: str, value: Any, out: list[Finding]) -> None:
    if number(value) is None:
        out.append(type_error(f"{PATH}.{key}", value, "a number"))


def _check_string(key: str, value: Any, out: list[Finding]) -> None:
    if not isinstance(value, str):
        out.append(type_error(f"{PATH}.{key}", value, "a string"))


def _check_id(key: str, value: Any, out: list[Finding]) -> None:
    # Ids are strings at Meta; integers are common and harmless.
    if isinstance(value, bool) or not isinstance(value, str | int):
        out.append(type_error(f"{PATH}.{key}", value, "a string"))


def _check_num_items(key: str, value: Any, out: list[Finding]) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        out.append(type_error(f"{PATH}.{key}", value, "an integer of 0 or more"))


def _check_content_ids(key: str, value: Any, out: list[Finding]) -> None:
    if not (isinstance(value, list) and all(_is_id(item) for item in value)):
        out.append(type_error(f"{PATH}.{key}", value, "an array of strings"))


def _check_status(key: str, value: Any, out: list[Finding]) -> None:
    if not isinstance(value, str | bool):
        out.append(type_error(f"{PATH}.{key}", value, "a string or a boolean"))


def _check_content_type(key: str, value: Any, out: list[Finding]) -> None:
    if not is_one_of(value, CONTENT_TYPES):
        out.append(
            found(
                "content_type_invalid",
                f"{PATH}.{key}",
                "custom_data.content_type should be 'product' or 'product_group'; catalog ads "
                "ignore other values.",
            )
        )


def _check_delivery_category(key: str, value: Any, out: list[Finding]) -> None:
    _delivery_category(value, f"{PATH}.{key}", out)


def _check_segmentation(key: str, value: Any, out: list[Finding]) -> None:
    check_customer_segmentation(value, f"{PATH}.{key}", out)


def _check_contents(key: str, value: Any, out: list[Finding]) -> None:
    path = f"{PATH}.{key}"
    if not isinstance(value, list):
        out.append(type_error(path, value, "an array of objects"))
        return
    for i, item in enumerate(value):
        if isinstance(item, Mapping):
            _check_content_item(item, f"{path}[{i}]", out)
        else:
            out.append(type_error(f"{path}[{i}]", item, "an object"))


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
    elif not _is_id(item_id):
        out.append(type_error(f"{path}.id", item_id, "a string"))
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
        out.append(type_error(f"{path}.quantity", quantity, "a positive integer"))
    price = item.get("item_price")
    if price is not None and number(price) is None:
        out.append(type_error(f"{path}.item_price", price, "a number"))
    category = item.get("delivery_category")
    if category is not None:
        _delivery_category(category, f"{path}.delivery_category", out)


def _delivery_category(category: object, path: str, out: list[Finding]) -> None:
    if not is_one_of(category, DELIVERY_CATEGORIES):
        out.append(
            found(
                "delivery_category_invalid",
                path,
                "delivery_category must be 'in_store', 'curbside' or 'home_delivery'.",
            )
        )


def _is_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


FieldCheck = Callable[[str, Any, list[Finding]], None]
# The standard keys with a documented type; value and currency are checked together elsewhere.
FIELD_CHECKS: Mapping[str, FieldCheck] = {
    "predicted_ltv": _check_number,
    "net_revenue": _check_number,
    "content_name": _check_string,
    "content_category": _check_string,
    "search_string": _check_string,
    "order_id": _check_id,
    "item_number": _check_id,
    "num_items": _check_num_items,
    "content_ids": _check_content_ids,
    "status": _check_status,
    "content_type": _check_content_type,
    "delivery_category": _check_delivery_category,
    "customer_segmentation": _check_segmentation,
    "contents": _check_contents,
}
