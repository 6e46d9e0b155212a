"""Optional top-level event fields (spec §2): event_id, URLs, opt_out, LDU, original_event_data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.custom_fields import check_customer_segmentation
from capigate.validate.rules import child, found, kind

EVENT_ID_MAX_CHARS = 256  # Meta documents no limit; longer ids are almost always a bug
HTTP_URL = re.compile(r"(?i)https?://[^\s/?#]+")

LDU = "LDU"
LDU_COUNTRIES = (0, 1)  # 0 = geolocate, 1 = USA
LDU_STATES = (0, 1000)  # 0 = geolocate, 1000 = California
_LDU_COUNTRY = "data_processing_options_country"
_LDU_STATE = "data_processing_options_state"

ORIGINAL_EVENT_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "event_name": str,
    "event_time": int,
    "order_id": str,
    "event_id": str,
}
_STRING_FIELDS = ("referrer_url", "advanced_measurement_table")


def check_optional_fields(event: Mapping[str, Any], out: list[Finding]) -> None:
    """Append findings for the optional top-level fields of ``event``."""
    _check_event_id(event.get("event_id"), out)
    url = event.get("event_source_url")
    if url is not None and not (isinstance(url, str) and HTTP_URL.match(url)):
        out.append(
            found(
                "event_source_url_invalid",
                "$.event_source_url",
                "event_source_url must be the full page URL, starting with http:// or https://.",
            )
        )
    for key in _STRING_FIELDS:
        _check_type(event, key, str, "a string", out)
    _check_type(event, "opt_out", bool, "true or false", out)
    _check_type(event, "attribution_data", Mapping, "an object", out)
    segment = event.get("customer_segmentation")
    if segment is not None:
        check_customer_segmentation(segment, "$.customer_segmentation", out)
    _check_ldu(event, out)
    original = event.get("original_event_data")
    if original is not None:
        _check_original_event_data(original, out)


def _check_event_id(event_id: object, out: list[Finding]) -> None:
    if event_id is None or event_id == "":
        out.append(
            found(
                "event_id_missing",
                "$.event_id",
                "event has no event_id: Meta cannot deduplicate it against the Pixel or a "
                "resend. Send the same event_id the browser or app used.",
            )
        )
    elif not isinstance(event_id, str):
        out.append(
            found("field_type", "$.event_id", f"event_id must be a string, not {kind(event_id)}.")
        )
    elif len(event_id) > EVENT_ID_MAX_CHARS:
        out.append(
            found(
                "event_id_too_long",
                "$.event_id",
                f"event_id has {len(event_id)} characters; keep it under {EVENT_ID_MAX_CHARS} "
                "(an order id, a UUID or a short template).",
            )
        )


def _check_ldu(event: Mapping[str, Any], out: list[Finding]) -> None:
    options = event.get("data_processing_options")
    country, state = event.get(_LDU_COUNTRY), event.get(_LDU_STATE)
    ldu = False
    if options is not None:
        if not isinstance(options, list) or any(item != LDU for item in options):
            out.append(
                found(
                    "data_processing_options_invalid",
                    "$.data_processing_options",
                    'data_processing_options must be [] or ["LDU"] (Limited Data Use).',
                )
            )
        ldu = isinstance(options, list) and LDU in options
    if not ldu:
        if country is not None or state is not None:
            out.append(
                found(
                    "ldu_location_without_ldu",
                    f"$.{_LDU_COUNTRY if country is not None else _LDU_STATE}",
                    "data_processing_options_country/state mean something only with "
                    'data_processing_options ["LDU"]; Meta ignores them here.',
                )
            )
        return
    if country is None:
        out.append(
            found(
                "ldu_country_required",
                f"$.{_LDU_COUNTRY}",
                "LDU needs data_processing_options_country: 1 (USA) or 0 (let Meta geolocate).",
            )
        )
    elif state is None:
        out.append(
            found(
                "ldu_state_required",
                f"$.{_LDU_STATE}",
                "With a country, LDU needs data_processing_options_state: 1000 (California) "
                "or 0 (let Meta geolocate).",
            )
        )
    _check_ldu_value(_LDU_COUNTRY, country, LDU_COUNTRIES, out)
    _check_ldu_value(_LDU_STATE, state, LDU_STATES, out)


def _check_ldu_value(key: str, value: object, allowed: tuple[int, int], out: list[Finding]) -> None:
    if value is None or (
        isinstance(value, int) and not isinstance(value, bool) and value in allowed
    ):
        return
    out.append(
        found("ldu_location_invalid", f"$.{key}", f"{key} must be {allowed[0]} or {allowed[1]}.")
    )


def _check_original_event_data(original: object, out: list[Finding]) -> None:
    path = "$.original_event_data"
    if not isinstance(original, Mapping):
        out.append(
            found(
                "field_type", path, f"original_event_data must be an object, not {kind(original)}."
            )
        )
        return
    for key, value in original.items():
        expected = ORIGINAL_EVENT_FIELDS.get(key)
        if expected is None:
            out.append(
                found(
                    "original_event_data_unknown_key",
                    child(path, key),
                    f"original_event_data.{key} is not one of event_name, event_time, order_id, "
                    "event_id; remove it.",
                )
            )
        elif value is not None and (isinstance(value, bool) or not isinstance(value, expected)):
            what = "an integer (Unix seconds)" if expected is int else "a string"
            out.append(
                found(
                    "field_type",
                    child(path, key),
                    f"original_event_data.{key} must be {what}, not {kind(value)}.",
                )
            )


def _check_type(
    event: Mapping[str, Any], key: str, expected: type, what: str, out: list[Finding]
) -> None:
    value = event.get(key)
    if value is not None and not isinstance(value, expected):
        out.append(found("field_type", f"$.{key}", f"{key} must be {what}, not {kind(value)}."))
