"""The event model: parsing Meta's wire shape, typed values, and every finding with its path."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from capigate.errors import ValidationError
from capigate.findings import Finding
from capigate.models import (
    EXTINFO_SLOTS,
    ActionSource,
    AppData,
    Content,
    CustomData,
    ExtInfo,
    ServerEvent,
    UserData,
    checks,
    parse,
    parse_event,
    parse_wire,
)
from tests.unit.wire_samples import H, full_event, small_event


def _errors(data: Any) -> list[Finding]:
    with pytest.raises(ValidationError) as caught:
        ServerEvent.from_dict(data)
    return caught.value.findings


def _paths_and_rules(data: Any) -> set[tuple[str, str]]:
    return {(f.path, f.rule) for f in _errors(data)}


def test_from_dict_types_every_part_of_a_full_event() -> None:
    """Each nested object becomes its dataclass, with Meta's values typed."""
    event = ServerEvent.from_dict(full_event())
    assert event.action_source is ActionSource.APP
    assert event.user_data.ph == (H, "b" * 64)
    assert event.user_data.fb_login_id == 1234567890
    assert event.custom_data is not None
    assert event.custom_data.contents == (
        Content(
            id="sku-1",
            quantity=2,
            item_price=71.26,
            delivery_category="home_delivery",
            title="Lamp",
            description="A lamp",
            brand="Acme",
            category="Home",
        ),
    )
    assert event.custom_data.custom_properties == {"plan": "monthly", "utm_source": "fb"}
    assert event.app_data is not None
    assert event.app_data.advertiser_tracking_enabled is True
    assert event.app_data.application_tracking_enabled is False
    assert event.app_data.extinfo is not None
    assert event.app_data.extinfo.os_version == "17.0"
    assert event.attribution_data is not None
    assert event.attribution_data.attribution_setting is not None
    assert event.attribution_data.attribution_setting.reattribution_window_hours == 48
    assert event.original_event_data is not None
    assert event.original_event_data.event_id == "sub_0"
    assert event.data_processing_options == ("LDU",)


def test_model_covers_every_field_of_spec_section_2() -> None:
    """ServerEvent has exactly the 18 server-event parameters of spec §2."""
    spec_fields = {
        "event_name", "event_time", "user_data", "custom_data", "event_source_url", "opt_out",
        "event_id", "action_source", "data_processing_options", "data_processing_options_country",
        "data_processing_options_state", "referrer_url", "customer_segmentation", "app_data",
        "original_event_data", "attribution_data", "messaging_channel",
        "advanced_measurement_table",
    }  # fmt: skip
    assert {f.name for f in dataclasses.fields(ServerEvent)} == spec_fields


def test_action_source_has_the_nine_values_meta_accepts() -> None:
    """The enum is exactly Meta's list (spec §2)."""
    assert {a.value for a in ActionSource} == {
        "email", "website", "app", "phone_call", "chat", "physical_store", "system_generated",
        "business_messaging", "other",
    }  # fmt: skip


def test_integer_ids_become_strings_and_numeric_value_a_number() -> None:
    """Clients send ids as numbers and value as a string; the model keeps Meta's types."""
    data = small_event(
        event_id=81,
        custom_data={"value": "142.52", "order_id": 7, "content_ids": [1, "b"], "status": True},
    )
    event = ServerEvent.from_dict(data)
    assert event.event_id == "81"
    assert event.custom_data == CustomData(
        value=142.52, order_id="7", content_ids=("1", "b"), status=True
    )


def test_null_means_absent() -> None:
    """A null field is treated as if it were not sent."""
    event = ServerEvent.from_dict(small_event(event_id=None, custom_data=None, opt_out=None))
    assert event.event_id is None and event.custom_data is None and event.opt_out is None


def test_integral_float_time_is_accepted_and_fraction_truncated_with_warning() -> None:
    """event_time 1.7e9 as a float is fine; a fraction is dropped with a warning."""
    assert (
        ServerEvent.from_dict(small_event(event_time=1_763_799_000.0)).event_time == 1_763_799_000
    )
    event, findings = parse_event(small_event(event_time=1_763_799_000.7))
    assert event is not None and event.event_time == 1_763_799_000
    assert [(f.path, f.rule, f.is_error) for f in findings] == [
        ("$.event_time", "event_time_fraction", False)
    ]


@pytest.mark.parametrize(
    ("overrides", "path", "rule"),
    [
        ({"event_name": 5}, "$.event_name", "type"),
        ({"event_time": "1763799000"}, "$.event_time", "type"),
        ({"event_time": True}, "$.event_time", "type"),
        ({"action_source": "Website"}, "$.action_source", "action_source_enum"),
        ({"action_source": 3}, "$.action_source", "action_source_enum"),
        ({"user_data": []}, "$.user_data", "type"),
        ({"user_data": {"em": 5}}, "$.user_data.em", "type"),
        ({"user_data": {"em": [H, 5]}}, "$.user_data.em", "type"),
        (
            {"user_data": {"client_ip_address": ["1.2.3.4"]}},
            "$.user_data.client_ip_address",
            "type",
        ),
        ({"user_data": {"lead_id": True}}, "$.user_data.lead_id", "type"),
        ({"user_data": {"email": "x"}}, "$.user_data.email", "unknown_key"),
        ({"extra": 1}, "$.extra", "unknown_key"),
        ({"opt_out": "yes"}, "$.opt_out", "type"),
        ({"opt_out": 2}, "$.opt_out", "type"),
        ({"data_processing_options": "LDU"}, "$.data_processing_options", "type"),
        ({"data_processing_options": [1]}, "$.data_processing_options[0]", "type"),
        ({"data_processing_options_country": 1.5}, "$.data_processing_options_country", "type"),
        ({"custom_data": {"value": "abc"}}, "$.custom_data.value", "type"),
        ({"custom_data": {"value": "nan"}}, "$.custom_data.value", "type"),
        ({"custom_data": {"value": float("inf")}}, "$.custom_data.value", "type"),
        ({"custom_data": {"value": False}}, "$.custom_data.value", "type"),
        ({"custom_data": {"value": [1]}}, "$.custom_data.value", "type"),
        ({"custom_data": {"status": 1}}, "$.custom_data.status", "type"),
        ({"custom_data": {"contents": {}}}, "$.custom_data.contents", "type"),
        ({"custom_data": {"contents": [{"id": []}]}}, "$.custom_data.contents[0].id", "type"),
        ({"custom_data": {"contents": [5]}}, "$.custom_data.contents[0]", "type"),
        (
            {"custom_data": {"contents": [{"sku": "x"}]}},
            "$.custom_data.contents[0].sku",
            "unknown_key",
        ),
        ({"app_data": {"extinfo": "i2"}}, "$.app_data.extinfo", "type"),
        ({"app_data": {"extinfo": ["i2"]}}, "$.app_data.extinfo", "extinfo_length"),
        ({"app_data": {"extinfo": [{}] + [""] * 15}}, "$.app_data.extinfo[0]", "type"),
        ({"app_data": {"extinfo": [True] + [""] * 15}}, "$.app_data.extinfo[0]", "type"),
        ({"app_data": {"url_schemes": "x"}}, "$.app_data.url_schemes", "type"),
        ({"original_event_data": {"event_time": "x"}}, "$.original_event_data.event_time", "type"),
        (
            {"attribution_data": {"attribution_setting": {"inactivity_window_hours": "1"}}},
            "$.attribution_data.attribution_setting.inactivity_window_hours",
            "type",
        ),
    ],
)
def test_wrong_types_are_reported_at_their_json_path(
    overrides: dict[str, Any], path: str, rule: str
) -> None:
    """Each wrongly typed value raises ValidationError with a finding naming its JSON path."""
    assert (path, rule) in _paths_and_rules(small_event(**overrides))


def test_every_problem_is_reported_at_once() -> None:
    """One call lists all problems, and the message names the first one."""
    data = small_event(event_name=None, event_time="x", user_data={"em": 1, "zz": 2})
    with pytest.raises(ValidationError) as caught:
        ServerEvent.from_dict(data)
    found = {(f.path, f.rule) for f in caught.value.findings}
    assert found == {
        ("$.event_name", "required"),
        ("$.event_time", "type"),
        ("$.user_data.em", "type"),
        ("$.user_data.zz", "unknown_key"),
    }
    assert "not a valid Meta server event" in str(caught.value)
    assert "(and 3 more)" in str(caught.value)
    assert all(f.is_error and f.spec for f in caught.value.findings)


def test_missing_required_fields_are_named() -> None:
    """event_name, event_time, action_source and user_data are required (spec §2)."""
    assert _paths_and_rules({}) == {
        ("$.event_name", "required"),
        ("$.event_time", "required"),
        ("$.action_source", "required"),
        ("$.user_data", "required"),
    }


def test_a_present_but_wrong_required_field_is_not_also_called_missing() -> None:
    """A badly typed event_time yields one type finding, not a 'required' one as well."""
    assert _paths_and_rules(small_event(event_time="soon")) == {("$.event_time", "type")}


def test_non_object_event_is_one_error() -> None:
    """A list or a string is not an event."""
    findings = _errors(["not", "an", "event"])
    assert [(f.path, f.rule, f.message) for f in findings] == [
        ("$", "type", "the event must be an object")
    ]


def test_single_error_message_has_no_more_suffix() -> None:
    """A lone problem is named without a count."""
    with pytest.raises(ValidationError) as caught:
        ServerEvent.from_dict(small_event(extra=1))
    assert "more)" not in str(caught.value)


def test_custom_property_may_not_shadow_a_standard_key() -> None:
    """A custom property named like a standard custom_data key is refused."""
    with pytest.raises(ValidationError) as caught:
        CustomData(value=1.0, custom_properties={"currency": "usd", "value": 2, "plan": "x"})
    assert [(f.path, f.rule) for f in caught.value.findings] == [
        ("$.custom_data.currency", "custom_key_collision"),
        ("$.custom_data.value", "custom_key_collision"),
    ]


def test_standard_keys_in_wire_custom_data_go_to_their_fields() -> None:
    """Parsing never produces a clash: a standard key always fills the typed field."""
    event = ServerEvent.from_dict(small_event(custom_data={"currency": "usd", "plan": "m"}))
    assert event.custom_data == CustomData(currency="usd", custom_properties={"plan": "m"})


def test_extinfo_has_sixteen_named_slots_in_meta_order() -> None:
    """to_list() gives 16 strings in spec §5.1 order; from_list() is its inverse."""
    info = ExtInfo(version="a2", package_name="com.example", os_version="14", device_timezone="UTC")
    slots = info.to_list()
    assert len(slots) == EXTINFO_SLOTS == 16
    assert slots[0] == "a2" and slots[1] == "com.example" and slots[4] == "14"
    assert slots[15] == "UTC" and slots[2] == ""
    assert ExtInfo.from_list(slots) == info


def test_extinfo_from_list_needs_sixteen_entries() -> None:
    """A short array is refused rather than padded silently."""
    with pytest.raises(ValueError, match="16 entries"):
        ExtInfo.from_list(["i2"])


def test_extinfo_numbers_and_nulls_become_strings() -> None:
    """Screen sizes given as numbers become strings; null becomes an empty slot."""
    raw = ["i2", None, "1", "1", "17", "m", "en", "UTC", "c", 1170, 2532, 3.5, 6, 1, 2, ""]
    event = ServerEvent.from_dict(small_event(app_data={"extinfo": raw}))
    assert event.app_data is not None and event.app_data.extinfo is not None
    slots = event.app_data.extinfo.to_list()
    assert slots[1] == "" and slots[9] == "1170" and slots[11] == "3.5"


def test_models_are_frozen() -> None:
    """Values cannot change after construction."""
    event = ServerEvent.from_dict(small_event())
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event_name = "Purchase"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.user_data.em = "x"  # type: ignore[misc]


def test_models_can_be_built_directly() -> None:
    """Code that builds events by hand needs only keyword arguments."""
    event = ServerEvent(
        event_name="AppLaunch",
        event_time=1,
        action_source=ActionSource.APP,
        user_data=UserData(external_id=H),
        app_data=AppData(advertiser_tracking_enabled=False, extinfo=ExtInfo(version="a2")),
    )
    assert event.app_data is not None and event.app_data.extinfo is not None
    assert event.app_data.extinfo.version == "a2"


def test_parse_wire_reports_like_from_dict() -> None:
    """The fast path finds the same errors as the model path and returns no payload."""
    data = small_event(user_data={"em": 1}, opt_out="no")
    wire, findings = parse_wire(data)
    assert wire is None
    assert {(f.path, f.rule) for f in findings} == _paths_and_rules(data)


def test_parse_wire_warns_about_a_fractional_time() -> None:
    """The fast path truncates a fractional event_time with the same warning."""
    wire, findings = parse_wire(small_event(event_time=1_763_799_000.5))
    assert wire is not None and wire["event_time"] == 1_763_799_000
    assert [f.rule for f in findings] == ["event_time_fraction"]


def test_normalized_user_data_is_reordered_not_rechecked() -> None:
    """Trusted user_data keeps its values and only gets the canonical key order."""
    data = small_event(user_data={"ge": H, "db": H, "em": H})
    wire, findings = parse_wire(data, normalized_user_data=True)
    assert wire is not None and not findings
    assert list(wire["user_data"]) == ["em", "db", "ge"]
    ordered = small_event(user_data={"em": H, "db": H})
    wire, _ = parse_wire(ordered, normalized_user_data=True)
    assert wire is not None and wire["user_data"] is ordered["user_data"]


def test_normalized_user_data_with_an_unknown_key_is_fully_checked() -> None:
    """An unexpected key in trusted user_data is still reported."""
    wire, findings = parse_wire(
        small_event(user_data={"em": H, "mail": "x"}), normalized_user_data=True
    )
    assert wire is None
    assert [(f.path, f.rule) for f in findings] == [("$.user_data.mail", "unknown_key")]


def test_normalized_user_data_that_is_not_an_object_is_reported() -> None:
    """The trusted path still refuses a non-object user_data."""
    wire, findings = parse_wire(small_event(user_data="x"), normalized_user_data=True)
    assert wire is None and [(f.path, f.rule) for f in findings] == [("$.user_data", "type")]


def test_null_values_are_skipped_by_the_fast_path_too() -> None:
    """parse_wire drops null fields like the model path does."""
    wire, _ = parse_wire(small_event(event_id=None, custom_data={"value": None, "plan": None}))
    assert wire is not None and "event_id" not in wire and "custom_data" not in wire


def test_integral_floats_are_accepted_where_integers_are_expected() -> None:
    """quantity 2.0 is the integer 2; 2.5 is refused."""
    event = ServerEvent.from_dict(
        small_event(custom_data={"contents": [{"id": "a", "quantity": 2.0}]})
    )
    assert event.custom_data is not None and event.custom_data.contents is not None
    assert event.custom_data.contents[0].quantity == 2
    bad = small_event(custom_data={"contents": [{"id": "a", "quantity": 2.5}]})
    assert ("$.custom_data.contents[0].quantity", "type") in _paths_and_rules(bad)


def test_user_value_check_accepts_a_string_or_a_list_of_strings() -> None:
    """The match-key check returns strings as they are and lists as tuples."""
    assert checks.as_user_value("x") == "x"
    assert checks.as_user_value(["x", "y"]) == ("x", "y")
    with pytest.raises(checks.BadValue):
        checks.as_user_value(["x", 1])


def test_trusted_user_data_writes_like_the_full_check() -> None:
    """The trusted variant of the event table writes a model exactly like the normal one."""
    event = ServerEvent.from_dict(full_event())
    assert parse._NORMALIZED_EVENT.write(event) == parse.write_event(event)


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (checks.as_str, "x", "x"),
        (checks.as_id, "7", "7"),
        (checks.as_id, 7, "7"),
        (checks.as_str_or_int, "7", "7"),
        (checks.as_str_or_int, 7, 7),
        (checks.as_int, 3, 3),
        (checks.as_int, 3.0, 3),
        (checks.as_seconds, 1_763_799_000, 1_763_799_000),
        (checks.as_seconds, 1_763_799_000.9, 1_763_799_000),
        (checks.as_number, 5, 5),
        (checks.as_number, 5.5, 5.5),
        (checks.as_number, "5.5", 5.5),
        (checks.as_flag, True, True),
        (checks.as_flag, 0, False),
        (checks.as_str_or_flag, "done", "done"),
        (checks.as_str_or_flag, False, False),
    ],
)
def test_checks_accept_meta_types(check: Any, value: Any, expected: Any) -> None:
    """Each check returns the value as the model types it (the walks skip some calls)."""
    result = check(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (checks.as_str, 1),
        (checks.as_id, True),
        (checks.as_id, 1.5),
        (checks.as_str_or_int, True),
        (checks.as_int, 1.5),
        (checks.as_int, "1"),
        (checks.as_seconds, float("nan")),
        (checks.as_seconds, None),
        (checks.as_number, float("nan")),
        (checks.as_number, "1e999"),
        (checks.as_number, None),
        (checks.as_flag, 2),
        (checks.as_flag, "true"),
        (checks.as_str_or_flag, 1),
        (checks.as_action_source, "Website"),
    ],
)
def test_checks_refuse_other_types(check: Any, value: Any) -> None:
    """A value of another type raises BadValue, which the parser turns into a finding."""
    with pytest.raises(checks.BadValue):
        check(value)
