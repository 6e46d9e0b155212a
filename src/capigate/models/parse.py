"""Meta's wire shape <-> the event model, through the tables of ``capigate.models.schema``.

Type errors are this module's business; Meta's rules (required fields per ``action_source``,
time window, hashing) belong to ``capigate.validate``. ``null`` means "absent" everywhere.
"""

from __future__ import annotations

from typing import Any

from capigate.errors import ValidationError
from capigate.findings import Finding, warning
from capigate.models import checks as c
from capigate.models.app import AppData
from capigate.models.custom import Content, CustomData
from capigate.models.event import (
    AttributionData,
    AttributionSetting,
    OriginalEventData,
    ServerEvent,
)
from capigate.models.schema import Entry, ExtInfoNode, Items, Shape, Trusted, field
from capigate.models.user import HASHED_KEYS, SDK_HASHED_KEYS, UserData


def _fields(check: c.Check, *keys: str, to_wire: c.Convert | None = None) -> dict[str, Entry]:
    return dict.fromkeys(keys, field(check, to_wire))


USER_DATA = Shape(
    UserData,
    {
        **_fields(c.as_user_value, *HASHED_KEYS, *SDK_HASHED_KEYS, to_wire=c.strings_to_wire),
        **_fields(c.as_str, "client_ip_address", "client_user_agent", "fbc", "fbp", "anon_id"),
        **_fields(c.as_str, "madid", "ctwa_clid", "partner_name"),
        **_fields(c.as_id, "subscription_id", "page_id", "page_scoped_user_id", "ig_account_id"),
        **_fields(c.as_id, "ig_sid", "whatsapp_business_account_id", "partner_id"),
        **_fields(c.as_id, "instagram_business_account_id"),
        **_fields(c.as_str_or_int, "fb_login_id", "lead_id"),
    },
    "§3.1",
)

CONTENT = Shape(
    Content,
    {
        "id": field(c.as_id),
        "quantity": field(c.as_int),
        "item_price": field(c.as_number),
        **_fields(c.as_str, "delivery_category", "title", "description", "brand", "category"),
    },
    "§4",
)

CUSTOM_DATA = Shape(
    CustomData,
    {
        **_fields(c.as_number, "value", "predicted_ltv", "net_revenue"),
        "content_ids": field(Items(c.as_id, "§4")),
        "contents": field(Items(CONTENT, "§4")),
        "num_items": field(c.as_int),
        "status": field(c.as_str_or_flag),
        **_fields(c.as_id, "order_id", "item_number", "product_catalog_id"),
        **_fields(c.as_str, "currency", "content_type", "content_name", "content_category"),
        **_fields(c.as_str, "search_string", "delivery_category", "lead_event_source"),
        **_fields(c.as_str, "customer_segmentation"),
    },
    "§4",
    open_=True,
)

APP_DATA = Shape(
    AppData,
    {
        **_fields(
            c.as_flag,
            "advertiser_tracking_enabled",
            "application_tracking_enabled",
            "consider_views",
            "include_dwell_data",
            "include_video_data",
            to_wire=c.flag_to_int,
        ),
        "extinfo": field(ExtInfoNode()),
        "url_schemes": field(Items(c.as_str, "§5")),
        **_fields(c.as_str, "campaign_ids", "install_referrer", "installer_package", "vendor_id"),
        **_fields(c.as_str, "windows_attribution_id", "receipt_data"),
    },
    "§5",
)

ORIGINAL_EVENT_DATA = Shape(
    OriginalEventData,
    {
        "event_name": field(c.as_str),
        "event_time": field(c.as_seconds),
        **_fields(c.as_id, "order_id", "event_id"),
    },
    "§2",
)

ATTRIBUTION_SETTING = Shape(
    AttributionSetting,
    _fields(c.as_int, "inactivity_window_hours", "reattribution_window_hours"),
    "§2",
)

ATTRIBUTION_DATA = Shape(
    AttributionData,
    {
        **_fields(c.as_int, "visit_time", "attr_window", "touchpoint_ts"),
        **_fields(c.as_number, "attribution_share", "attribution_value", "total_credit"),
        **_fields(c.as_id, "ad_id", "adset_id", "campaign_id", "touchpoint_id"),
        **_fields(c.as_str, "scope", "attribution_model", "attribution_source", "touchpoint_type"),
        **_fields(c.as_str, "attribution_method", "decline_reason", "auditing_token"),
        **_fields(c.as_str, "linkage_key", "partner_client_id"),
        "attribution_setting": field(ATTRIBUTION_SETTING),
    },
    "§2",
)

SERVER_EVENT = Shape(
    ServerEvent,
    {
        "event_name": field(c.as_str),
        "event_time": field(c.as_seconds),
        "event_id": field(c.as_id),
        "action_source": field(c.as_action_source, c.enum_value),
        **_fields(c.as_str, "event_source_url", "referrer_url", "messaging_channel"),
        **_fields(c.as_str, "customer_segmentation", "advanced_measurement_table"),
        "user_data": field(USER_DATA),
        "custom_data": field(CUSTOM_DATA),
        "app_data": field(APP_DATA),
        "original_event_data": field(ORIGINAL_EVENT_DATA),
        "attribution_data": field(ATTRIBUTION_DATA),
        "opt_out": field(c.as_flag),
        "data_processing_options": field(Items(c.as_str, "§2")),
        **_fields(c.as_int, "data_processing_options_country", "data_processing_options_state"),
    },
    "§2",
    required=("event_name", "event_time", "action_source", "user_data"),
    # Required keys are written even when empty so the validator can name what is wrong;
    # an empty data_processing_options means "explicitly no Limited Data Use" (spec §2).
    keep=frozenset({"event_name", "action_source", "user_data", "data_processing_options"}),
)

_NORMALIZED_EVENT = Shape(
    ServerEvent,
    {key: entry[:4] for key, entry in SERVER_EVENT.table.items()}
    | {"user_data": field(Trusted(USER_DATA))},
    SERVER_EVENT.spec,
    required=SERVER_EVENT.required,
    keep=SERVER_EVENT.keep,
)


def _fraction_warning(data: Any, findings: list[Finding]) -> None:
    time = data["event_time"]
    if isinstance(time, float) and not time.is_integer():
        message = f"event_time {time} has a fraction; Meta takes whole seconds, so it was truncated"
        findings.append(warning("$.event_time", "event_time_fraction", message, "§7.1"))


def parse_event(data: Any) -> tuple[ServerEvent | None, list[Finding]]:
    """Parse one event in Meta's wire shape; ``None`` when any finding is an error."""
    findings: list[Finding] = []
    event = SERVER_EVENT.parse(data, "$", findings, True)
    if findings and any(f.is_error for f in findings):
        return None, findings
    _fraction_warning(data, findings)
    return event, findings


def parse_wire(
    data: Any, *, normalized_user_data: bool = False
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Type-check one wire event and return it in canonical wire form, building no dataclass.

    Equal to ``event_to_wire(from_dict(data))`` whenever that succeeds; ``None`` when any
    finding is an error. This is the pipeline's fast path. ``normalized_user_data`` says that
    ``user_data`` comes from ``capigate.normalize``: its values are not checked again.
    """
    findings: list[Finding] = []
    shape = _NORMALIZED_EVENT if normalized_user_data else SERVER_EVENT
    wire = shape.parse(data, "$", findings, False)
    if findings and any(f.is_error for f in findings):
        return None, findings
    _fraction_warning(data, findings)
    return wire, findings


def write_event(event: ServerEvent) -> dict[str, Any]:
    """The canonical wire dict of ``event``."""
    wire: dict[str, Any] = SERVER_EVENT.write(event)
    return wire


def from_dict(data: Any) -> ServerEvent:
    """Parse one event or raise ``ValidationError`` carrying every error finding."""
    event, findings = parse_event(data)
    if event is None:
        errors = [f for f in findings if f.is_error]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationError(f"not a valid Meta server event: {errors[0].message}{more}", errors)
    return event
