"""Meta's wire shape -> ``ServerEvent``: type checks only, every problem reported with its path.

Type errors are this module's business; Meta's rules (required fields per ``action_source``,
time window, hashing) belong to ``capigate.validate``. ``null`` means "absent" everywhere.
The parser is table driven: one dict of checks per object, so a field is one dict lookup and
one call, and a JSONPath string is built only when something is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from capigate.errors import ValidationError
from capigate.findings import Finding, error, warning
from capigate.models import checks as c
from capigate.models.app import EXTINFO_SLOTS, AppData, ExtInfo
from capigate.models.custom import Content, CustomData
from capigate.models.event import (
    AttributionData,
    AttributionSetting,
    OriginalEventData,
    ServerEvent,
)
from capigate.models.user import UserData

Check = Callable[[Any], Any]


class _Nested:
    """A check that needs the path and the findings list (objects and arrays)."""

    def parse(self, value: Any, path: str, findings: list[Finding]) -> Any:
        raise NotImplementedError


class _Shape(_Nested):
    """A JSON object parsed into a dataclass; ``open`` objects keep unknown keys as custom."""

    def __init__(
        self,
        cls: Callable[..., Any],
        checks: Mapping[str, Check | _Nested],
        spec: str,
        *,
        required: tuple[str, ...] = (),
        open_: bool = False,
    ) -> None:
        self.cls, self.checks, self.spec = cls, checks, spec
        self.required, self.open = required, open_

    def parse(self, value: Any, path: str, findings: list[Finding]) -> Any:
        if not isinstance(value, Mapping):
            findings.append(
                error(path, "type", f"{path[2:] or 'event'} must be an object", self.spec)
            )
            return None
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        checks = self.checks
        for key, item in value.items():
            if item is None:
                continue
            check = checks.get(key)
            if check is None:
                self._unknown(key, item, path, extra, findings)
            elif isinstance(check, _Nested):
                kwargs[key] = check.parse(item, f"{path}.{key}", findings)
            else:
                try:
                    kwargs[key] = check(item)
                except c.BadValue as bad:
                    where = f"{path}.{key}"
                    message = f"{where[2:]} must be {bad.expected}"
                    findings.append(error(where, bad.rule, message, self.spec))
        if self.required and not self._has_required(value, kwargs, path, findings):
            return None
        if extra:
            kwargs["custom_properties"] = extra
        return self.cls(**kwargs)

    def _has_required(
        self, value: Mapping[str, Any], kwargs: dict[str, Any], path: str, findings: list[Finding]
    ) -> bool:
        """Report absent required keys; a present but invalid one was reported already."""
        for key in self.required:
            if value.get(key) is None:
                where = f"{path}.{key}"
                findings.append(error(where, "required", f"{where[2:]} is required", self.spec))
        return all(kwargs.get(key) is not None for key in self.required)

    def _unknown(
        self, key: str, item: Any, path: str, extra: dict[str, Any], findings: list[Finding]
    ) -> None:
        if self.open:
            extra[key] = item
            return
        where = f"{path}.{key}"
        message = f"unexpected key {key!r} in {path[2:] or 'the event'}: Meta rejects unknown keys"
        findings.append(error(where, "unknown_key", message, self.spec))


class _Items(_Nested):
    """A JSON array whose items all pass one check; parsed into a tuple."""

    def __init__(self, item: Check | _Nested, spec: str) -> None:
        self.item, self.spec = item, spec

    def parse(self, value: Any, path: str, findings: list[Finding]) -> Any:
        if not isinstance(value, list | tuple):
            findings.append(error(path, "type", f"{path[2:]} must be a list", self.spec))
            return None
        item = self.item
        if isinstance(item, _Nested):
            return tuple(item.parse(v, f"{path}[{i}]", findings) for i, v in enumerate(value))
        out = []
        for i, v in enumerate(value):
            try:
                out.append(item(v))
            except c.BadValue as bad:
                where = f"{path}[{i}]"
                findings.append(
                    error(where, bad.rule, f"{where[2:]} must be {bad.expected}", self.spec)
                )
        return tuple(out)


class _ExtInfo(_Nested):
    """``extinfo``: exactly 16 entries; numbers become strings and ``null`` an empty string."""

    def parse(self, value: Any, path: str, findings: list[Finding]) -> Any:
        if not isinstance(value, list | tuple):
            findings.append(error(path, "type", "app_data.extinfo must be a list", "§5.1"))
            return None
        if len(value) != EXTINFO_SLOTS:
            message = f"app_data.extinfo needs exactly 16 entries (got {len(value)})"
            findings.append(error(path, "extinfo_length", message, "§5.1"))
            return None
        slots = []
        for i, v in enumerate(value):
            if v is None:
                slots.append("")
            elif isinstance(v, str | int | float) and not isinstance(v, bool):
                slots.append(v if isinstance(v, str) else str(v))
            else:
                message = f"app_data.extinfo[{i}] must be a string"
                findings.append(error(f"{path}[{i}]", "type", message, "§5.1"))
        return ExtInfo.from_list(slots) if len(slots) == EXTINFO_SLOTS else None


def _fields(check: Check, *keys: str) -> dict[str, Check]:
    return dict.fromkeys(keys, check)


_USER_DATA = _Shape(
    UserData,
    {
        **_fields(c.as_user_value, "em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country"),
        **_fields(
            c.as_user_value, "external_id", "f5first", "f5last", "fi", "dobd", "dobm", "doby"
        ),
        **_fields(c.as_user_value, "app_user_id"),
        **_fields(c.as_str, "client_ip_address", "client_user_agent", "fbc", "fbp", "anon_id"),
        **_fields(c.as_str, "madid", "ctwa_clid", "partner_name"),
        **_fields(c.as_id, "subscription_id", "page_id", "page_scoped_user_id", "ig_account_id"),
        **_fields(
            c.as_id, "ig_sid", "whatsapp_business_account_id", "instagram_business_account_id"
        ),
        **_fields(c.as_id, "partner_id"),
        **_fields(c.as_str_or_int, "fb_login_id", "lead_id"),
    },
    "§3.1",
)

_CONTENT = _Shape(
    Content,
    {
        "id": c.as_id,
        "quantity": c.as_int,
        "item_price": c.as_number,
        **_fields(c.as_str, "delivery_category", "title", "description", "brand", "category"),
    },
    "§4",
)

_CUSTOM_DATA = _Shape(
    CustomData,
    {
        **_fields(c.as_number, "value", "predicted_ltv", "net_revenue"),
        "content_ids": _Items(c.as_id, "§4"),
        "contents": _Items(_CONTENT, "§4"),
        "num_items": c.as_int,
        "status": c.as_str_or_flag,
        **_fields(c.as_id, "order_id", "item_number", "product_catalog_id"),
        **_fields(c.as_str, "currency", "content_type", "content_name", "content_category"),
        **_fields(c.as_str, "search_string", "delivery_category", "lead_event_source"),
        **_fields(c.as_str, "customer_segmentation"),
    },
    "§4",
    open_=True,
)

_APP_DATA = _Shape(
    AppData,
    {
        **_fields(c.as_flag, "advertiser_tracking_enabled", "application_tracking_enabled"),
        **_fields(c.as_flag, "consider_views", "include_dwell_data", "include_video_data"),
        "extinfo": _ExtInfo(),
        "url_schemes": _Items(c.as_str, "§5"),
        **_fields(c.as_str, "campaign_ids", "install_referrer", "installer_package", "vendor_id"),
        **_fields(c.as_str, "windows_attribution_id", "receipt_data"),
    },
    "§5",
)

_ORIGINAL_EVENT_DATA = _Shape(
    OriginalEventData,
    {"event_name": c.as_str, "event_time": c.as_seconds, "order_id": c.as_id, "event_id": c.as_id},
    "§2",
)

_ATTRIBUTION_DATA = _Shape(
    AttributionData,
    {
        **_fields(c.as_int, "visit_time", "attr_window", "touchpoint_ts"),
        **_fields(c.as_number, "attribution_share", "attribution_value", "total_credit"),
        **_fields(c.as_id, "ad_id", "adset_id", "campaign_id", "touchpoint_id"),
        **_fields(c.as_str, "scope", "attribution_model", "attribution_source", "touchpoint_type"),
        **_fields(
            c.as_str, "attribution_method", "decline_reason", "auditing_token", "linkage_key"
        ),
        **_fields(c.as_str, "partner_client_id"),
        "attribution_setting": _Shape(
            AttributionSetting,
            _fields(c.as_int, "inactivity_window_hours", "reattribution_window_hours"),
            "§2",
        ),
    },
    "§2",
)

_SERVER_EVENT = _Shape(
    ServerEvent,
    {
        "event_name": c.as_str,
        "event_time": c.as_seconds,
        "event_id": c.as_id,
        "action_source": c.as_action_source,
        **_fields(c.as_str, "event_source_url", "referrer_url", "messaging_channel"),
        **_fields(c.as_str, "customer_segmentation", "advanced_measurement_table"),
        "user_data": _USER_DATA,
        "custom_data": _CUSTOM_DATA,
        "app_data": _APP_DATA,
        "original_event_data": _ORIGINAL_EVENT_DATA,
        "attribution_data": _ATTRIBUTION_DATA,
        "opt_out": c.as_flag,
        "data_processing_options": _Items(c.as_str, "§2"),
        **_fields(c.as_int, "data_processing_options_country", "data_processing_options_state"),
    },
    "§2",
    required=("event_name", "event_time", "action_source", "user_data"),
)


def parse_event(data: Any) -> tuple[ServerEvent | None, list[Finding]]:
    """Parse one event in Meta's wire shape; ``None`` when any finding is an error."""
    findings: list[Finding] = []
    event = _SERVER_EVENT.parse(data, "$", findings)
    if findings and any(f.is_error for f in findings):
        return None, findings
    time = data["event_time"]
    if isinstance(time, float) and not time.is_integer():
        message = f"event_time {time} has a fraction; Meta takes whole seconds, so it was truncated"
        findings.append(warning("$.event_time", "event_time_fraction", message, "§7.1"))
    return event, findings


def from_dict(data: Any) -> ServerEvent:
    """Parse one event or raise ``ValidationError`` carrying every error finding."""
    event, findings = parse_event(data)
    if event is None:
        errors = [f for f in findings if f.is_error]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationError(f"not a valid Meta server event: {errors[0].message}{more}", errors)
    return event
