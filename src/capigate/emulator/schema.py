"""Step 3 of spec §12: the shape of one server event (keys, required fields, types, enums).

Meta validates the event strictly: an unknown top-level key is "Unexpected key", a missing one
"The parameter ... is required", both subcode 2804019 (spec §2.1). ``null`` counts as absent.
"""

from __future__ import annotations

from typing import Any

from capigate.emulator.config import EmulatorConfig
from capigate.emulator.envelope import Refused, refuse_param

ACTION_SOURCES = frozenset(
    {"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
     "business_messaging", "other"}
)  # fmt: skip
MESSAGING_CHANNELS = frozenset({"whatsapp", "messenger", "instagram"})
CUSTOMER_SEGMENTS = frozenset(
    {"new_customer_to_business", "new_customer_to_business_line",
     "new_customer_to_product_area", "new_customer_to_medium", "existing_customer_to_business",
     "existing_customer_to_business_line", "existing_customer_to_product_area",
     "existing_customer_to_medium", "customer_in_loyalty_program"}
)  # fmt: skip
REQUIRED = ("event_name", "event_time", "user_data", "action_source")

# Optional keys and the JSON types they take (spec §2); the required ones are checked apart.
_OPTIONAL_TYPES: dict[str, tuple[type, ...]] = {
    "custom_data": (dict,),
    "event_source_url": (str,),
    "opt_out": (bool,),
    "event_id": (str, int),
    "data_processing_options": (list,),
    "data_processing_options_country": (int,),
    "data_processing_options_state": (int,),
    "referrer_url": (str,),
    "customer_segmentation": (str,),
    "app_data": (dict,),
    "original_event_data": (dict,),
    "attribution_data": (dict,),
    "messaging_channel": (str,),
    "advanced_measurement_table": (str,),
}
EVENT_KEYS = frozenset(REQUIRED) | frozenset(_OPTIONAL_TYPES)
_ORIGINAL_EVENT_TYPES: dict[str, tuple[type, ...]] = {
    "event_name": (str,), "event_time": (int,), "order_id": (str,), "event_id": (str, int),
}  # fmt: skip
_JSON_NAMES = {dict: "an object", str: "a string", bool: "a boolean", int: "an integer",
               list: "an array"}  # fmt: skip


def check_schema(event: Any, path: str, config: EmulatorConfig) -> int:
    """Check one event's shape; return its ``event_time`` as an int."""
    if not isinstance(event, dict):
        raise type_error(path, "an object")
    extra = event.keys() - EVENT_KEYS
    if extra:
        raise refuse_param(f'Unexpected key "{min(extra)}" on param "{path}".')
    for key in REQUIRED:
        if event.get(key) is None:
            raise refuse_param(f"The parameter {path}['{key}'] is required.")
    _check_name(event["event_name"], path, config)
    event_time = _event_time(event["event_time"], path)
    check_enum(event["action_source"], ACTION_SOURCES, f"{path}['action_source']")
    if not isinstance(event["user_data"], dict):
        raise type_error(f"{path}['user_data']", "an object")
    _check_types(event, path, _OPTIONAL_TYPES)
    _check_values(event, path)
    return event_time


def type_error(path: str, expected: str) -> Refused:
    """The 2804019 answer for a value of the wrong JSON type."""
    return refuse_param(f"Invalid parameter type for {path}: expected {expected}.")


def check_enum(value: Any, allowed: frozenset[str], path: str) -> None:
    """Refuse a value outside a closed list (an array or object included: never hashed)."""
    if type(value) is not str or value not in allowed:
        choices = ", ".join(sorted(allowed))
        raise refuse_param(f'Invalid value "{value}" for {path}: expected one of {choices}.')


def _check_name(name: Any, path: str, config: EmulatorConfig) -> None:
    if not isinstance(name, str) or not name.strip():
        raise type_error(f"{path}['event_name']", "a non-empty string")
    limit = config.max_event_name_chars
    if limit is not None and len(name) > limit:
        raise refuse_param(f"{path}['event_name'] is longer than {limit} characters.")


def _event_time(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise type_error(f"{path}['event_time']", "an integer (Unix seconds)")


def _check_types(event: dict[str, Any], path: str, types: dict[str, tuple[type, ...]]) -> None:
    for key, value in event.items():
        expected = types.get(key)
        if expected is None or value is None:
            continue
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise type_error(f"{path}['{key}']", " or ".join(_JSON_NAMES[t] for t in expected))


def _check_values(event: dict[str, Any], path: str) -> None:
    if event.get("messaging_channel") is not None:
        check_enum(event["messaging_channel"], MESSAGING_CHANNELS, f"{path}['messaging_channel']")
    segment = event.get("customer_segmentation")
    if segment is not None:
        check_enum(segment, CUSTOMER_SEGMENTS, f"{path}['customer_segmentation']")
    if event.get("data_processing_options") is not None:
        _check_ldu(event, path)
    original = event.get("original_event_data")
    if original is not None:
        _check_types(original, f"{path}['original_event_data']", _ORIGINAL_EVENT_TYPES)


def _check_ldu(event: dict[str, Any], path: str) -> None:
    """Spec §2: LDU needs a country; a country needs a state."""
    options = event["data_processing_options"]
    if any(not isinstance(o, str) or o.upper() != "LDU" for o in options):
        raise refuse_param(f"{path}['data_processing_options'] accepts only \"LDU\".")
    country = event.get("data_processing_options_country")
    if options and country is None:
        field = f"{path}['data_processing_options_country']"
        raise refuse_param(f"The parameter {field} is required with LDU.")
    if country is not None and event.get("data_processing_options_state") is None:
        field = f"{path}['data_processing_options_state']"
        raise refuse_param(f"The parameter {field} is required when a country is set.")
