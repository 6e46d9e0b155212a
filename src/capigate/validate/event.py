"""One server event (spec §2, §2.1, §12 steps 3-7): schema first, then each part's rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.app import check_app_data
from capigate.validate.custom_data import check_custom_data, check_purchase_without_custom_data
from capigate.validate.event_time import check_event_time
from capigate.validate.fields import check_optional_fields
from capigate.validate.messaging import check_messaging
from capigate.validate.names import check_event_name
from capigate.validate.options import ValidationOptions
from capigate.validate.rules import child, found, kind
from capigate.validate.user_data import check_normalized_user_data, check_user_data

EVENT_KEYS = frozenset(
    {"event_name", "event_time", "user_data", "custom_data", "event_source_url", "opt_out",
     "event_id", "action_source", "data_processing_options", "data_processing_options_country",
     "data_processing_options_state", "referrer_url", "customer_segmentation", "app_data",
     "original_event_data", "attribution_data", "messaging_channel",
     "advanced_measurement_table"}
)  # fmt: skip
REQUIRED_KEYS = ("event_name", "event_time", "user_data", "action_source")
ACTION_SOURCES = frozenset(
    {"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
     "business_messaging", "other"}
)  # fmt: skip
# Where a key that is not an event key usually belongs (the old Node SDK put ATE at the top).
_HOME_OF = {
    "advertiser_tracking_enabled": "app_data",
    "application_tracking_enabled": "app_data",
    "extinfo": "app_data",
    "value": "custom_data",
    "currency": "custom_data",
    "contents": "custom_data",
    "client_ip_address": "user_data",
    "client_user_agent": "user_data",
    "fbp": "user_data",
    "fbc": "user_data",
    "em": "user_data",
    "ph": "user_data",
    "external_id": "user_data",
    "test_event_code": "the request body, next to data",
}


def check_event(
    event: dict[str, Any],
    now_s: float,
    options: ValidationOptions,
    out: list[Finding],
    *,
    normalized_user_data: bool = False,
) -> None:
    """Append every finding for ``event``; a milliseconds event_time is fixed in place.

    ``normalized_user_data`` says ``user_data`` was written by ``capigate.normalize`` (the
    pipeline): checks it could only pass are skipped, the findings are the same.
    """
    _check_keys(event, out)
    source = _action_source(event.get("action_source"), out)
    name = event.get("event_name")
    if isinstance(name, str) and name:
        check_event_name(name, options, out)
    elif name is not None:
        out.append(found("field_type", "$.event_name", "event_name must be a non-empty string."))
    check_event_time(event, source, now_s, options, out)
    user_data = event.get("user_data")
    if isinstance(user_data, Mapping):
        check = check_normalized_user_data if normalized_user_data else check_user_data
        check(user_data, source, options.require_baseline_match, out)
    elif user_data is not None:
        out.append(
            found(
                "field_type", "$.user_data", f"user_data must be an object, not {kind(user_data)}."
            )
        )
    _check_custom_data(event, name, out)
    check_optional_fields(event, out)
    _check_source_requirements(event, source, out)
    check_messaging(event, source == "business_messaging", options, out)


def _check_keys(event: Mapping[str, Any], out: list[Finding]) -> None:
    for key in REQUIRED_KEYS:
        if event.get(key) is None:
            out.append(
                found(
                    "required_field_missing",
                    f"$.{key}",
                    f"{key} is required on every event; Meta rejects the request without it.",
                )
            )
    for key in event:
        if key not in EVENT_KEYS:
            home = _HOME_OF.get(key)
            hint = f" It belongs in {home}." if home else " Remove it."
            out.append(
                found(
                    "unknown_event_key",
                    child("$", key),
                    f"Unexpected key {key!r} on the event: Meta rejects the whole request.{hint}",
                )
            )


def _action_source(source: object, out: list[Finding]) -> str | None:
    """The valid action_source, or None (after a finding when it is present but wrong)."""
    if isinstance(source, str) and source in ACTION_SOURCES:
        return source
    if source is not None:
        hint = " (use physical_store for in-store sales)" if source == "in_store" else ""
        out.append(
            found(
                "action_source_invalid",
                "$.action_source",
                f"action_source must be one of {', '.join(sorted(ACTION_SOURCES))}{hint}.",
            )
        )
    return None


def _check_custom_data(event: Mapping[str, Any], name: object, out: list[Finding]) -> None:
    custom_data = event.get("custom_data")
    if isinstance(custom_data, Mapping):
        check_custom_data(custom_data, name, out)
    elif custom_data is not None:
        out.append(
            found(
                "field_type",
                "$.custom_data",
                f"custom_data must be an object, not {kind(custom_data)}.",
            )
        )
    elif name == "Purchase":
        check_purchase_without_custom_data(out)


def _check_source_requirements(
    event: Mapping[str, Any], source: str | None, out: list[Finding]
) -> None:
    if source == "app":
        check_app_data(event.get("app_data"), out)
    elif event.get("app_data") is not None:
        out.append(
            found(
                "app_data_not_app",
                "$.app_data",
                "app_data is used only with action_source=app; Meta ignores it here.",
            )
        )
    if source == "website":
        _check_website(event, out)


def _check_website(event: Mapping[str, Any], out: list[Finding]) -> None:
    if event.get("event_source_url") is None:
        out.append(
            found(
                "event_source_url_required",
                "$.event_source_url",
                "Website events need event_source_url, the page where the event happened.",
            )
        )
    user_data = event.get("user_data")
    if isinstance(user_data, Mapping) and not user_data.get("client_user_agent"):
        out.append(
            found(
                "client_user_agent_required",
                "$.user_data.client_user_agent",
                "Website events need user_data.client_user_agent, the browser's User-Agent "
                "(sent in the clear).",
            )
        )
