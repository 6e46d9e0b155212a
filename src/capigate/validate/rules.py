"""The rule catalogue: every check the validator makes, in one table for docs and the dashboard.

A rule has a stable snake_case slug, a fixed severity, the section of
``meta-capi-spec.md`` it comes from and, where Meta is known to answer with one, its error
subcode (code 100). Findings are made only through :func:`found`, so a finding's severity and
source always agree with this table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from capigate.findings import Finding, Severity

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True, slots=True)
class Rule:
    """One validation rule: slug, severity, spec section, what it checks, Meta's subcode."""

    slug: str
    severity: Severity
    spec: str
    summary: str
    subcode: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON, for docs and the dashboard."""
        return {
            "rule": self.slug,
            "severity": self.severity.value,
            "spec": self.spec,
            "summary": self.summary,
            "subcode": self.subcode,
        }


_CATALOGUE = (
    # request (§1.2, §12 step 2)
    Rule("body_not_object", E, "§1.2", "The request body is a JSON object."),
    Rule("data_missing", E, "§1.2", "The request has a `data` array.", 2804019),
    Rule("data_not_list", E, "§1.2", "`data` is an array of event objects.", 2804019),
    Rule("data_empty", E, "§1.2", "`data` holds at least one event."),
    Rule("too_many_events", E, "§1.2", "`data` holds at most 1,000 events."),
    Rule("request_unknown_key", W, "§1.2", "Top-level request keys are Meta's documented ones."),
    Rule("request_field_type", E, "§1.2", "Top-level request fields have their documented type."),
    Rule("duplicate_event_in_request", W, "§7.2", "No two events share event_name + event_id."),
    # event schema (§2, §12 step 3)
    Rule("event_not_object", E, "§2", "Each event is a JSON object.", 2804019),
    Rule(
        "required_field_missing",
        E,
        "§2",
        "event_name, event_time, user_data and action_source are present.",
        2804019,
    ),
    Rule("field_type", E, "§2", "Event fields have their documented type.", 2804019),
    Rule("unknown_event_key", E, "§2.1", "Events carry only Meta's documented keys.", 2804019),
    Rule("action_source_invalid", E, "§2", "action_source is one of Meta's 9 values."),
    Rule("customer_segmentation_invalid", E, "§2", "customer_segmentation is one of its 9 values."),
    Rule("event_id_missing", W, "§7.2", "Events carry an event_id so Meta can deduplicate them."),
    Rule("event_id_too_long", W, "§2", "event_id has a sane length."),
    Rule("event_source_url_invalid", E, "§2", "event_source_url is an http(s) URL."),
    Rule("original_event_data_unknown_key", W, "§2", "original_event_data has only its 4 keys."),
    Rule("data_processing_options_invalid", E, "§2", 'data_processing_options is [] or ["LDU"].'),
    Rule("ldu_country_required", E, "§2", "LDU comes with data_processing_options_country."),
    Rule("ldu_state_required", E, "§2", "A country comes with data_processing_options_state."),
    Rule("ldu_location_invalid", E, "§2", "LDU country is 0 or 1, state is 0 or 1000."),
    Rule("ldu_location_without_ldu", W, "§2", "LDU country/state come only with LDU."),
    # time (§7.1, §12 step 4)
    Rule("event_time_milliseconds", W, "§7.1", "event_time is in seconds, not milliseconds."),
    Rule(
        "event_time_too_old",
        E,
        "§7.1",
        "event_time is within 7 days (62 for physical_store).",
        2804003,
    ),
    Rule("event_time_in_future", E, "§7.1", "event_time is not in the future.", 2804004),
    # per action_source (§2.1, §5, §6, §12 step 5)
    Rule("event_source_url_required", E, "§2.1", "Website events carry event_source_url."),
    Rule("client_user_agent_required", E, "§2.1", "Website events carry client_user_agent."),
    Rule("app_data_required", E, "§5", "App events carry app_data."),
    Rule(
        "advertiser_tracking_enabled_required",
        E,
        "§5",
        "App events carry advertiser_tracking_enabled.",
    ),
    Rule("tracking_flag_invalid", E, "§5", "Tracking flags are 0 or 1."),
    Rule("extinfo_required", E, "§5.1", "App events carry app_data.extinfo."),
    Rule("extinfo_length", E, "§5.1", "extinfo has exactly 16 items."),
    Rule("extinfo_version", E, "§5.1", "extinfo[0] is a2 (Android) or i2 (iOS)."),
    Rule("extinfo_os_version", E, "§5.1", "extinfo[4] (OS version) is not empty.", 2804043),
    Rule("extinfo_item_type", E, "§5.1", "extinfo items are strings (numbers at 9-14)."),
    Rule("app_data_unknown_key", W, "§5", "app_data carries only its documented keys."),
    Rule("app_data_not_app", W, "§5", "app_data comes only with action_source=app."),
    Rule("app_only_user_key", W, "§3.1", "madid and anon_id come only with app events."),
    Rule(
        "messaging_channel_required",
        E,
        "§6",
        "Business messaging events name their channel.",
        2804063,
    ),
    Rule(
        "messaging_channel_invalid",
        E,
        "§6",
        "messaging_channel is whatsapp, messenger or instagram.",
    ),
    Rule(
        "messaging_channel_not_messaging",
        W,
        "§6",
        "messaging_channel comes only with business_messaging.",
    ),
    Rule(
        "messaging_event_name", E, "§6.1", "Business messaging events use an allowed name.", 2804066
    ),
    Rule(
        "whatsapp_account_missing",
        E,
        "§6",
        "WhatsApp events carry whatsapp_business_account_id.",
        2804116,
    ),
    Rule("ctwa_clid_missing", E, "§6", "WhatsApp events carry ctwa_clid.", 2804087),
    Rule("page_id_missing", E, "§6", "Messenger events carry page_id.", 2804069),
    Rule("page_scoped_user_id_missing", E, "§6", "Messenger events carry page_scoped_user_id."),
    Rule("ig_account_missing", E, "§6", "Instagram events carry ig_account_id.", 2804079),
    Rule("ig_sid_missing", E, "§6", "Instagram events carry ig_sid."),
    # user_data (§3, §12 step 6)
    Rule("user_data_empty", E, "§3", "user_data has at least one customer parameter.", 2804050),
    Rule(
        "user_data_too_broad", E, "§3.3", "user_data is more than a too-broad combination.", 2804050
    ),
    Rule("user_data_not_hashed", E, "§3.1", "Contact fields are lowercase SHA-256 hex."),
    Rule("external_id_not_hashed", W, "§3.1", "external_id is hashed (recommended)."),
    Rule("never_hash_key_hashed", W, "§3.1", "Never-hash keys are sent in the clear."),
    Rule("user_data_value_type", E, "§3.1", "user_data values have their documented type."),
    Rule("user_data_empty_value", W, "§3.1", "user_data values are not empty."),
    Rule("user_data_unknown_key", W, "§3.1", "user_data carries only Meta's documented keys."),
    Rule("client_ip_invalid", E, "§3.1", "client_ip_address is an IPv4 or IPv6 address."),
    Rule("client_ip_not_public", W, "§3.1", "client_ip_address is the user's public address."),
    Rule("fbc_format", W, "§3.2", "fbc looks like fb.<digit>.<13-digit ms>.<fbclid>."),
    Rule("fbp_format", W, "§3.2", "fbp looks like fb.<digit>.<13-digit ms>.<random>."),
    Rule("lead_id_format", W, "§3.1", "lead_id is a 15-16 digit number.", 2804036),
    # custom_data (§4, §12 step 7)
    Rule("purchase_value_required", E, "§4", "Purchase carries custom_data.value.", 2804009),
    Rule("purchase_currency_required", E, "§4", "Purchase carries custom_data.currency.", 2804010),
    Rule("value_invalid", E, "§4", "value is a finite number (or numeric string)."),
    Rule("value_negative", E, "§4", "value is not negative."),
    Rule("currency_invalid", E, "§4", "currency is an ISO 4217 code."),
    Rule("value_without_currency", W, "§4", "value comes with currency.", 2804023),
    Rule("content_id_missing", E, "§4", "Each contents item has an id.", 2804008),
    Rule("content_quantity_missing", W, "§4", "Each contents item has a quantity."),
    Rule(
        "delivery_category_invalid",
        E,
        "§4",
        "delivery_category is in_store, curbside or home_delivery.",
    ),
    Rule("content_type_invalid", W, "§4", "content_type is product or product_group."),
    Rule(
        "custom_data_type",
        E,
        "§4",
        "Standard custom_data fields have their documented type.",
        2804016,
    ),
    Rule("custom_data_pii", W, "§13", "custom_data carries no raw personal data."),
    # event names (§10)
    Rule("event_name_case", W, "§10", "Standard event names are spelled exactly."),
    Rule("custom_event_name_too_long", E, "§10", "Custom event names are at most 50 characters."),
    Rule("custom_event_name_sdk_length", W, "§10", "Custom event names are at most 40 characters."),
    Rule(
        "custom_event_name_chars",
        E,
        "§10",
        "Custom event names use letters, digits, _ - and space.",
    ),
    Rule("custom_event_name_style", W, "§10", "Custom event names follow the strict house style."),
)

RULES: Mapping[str, Rule] = MappingProxyType({rule.slug: rule for rule in _CATALOGUE})


def found(slug: str, path: str, message: str) -> Finding:
    """A finding for rule ``slug`` at ``path``; Meta's subcode, when known, ends the message."""
    rule = RULES[slug]
    if rule.subcode is not None:
        message = f"{message} (Meta answers 100/{rule.subcode}.)"
    return Finding(rule.severity, path, slug, message, rule.spec)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def child(path: str, key: str) -> str:
    """JSONPath of ``key`` below ``path``: ``$.user_data`` or ``$['odd key']``."""
    if _IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    quoted = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{quoted}']"


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),  # before int: a bool is an int in Python, not in JSON
    ((int, float), "a number"),
    (str, "a string"),
    ((list, tuple), "an array"),
    (Mapping, "an object"),
)


def kind(value: object) -> str:
    """The JSON type name of ``value``, for messages that never echo the value itself."""
    if value is None:
        return "null"
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return type(value).__name__
