"""custom_data (spec §4): Purchase value and currency, ISO 4217, typed standard fields.

Keys that are not standard are custom properties and pass unchecked, except names that say they
carry raw personal data (§13).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.currency import is_currency
from capigate.validate.custom_fields import FIELD_CHECKS, number
from capigate.validate.rules import child, found, kind

PII_KEYS = frozenset(
    {"email", "e_mail", "phone", "phone_number", "mobile", "user_name", "username",
     "first_name", "last_name", "full_name", "date_of_birth", "birthday", "address"}
)  # fmt: skip

PATH = "$.custom_data"
VALUE_PATH = f"{PATH}.value"
CURRENCY_PATH = f"{PATH}.currency"


def check_custom_data(
    custom_data: Mapping[str, Any], event_name: object, out: list[Finding]
) -> None:
    """Append findings for the ``custom_data`` object of an event named ``event_name``."""
    _check_value_and_currency(custom_data, event_name, out)
    for key, value in custom_data.items():
        check = FIELD_CHECKS.get(key)
        if check is not None:
            if value is not None:
                check(key, value, out)
        elif key in PII_KEYS:
            out.append(
                found(
                    "custom_data_pii",
                    child(PATH, key),
                    f"custom_data.{key} looks like raw personal data; Meta's rules keep it out "
                    "of custom_data. Send it hashed in user_data instead.",
                )
            )


def check_purchase_without_custom_data(out: list[Finding]) -> None:
    """A Purchase with no custom_data at all lacks both required fields."""
    _check_value_and_currency({}, "Purchase", out)


def _check_value_and_currency(
    data: Mapping[str, Any], event_name: object, out: list[Finding]
) -> None:
    value, currency = data.get("value"), data.get("currency")
    purchase = event_name == "Purchase"
    if value is not None:
        _check_value(value, out)
    elif purchase:
        out.append(
            found(
                "purchase_value_required",
                VALUE_PATH,
                "Purchase needs custom_data.value, the amount paid. Add it.",
            )
        )
    if currency is not None:
        if not (isinstance(currency, str) and is_currency(currency)):
            out.append(
                found(
                    "currency_invalid",
                    CURRENCY_PATH,
                    "custom_data.currency must be an ISO 4217 code such as USD, EUR or UZS.",
                )
            )
    elif purchase:
        out.append(
            found(
                "purchase_currency_required",
                CURRENCY_PATH,
                "Purchase needs custom_data.currency, an ISO 4217 code such as USD. Add it.",
            )
        )
    elif value is not None:
        out.append(
            found(
                "value_without_currency",
                CURRENCY_PATH,
                "custom_data.value has no currency; Meta cannot use the value. Add an ISO 4217 "
                "currency code.",
            )
        )


def _check_value(value: object, out: list[Finding]) -> None:
    amount = number(value)
    if amount is None:
        got = "a non-numeric string" if isinstance(value, str) else kind(value)
        out.append(
            found(
                "value_invalid",
                VALUE_PATH,
                f"custom_data.value must be a finite number such as 142.52, not {got}.",
            )
        )
    elif amount < 0:
        out.append(
            found(
                "value_negative",
                VALUE_PATH,
                "custom_data.value is negative; send the amount as 0 or more.",
            )
        )
