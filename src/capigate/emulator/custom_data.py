"""Step 7 of spec §12: business data (spec §4).

Only ``Purchase`` has required parameters (``value`` 2804009, ``currency`` 2804010); every
``contents`` item needs an ``id`` (2804008); currency is ISO 4217 in any case; enums are closed.
Custom keys are allowed, so unknown keys pass.
"""

from __future__ import annotations

import re
from typing import Any

import pycountry

from capigate.emulator.config import EmulatorConfig
from capigate.emulator.envelope import refuse, refuse_param
from capigate.emulator.schema import CUSTOMER_SEGMENTS, check_enum, type_error

SUBCODE_CONTENT_ID = 2804008
SUBCODE_PURCHASE_VALUE = 2804009
SUBCODE_PURCHASE_CURRENCY = 2804010
SUBCODE_VALUE_CURRENCY = 2804023
CURRENCIES = frozenset(currency.alpha_3 for currency in pycountry.currencies)
DELIVERY_CATEGORIES = frozenset({"in_store", "curbside", "home_delivery"})
CONTENT_TYPES = frozenset({"product", "product_group"})
_NUMERIC_STRING_RE = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER_KEYS = ("value", "predicted_ltv", "net_revenue")
_ENUMS = (
    ("delivery_category", DELIVERY_CATEGORIES),
    ("content_type", CONTENT_TYPES),
    ("customer_segmentation", CUSTOMER_SEGMENTS),
)


def check(cd: Any, event_name: str, path: str, config: EmulatorConfig) -> None:
    """Raise ``Refused`` for business data Meta rejects."""
    path = f"{path}['custom_data']"
    cd = cd or {}
    if event_name == "Purchase":
        _check_purchase(cd, path, config)
    if not cd:
        return
    for key in _NUMBER_KEYS:
        if cd.get(key) is not None and not _is_number(cd[key]):
            raise type_error(f"{path}['{key}']", "a number")
    _check_currency(cd, path, config)
    for key, allowed in _ENUMS:
        if cd.get(key) is not None:
            check_enum(cd[key], allowed, f"{path}['{key}']")
    if cd.get("content_ids") is not None and not isinstance(cd["content_ids"], list):
        raise type_error(f"{path}['content_ids']", "an array")
    if cd.get("contents") is not None:
        _check_contents(cd["contents"], f"{path}['contents']")


def _check_purchase(cd: dict[str, Any], path: str, config: EmulatorConfig) -> None:
    if cd.get("value") is None:
        message = (
            "Your purchase event doesn't include a value parameter. Add the value of the "
            f"purchase in {path}['value']."
        )
        raise refuse(SUBCODE_PURCHASE_VALUE, "Missing Value for Purchase Event", message)
    if cd.get("currency") is None and config.purchase_requires_currency:
        message = (
            "Your purchase event doesn't include a currency parameter. Add an ISO 4217 code "
            f"in {path}['currency']."
        )
        raise refuse(SUBCODE_PURCHASE_CURRENCY, "Missing Currency for Purchase Event", message)


def _check_currency(cd: dict[str, Any], path: str, config: EmulatorConfig) -> None:
    currency = cd.get("currency")
    if currency is None:
        if cd.get("value") is not None and config.value_requires_currency:
            message = f"{path}['value'] is set but {path}['currency'] is missing."
            raise refuse(SUBCODE_VALUE_CURRENCY, "Missing Currency", message)
        return
    if not isinstance(currency, str) or currency.upper() not in CURRENCIES:
        raise refuse_param(f"Invalid value \"{currency}\" for {path}['currency']: not ISO 4217.")


def _check_contents(contents: Any, path: str) -> None:
    if not isinstance(contents, list):
        raise type_error(path, "an array")
    for index, item in enumerate(contents):
        item_path = f"{path}[{index}]"
        if not isinstance(item, dict):
            raise type_error(item_path, "an object")
        if item.get("id") in (None, ""):
            message = f"Every contents item needs an id. Param: {item_path}['id']"
            raise refuse(SUBCODE_CONTENT_ID, "Missing Content ID", message)
        if item.get("delivery_category") is not None:
            category_path = f"{item_path}['delivery_category']"
            check_enum(item["delivery_category"], DELIVERY_CATEGORIES, category_path)
        for key in ("quantity", "item_price"):
            if item.get(key) is not None and not _is_number(item[key]):
                raise type_error(f"{item_path}['{key}']", "a number")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and _NUMERIC_STRING_RE.fullmatch(value) is not None
