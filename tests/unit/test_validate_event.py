"""validate_event: schema, action_source, time window, names, optional fields (spec §2, §7, §10)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest

from capigate.findings import Severity
from capigate.validate import STANDARD_EVENT_NAMES, validate_event
from tests.unit.test_validate_factory import (
    DAY_S,
    NOW_S,
    check,
    make_event,
    only,
    rules,
)

# ---- schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["event_name", "event_time", "user_data", "action_source"])
def test_missing_required_field_is_an_error_naming_2804019(key: str) -> None:
    """Each of the four required fields, when absent, is an error that cites 2804019."""
    result = check(make_event(**{key: None}))
    finding = only(result, "required_field_missing")
    assert finding.path == f"$.{key}"
    assert finding.severity is Severity.ERROR
    assert "2804019" in finding.message and key in finding.message
    assert not result.ok


def test_null_required_field_counts_as_missing() -> None:
    """A JSON null in a required field is reported like a missing one."""
    event = make_event()
    event["event_name"] = None
    assert "required_field_missing" in rules(check(event))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("event_name", ""),
        ("event_name", 7),
        ("event_time", "1763800000"),
        ("event_time", 1763800000.5),
        ("event_time", True),
        ("user_data", ["em"]),
        ("custom_data", "value=3"),
        ("opt_out", "yes"),
        ("event_id", 42),
        ("referrer_url", 5),
        ("attribution_data", []),
        ("original_event_data", "Purchase"),
    ],
)
def test_wrong_type_of_a_top_level_field_is_an_error(key: str, value: Any) -> None:
    """A documented field with the wrong JSON type is a field_type error at its path."""
    finding = only(check(make_event("other", **{key: value})), "field_type")
    assert finding.path == f"$.{key}"
    assert finding.severity is Severity.ERROR


@pytest.mark.parametrize(("key", "value"), [("opt_out", True), ("opt_out", False)])
def test_opt_out_booleans_pass(key: str, value: bool) -> None:
    """opt_out accepts true and false."""
    assert check(make_event(**{key: value})).findings == ()


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("advertiser_tracking_enabled", "app_data"),
        ("value", "custom_data"),
        ("client_user_agent", "user_data"),
        ("test_event_code", "request body"),
        ("favourite_colour", "Remove it"),
        ("odd key", "Remove it"),
    ],
)
def test_unknown_top_level_key_is_an_unexpected_key_error(key: str, hint: str) -> None:
    """An undocumented event key is rejected like Meta's "Unexpected key", with a hint."""
    finding = only(check(make_event(**{key: 1})), "unknown_event_key")
    assert finding.severity is Severity.ERROR
    assert hint in finding.message and "2804019" in finding.message
    assert finding.path == ("$['odd key']" if " " in key else f"$.{key}")


def test_quotes_in_an_unknown_key_are_escaped_in_its_path() -> None:
    """A key with a quote gets a bracketed, escaped JSONPath."""
    assert only(check(make_event(**{"it's": 1})), "unknown_event_key").path == "$['it\\'s']"


def test_every_documented_event_key_is_accepted() -> None:
    """All of spec §2's optional keys pass the unknown-key check."""
    event = make_event(
        "other",
        custom_data={"value": 1, "currency": "USD"},
        event_source_url="https://example.com/",
        opt_out=False,
        data_processing_options=[],
        referrer_url="https://google.com/",
        customer_segmentation="new_customer_to_business",
        original_event_data={"event_name": "Purchase", "event_time": NOW_S - DAY_S},
        attribution_data={"ad_id": "1"},
        advanced_measurement_table="t",
    )
    assert check(event).findings == ()


def test_non_object_event_is_an_error_at_the_root() -> None:
    """An event that is not a JSON object yields one error and an empty corrected event."""
    result = validate_event(["not", "an", "event"], now_s=NOW_S)  # type: ignore[arg-type]
    assert rules(result) == ["event_not_object"]
    assert result.findings[0].path == "$"
    assert result.event == {}


def test_any_mapping_is_accepted_and_copied() -> None:
    """A read-only mapping is validated; the result is a plain dict copy."""
    source = make_event()
    result = validate_event(MappingProxyType(source), now_s=NOW_S)
    assert result.ok
    assert result.event == source and result.event is not source


# ---- action_source ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["in_store", "Website", "web", "", 3])
def test_action_source_outside_the_enum_is_an_error(value: Any) -> None:
    """action_source must be one of Meta's nine lowercase values."""
    finding = only(check(make_event(action_source=value)), "action_source_invalid")
    assert "physical_store" in finding.message


def test_in_store_gets_a_physical_store_hint() -> None:
    """Seed 004's in_store is answered with the real value to use."""
    finding = only(check(make_event(action_source="in_store")), "action_source_invalid")
    assert "use physical_store" in finding.message


def test_website_needs_event_source_url() -> None:
    """A website event without event_source_url is an error."""
    finding = only(check(make_event("website", event_source_url=None)), "event_source_url_required")
    assert finding.severity is Severity.ERROR


@pytest.mark.parametrize("user_agent", [None, ""])
def test_website_needs_client_user_agent(user_agent: str | None) -> None:
    """A website event without a user agent is an error at $.user_data.client_user_agent."""
    event = make_event("website")
    event["user_data"]["client_user_agent"] = user_agent
    finding = only(check(event), "client_user_agent_required")
    assert finding.path == "$.user_data.client_user_agent"


@pytest.mark.parametrize("source", ["email", "chat", "other", "phone_call", "system_generated"])
def test_non_website_events_need_neither_url_nor_user_agent(source: str) -> None:
    """Only website events require event_source_url and client_user_agent."""
    assert check(make_event(source)).findings == ()


@pytest.mark.parametrize(
    "url", ["example.com/page", "ftp://example.com", "https://", "//example.com", 7]
)
def test_event_source_url_must_be_http_or_https(url: Any) -> None:
    """event_source_url must start with http:// or https:// and a host."""
    assert "event_source_url_invalid" in rules(check(make_event(event_source_url=url)))


@pytest.mark.parametrize("url", ["http://example.com", "HTTPS://example.com/a?b=c#d"])
def test_http_and_https_urls_pass(url: str) -> None:
    """Plain http and upper-case schemes are accepted."""
    assert check(make_event(event_source_url=url)).findings == ()


# ---- event_time ------------------------------------------------------------------------------


@pytest.mark.parametrize("age_s", [0, DAY_S, 7 * DAY_S])
def test_event_within_seven_days_passes(age_s: int) -> None:
    """Ages up to exactly 7 days are accepted."""
    assert check(make_event(event_time=NOW_S - age_s)).findings == ()


def test_event_older_than_seven_days_is_2804003() -> None:
    """One second past 7 days is an error citing 2804003 and the age."""
    finding = only(check(make_event(event_time=NOW_S - 7 * DAY_S - 1)), "event_time_too_old")
    assert finding.severity is Severity.ERROR
    assert "2804003" in finding.message and "7.0 days old" in finding.message


def test_physical_store_events_get_62_days() -> None:
    """physical_store events may be up to 62 days old, not older."""
    assert check(make_event("physical_store", event_time=NOW_S - 62 * DAY_S)).ok
    late = check(make_event("physical_store", event_time=NOW_S - 62 * DAY_S - 1))
    assert "62 days" in only(late, "event_time_too_old").message


def test_max_ages_are_configurable() -> None:
    """max_age_s and physical_store_max_age_s come from the options."""
    event = make_event(event_time=NOW_S - 2 * DAY_S)
    assert "event_time_too_old" in rules(check(event, max_age_s=DAY_S))
    store = make_event("physical_store", event_time=NOW_S - 2 * DAY_S)
    assert "event_time_too_old" in rules(check(store, physical_store_max_age_s=DAY_S))


def test_invalid_action_source_uses_the_seven_day_window() -> None:
    """With no valid action_source the default 7-day window applies."""
    event = make_event(action_source="shop", event_time=NOW_S - 8 * DAY_S)
    assert "event_time_too_old" in rules(check(event))


@pytest.mark.parametrize(("ahead_s", "bad"), [(60, False), (61, True), (3600, True)])
def test_future_event_time_beyond_skew_is_2804004(ahead_s: int, bad: bool) -> None:
    """An event_time more than 60 s ahead is an error citing 2804004."""
    result = check(make_event(event_time=NOW_S + ahead_s))
    assert ("event_time_in_future" in rules(result)) is bad
    if bad:
        assert "2804004" in only(result, "event_time_in_future").message


def test_future_skew_is_configurable() -> None:
    """future_skew_s widens or narrows the tolerance."""
    event = make_event(event_time=NOW_S + 300)
    assert check(event, future_skew_s=600).ok
    assert not check(make_event(event_time=NOW_S + 1), future_skew_s=0).ok


def test_milliseconds_are_converted_to_seconds_with_a_warning() -> None:
    """An event_time in ms becomes seconds in the corrected event, with a warning."""
    source = make_event(event_time=(NOW_S - 3600) * 1000 + 999)
    result = check(source)
    assert result.event["event_time"] == NOW_S - 3600
    assert source["event_time"] == (NOW_S - 3600) * 1000 + 999  # the input is untouched
    assert only(result, "event_time_milliseconds").severity is Severity.WARNING
    assert result.ok


def test_milliseconds_are_rechecked_after_conversion() -> None:
    """A converted ms timestamp that is too old is still rejected."""
    result = check(make_event(event_time=(NOW_S - 30 * DAY_S) * 1000))
    assert rules(result) == ["event_time_milliseconds", "event_time_too_old"]


def test_value_at_the_ms_threshold_is_treated_as_seconds() -> None:
    """10**11 itself is read as seconds (and so is far in the future)."""
    result = check(make_event(event_time=10**11))
    assert rules(result) == ["event_time_in_future"]


# ---- event names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STANDARD_EVENT_NAMES))
def test_standard_names_spelled_exactly_pass(name: str) -> None:
    """Every standard event name passes as it is spelled in Meta's reference."""
    custom_data = {"value": 1, "currency": "USD"} if name == "Purchase" else None
    assert check(make_event(event_name=name, custom_data=custom_data)).findings == ()


@pytest.mark.parametrize(
    ("name", "standard"),
    [
        ("purchase", "Purchase"),
        ("PAGEVIEW", "PageView"),
        (" Lead ", "Lead"),
        ("viewContent", "ViewContent"),
    ],
)
def test_wrongly_cased_standard_name_warns_it_becomes_custom(name: str, standard: str) -> None:
    """A standard name with other casing or spaces is a warning naming the right spelling."""
    finding = only(check(make_event(event_name=name)), "event_name_case")
    assert finding.severity is Severity.WARNING
    assert repr(standard) in finding.message and "custom event" in finding.message


@pytest.mark.parametrize(
    "name", ["7d_Return", "Start_Bot", "Drop_Off", "first entry", "plan-change", "_x", "A" * 40]
)
def test_custom_names_meeting_metas_rule_pass(name: str) -> None:
    """Letters, digits, '_', '-', spaces and a leading digit are all allowed."""
    assert check(make_event(event_name=name)).findings == ()


def test_custom_name_over_40_chars_warns_about_the_sdk() -> None:
    """41 to 50 characters pass Meta's Pixel rule but not the app SDK: a warning."""
    finding = only(check(make_event(event_name="A" * 41)), "custom_event_name_sdk_length")
    assert finding.severity is Severity.WARNING and "41" in finding.message


def test_custom_name_over_50_chars_is_an_error() -> None:
    """More than 50 characters breaks Meta's rule: an error, and no second length warning."""
    result = check(make_event(event_name="A" * 51))
    assert rules(result) == ["custom_event_name_too_long"]
    assert not result.ok


@pytest.mark.parametrize("name", ["-start", " start", "sign.up", "café", "a/b", "a\tb", "über"])
def test_custom_name_with_other_characters_is_an_error(name: str) -> None:
    """Characters outside Meta's set, or a leading space or hyphen, are rejected."""
    assert only(check(make_event(event_name=name)), "custom_event_name_chars").is_error


@pytest.mark.parametrize("name", ["qualified_lead", "demo_booked", "video_75"])
def test_strict_style_passes_house_style_names(name: str) -> None:
    """Lowercase snake names pass the optional strict lint."""
    assert check(make_event(event_name=name), custom_name_style="strict").findings == ()


@pytest.mark.parametrize("name", ["7d_Return", "Start_Bot", "fb_event", "_fb_x", "my-event"])
def test_strict_style_warns_on_other_names(name: str) -> None:
    """The strict lint warns on capitals, leading digits, fb_/_fb prefixes and hyphens."""
    result = check(make_event(event_name=name), custom_name_style="strict")
    assert only(result, "custom_event_name_style").severity is Severity.WARNING
    assert result.ok


def test_strict_style_is_off_by_default() -> None:
    """Meta's own rule is the default: 7d_Return gets no style warning."""
    assert check(make_event(event_name="7d_Return")).findings == ()


def test_strict_style_does_not_double_report_a_miscased_standard_name() -> None:
    """'purchase' under strict style gets the case warning only."""
    result = check(make_event(event_name="purchase"), custom_name_style="strict")
    assert rules(result) == ["event_name_case"]


# ---- event_id, segmentation, LDU, original_event_data -----------------------------------------


@pytest.mark.parametrize("event_id", [None, ""])
def test_missing_event_id_warns_that_dedup_is_impossible(event_id: str | None) -> None:
    """No (or an empty) event_id is a warning, not an error."""
    result = check(make_event(event_id=event_id) if event_id is None else make_event(event_id=""))
    finding = only(result, "event_id_missing")
    assert finding.severity is Severity.WARNING and "deduplicate" in finding.message
    assert result.ok


def test_overlong_event_id_warns() -> None:
    """An event_id longer than 256 characters is a warning; 256 passes."""
    assert check(make_event(event_id="e" * 256)).findings == ()
    assert (
        only(check(make_event(event_id="e" * 257)), "event_id_too_long").severity
        is Severity.WARNING
    )


@pytest.mark.parametrize("where", ["top", "custom_data"])
def test_customer_segmentation_is_accepted_in_both_places(where: str) -> None:
    """customer_segmentation may be top level or in custom_data, and must be in the enum."""
    for value, ok in (("customer_in_loyalty_program", True), ("vip", False), (["x"], False)):
        if where == "top":
            event = make_event(customer_segmentation=value)
        else:
            event = make_event(custom_data={"customer_segmentation": value})
        result = check(event)
        assert result.ok is ok
        if not ok:
            expected = (
                "$.customer_segmentation"
                if where == "top"
                else "$.custom_data.customer_segmentation"
            )
            assert only(result, "customer_segmentation_invalid").path == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"data_processing_options": []},
        {"data_processing_options": ["LDU"], "data_processing_options_country": 0,
         "data_processing_options_state": 0},
        {"data_processing_options": ["LDU"], "data_processing_options_country": 1,
         "data_processing_options_state": 1000},
    ],
)  # fmt: skip
def test_valid_data_processing_options_pass(fields: dict[str, Any]) -> None:
    """[] and LDU with a documented country and state are accepted."""
    assert check(make_event(**fields)).findings == ()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"data_processing_options": ["GDPR"]}, ["data_processing_options_invalid"]),
        ({"data_processing_options": "LDU"}, ["data_processing_options_invalid"]),
        (
            {"data_processing_options": ["LDU", "X"], "data_processing_options_country": 0,
             "data_processing_options_state": 0},
            ["data_processing_options_invalid"],
        ),
        ({"data_processing_options": ["LDU"]}, ["ldu_country_required"]),
        (
            {"data_processing_options": ["LDU"], "data_processing_options_country": 1},
            ["ldu_state_required"],
        ),
        (
            {"data_processing_options": ["LDU"], "data_processing_options_state": 1000},
            ["ldu_country_required"],
        ),
        (
            {"data_processing_options": ["LDU"], "data_processing_options_country": 2,
             "data_processing_options_state": 1000},
            ["ldu_location_invalid"],
        ),
        (
            {"data_processing_options": ["LDU"], "data_processing_options_country": True,
             "data_processing_options_state": "1000"},
            ["ldu_location_invalid", "ldu_location_invalid"],
        ),
        ({"data_processing_options_country": 1}, ["ldu_location_without_ldu"]),
        ({"data_processing_options": [], "data_processing_options_state": 0},
         ["ldu_location_without_ldu"]),
    ],
)  # fmt: skip
def test_data_processing_options_rules(fields: dict[str, Any], expected: list[str]) -> None:
    """Only "LDU" is valid; LDU needs a country, a country needs a state, values are fixed."""
    assert rules(check(make_event(**fields))) == expected


def test_ldu_location_without_ldu_points_at_the_state_when_only_it_is_sent() -> None:
    """The stray-location warning points at the field that was sent."""
    finding = only(check(make_event(data_processing_options_state=0)), "ldu_location_without_ldu")
    assert finding.path == "$.data_processing_options_state"
    assert finding.severity is Severity.WARNING


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ({"event_name": "Lead", "event_time": NOW_S, "order_id": "o1", "event_id": "e1"}, []),
        ({"event_time": "yesterday"}, ["field_type"]),
        ({"event_time": True}, ["field_type"]),
        ({"event_name": 5}, ["field_type"]),
        ({"order_id": None}, []),
        ({"value": 3}, ["original_event_data_unknown_key"]),
    ],
)
def test_original_event_data_fields(original: dict[str, Any], expected: list[str]) -> None:
    """original_event_data takes four typed keys; others are warned about."""
    result = check(make_event(original_event_data=original))
    assert rules(result) == expected
    for finding in result.findings:
        assert finding.path.startswith("$.original_event_data.")


def test_findings_carry_spec_sections_and_readable_messages() -> None:
    """Every finding of a badly broken event has a spec section and a sentence of text."""
    event = {"event_name": "purchase!", "event_time": NOW_S * 1000 + 10**13, "user_data": {},
             "action_source": "website", "custom_data": {"value": -1}, "foo": 1}  # fmt: skip
    result = check(event)
    assert len(result.findings) > 5
    for finding in result.findings:
        assert finding.spec.startswith("§")
        assert len(finding.message) > 20 and finding.message[0].isalpha()
