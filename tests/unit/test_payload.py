"""The payload builder: exactly the JSON Meta receives, in a stable order, with no empty keys."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.errors import ValidationError
from capigate.models import (
    ActionSource,
    AppData,
    Content,
    CustomData,
    ExtInfo,
    ServerEvent,
    UserData,
    parse_wire,
)
from capigate.payload import MAX_EVENTS_PER_REQUEST, dumps, event_to_wire, request_body
from tests.unit.wire_samples import H, full_event, small_event

EVENT_ORDER = [
    "event_name", "event_time", "event_id", "action_source", "event_source_url", "referrer_url",
    "messaging_channel", "user_data", "custom_data", "app_data", "original_event_data",
    "attribution_data", "opt_out", "data_processing_options", "data_processing_options_country",
    "data_processing_options_state", "customer_segmentation", "advanced_measurement_table",
]  # fmt: skip


def _keys_deep(value: Any) -> list[list[str]]:
    """Key lists of every object inside ``value``, outermost first."""
    if isinstance(value, dict):
        return [list(value), *(k for v in value.values() for k in _keys_deep(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys_deep(v)]
    return []


def _empties(value: Any, path: str = "$") -> list[str]:
    """Paths of every null or empty value inside ``value``."""
    if value is None or (isinstance(value, str | list | dict) and not value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _empties(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _empties(v, f"{path}[{i}]")]
    return []


def test_round_trip_of_a_full_event_is_exact() -> None:
    """from_dict then event_to_wire gives back the normalized input, key order included."""
    data = full_event()
    wire = event_to_wire(ServerEvent.from_dict(data))
    assert wire == data
    assert _keys_deep(wire) == _keys_deep(data)


def test_event_keys_follow_the_documented_order() -> None:
    """Top-level keys come in ServerEvent's field order, whatever the input order."""
    data = full_event()
    shuffled = dict(reversed(list(data.items())))
    assert list(event_to_wire(ServerEvent.from_dict(shuffled))) == EVENT_ORDER
    assert [f.name for f in dataclasses.fields(ServerEvent)] == EVENT_ORDER


def test_nested_keys_follow_meta_table_order_whatever_the_input_order() -> None:
    """user_data, custom_data and app_data are re-ordered too; custom keys stay last."""
    data = full_event()
    for part in ("user_data", "custom_data", "app_data", "attribution_data"):
        data[part] = dict(reversed(list(data[part].items())))
    wire = event_to_wire(ServerEvent.from_dict(data))
    expected = full_event()
    assert list(wire["user_data"]) == list(expected["user_data"])
    assert list(wire["app_data"]) == list(expected["app_data"])
    assert list(wire["attribution_data"]) == list(expected["attribution_data"])
    # Custom properties keep their given order (here reversed), after every standard key.
    assert list(wire["custom_data"])[-2:] == ["utm_source", "plan"]


def test_no_null_or_empty_values_reach_the_wire() -> None:
    """None, '', [] and {} are dropped at every level, custom properties included."""
    event = ServerEvent(
        event_name="Lead",
        event_time=1,
        event_id="",
        action_source=ActionSource.WEBSITE,
        event_source_url="",
        user_data=UserData(em=(H, ""), ph=("",), fn="", client_user_agent="UA"),
        custom_data=CustomData(
            currency="",
            content_ids=(),
            contents=(Content(), Content(id="a", title="")),
            custom_properties={"empty": "", "none": None, "list": [], "obj": {}, "zero": 0},
        ),
        app_data=AppData(url_schemes=()),
    )
    wire = event_to_wire(event)
    assert _empties(wire) == []
    assert wire["user_data"] == {"em": [H], "client_user_agent": "UA"}
    assert wire["custom_data"] == {"contents": [{"id": "a"}], "zero": 0}
    assert "app_data" not in wire


def test_empty_data_processing_options_is_kept() -> None:
    """An empty data_processing_options is an explicit 'no LDU' and is sent (spec §2)."""
    event = ServerEvent.from_dict(small_event(data_processing_options=[]))
    assert event_to_wire(event)["data_processing_options"] == []
    wire, _ = parse_wire(small_event(data_processing_options=[]))
    assert wire is not None and wire["data_processing_options"] == []


def test_required_keys_are_written_even_when_empty() -> None:
    """An empty event_name or user_data stays visible so the validator can name it."""
    event = ServerEvent(
        event_name="", event_time=0, action_source=ActionSource.OTHER, user_data=UserData()
    )
    assert event_to_wire(event) == {
        "event_name": "",
        "event_time": 0,
        "action_source": "other",
        "user_data": {},
    }


def test_false_and_zero_are_values_not_empties() -> None:
    """opt_out=false, a zero tracking flag and value=0 are sent."""
    event = ServerEvent.from_dict(
        small_event(
            opt_out=False,
            custom_data={"value": 0, "currency": "USD"},
            app_data={"advertiser_tracking_enabled": False},
        )
    )
    wire = event_to_wire(event)
    assert wire["opt_out"] is False
    assert wire["custom_data"] == {"value": 0, "currency": "USD"}
    assert wire["app_data"] == {"advertiser_tracking_enabled": 0}


def test_app_flags_are_written_as_zero_or_one() -> None:
    """advertiser_tracking_enabled true/false becomes 1/0 as Meta documents it."""
    event = ServerEvent.from_dict(
        small_event(app_data={"advertiser_tracking_enabled": True, "consider_views": False})
    )
    app = event_to_wire(event)["app_data"]
    assert (
        app["advertiser_tracking_enabled"] == 1 and type(app["advertiser_tracking_enabled"]) is int
    )
    assert app["consider_views"] == 0 and type(app["consider_views"]) is int


def test_extinfo_is_always_sixteen_strings() -> None:
    """A mostly empty ExtInfo is still written as 16 strings."""
    event = ServerEvent(
        event_name="AppLaunch",
        event_time=1,
        action_source=ActionSource.APP,
        user_data=UserData(madid="m"),
        app_data=AppData(advertiser_tracking_enabled=True, extinfo=ExtInfo(version="i2")),
    )
    extinfo = event_to_wire(event)["app_data"]["extinfo"]
    assert len(extinfo) == 16 and all(isinstance(slot, str) for slot in extinfo)
    assert extinfo[0] == "i2" and extinfo[1:] == [""] * 15


def test_custom_properties_follow_the_standard_keys() -> None:
    """Custom keys are merged into custom_data after every standard key."""
    event = ServerEvent(
        event_name="Subscribe",
        event_time=1,
        action_source=ActionSource.CHAT,
        user_data=UserData(external_id=H),
        custom_data=CustomData(
            custom_properties={"plan": "monthly", "billing_cycle_day": 5},
            value=9.99,
            currency="UZS",
            order_id="t-1",
        ),
    )
    assert list(event_to_wire(event)["custom_data"].items()) == [
        ("value", 9.99),
        ("currency", "UZS"),
        ("order_id", "t-1"),
        ("plan", "monthly"),
        ("billing_cycle_day", 5),
    ]


def test_request_body_puts_options_after_data_and_drops_unset_ones() -> None:
    """Only the request parameters that are set appear; the access token never does."""
    events = [small_event()]
    body = request_body(events, test_event_code="TEST123", partner_agent="capigate")
    assert body == {"data": events, "test_event_code": "TEST123", "partner_agent": "capigate"}
    assert list(body) == ["data", "test_event_code", "partner_agent"]
    full = request_body(
        events,
        test_event_code="T",
        partner_agent="p",
        namespace_id="n",
        upload_id="u",
        upload_tag="t",
        upload_source="s",
    )
    assert list(full) == [
        "data", "test_event_code", "partner_agent", "namespace_id", "upload_id", "upload_tag",
        "upload_source",
    ]  # fmt: skip
    assert "access_token" not in full


def test_request_body_accepts_exactly_the_maximum() -> None:
    """1,000 events is a valid request."""
    events = [small_event()] * MAX_EVENTS_PER_REQUEST
    assert len(request_body(events)["data"]) == 1000


@pytest.mark.parametrize("count", [0, MAX_EVENTS_PER_REQUEST + 1])
def test_request_body_refuses_empty_or_oversized_requests(count: int) -> None:
    """No events or more than 1,000 raises ValidationError naming $.data."""
    with pytest.raises(ValidationError) as caught:
        request_body([small_event()] * count)
    assert [(f.path, f.rule) for f in caught.value.findings] == [("$.data", "request_size")]
    assert "1 to 1000 events" in str(caught.value)


def test_dumps_is_compact_utf8_json() -> None:
    """dumps gives bytes without spaces and keeps non-ASCII text as UTF-8."""
    raw = dumps({"custom_data": {"city": "Toshkent", "name": "Ўзбек"}, "n": 1})
    assert raw == '{"custom_data":{"city":"Toshkent","name":"Ўзбек"},"n":1}'.encode()
    assert orjson.loads(raw) == {"custom_data": {"city": "Toshkent", "name": "Ўзбек"}, "n": 1}


_text = st.text(max_size=8)
_ids = st.one_of(st.text(max_size=8), st.integers(min_value=0, max_value=10**12))
_user_value = st.one_of(_text, st.lists(_text, max_size=3))
_custom_key = st.text(min_size=1, max_size=6).filter(lambda k: k not in CustomData.__slots__)
_events = st.fixed_dictionaries(
    {
        "event_name": _text,
        "event_time": st.integers(min_value=0, max_value=2**40),
        "action_source": st.sampled_from([a.value for a in ActionSource]),
        "user_data": st.dictionaries(
            st.sampled_from(["em", "ph", "fn", "external_id"]), _user_value, max_size=4
        )
        | st.fixed_dictionaries({}, optional={"fbp": _text, "lead_id": _ids}),
    },
    optional={
        "event_id": _ids,
        "event_source_url": _text,
        "opt_out": st.booleans(),
        "data_processing_options": st.lists(_text, max_size=2),
        "custom_data": st.fixed_dictionaries(
            {},
            optional={
                "value": st.floats(allow_nan=False, allow_infinity=False),
                "currency": _text,
                "content_ids": st.lists(_ids, max_size=3),
                "contents": st.lists(
                    st.fixed_dictionaries({}, optional={"id": _ids, "quantity": st.integers()}),
                    max_size=2,
                ),
            },
        ).flatmap(
            lambda d: st.dictionaries(_custom_key, st.one_of(_text, st.integers()), max_size=3).map(
                lambda extra: {**d, **extra}
            )
        ),
        "app_data": st.fixed_dictionaries(
            {},
            optional={
                "advertiser_tracking_enabled": st.booleans(),
                "extinfo": st.lists(_text, min_size=16, max_size=16),
            },
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(_events)
def test_fast_path_equals_model_path(data: dict[str, Any]) -> None:
    """parse_wire gives exactly event_to_wire(from_dict(...)), key order included."""
    wire, findings = parse_wire(data)
    assert not any(f.is_error for f in findings)
    assert wire is not None
    model_wire = event_to_wire(ServerEvent.from_dict(data))
    assert wire == model_wire
    assert _keys_deep(wire) == _keys_deep(model_wire)


@settings(max_examples=200, deadline=None)
@given(_events)
def test_canonical_form_is_a_fixed_point(data: dict[str, Any]) -> None:
    """Writing a written event again changes nothing; nothing empty survives but the kept keys
    and extinfo's empty slots."""
    wire = event_to_wire(ServerEvent.from_dict(data))
    assert event_to_wire(ServerEvent.from_dict(wire)) == wire
    kept = {"$.event_name", "$.user_data", "$.data_processing_options"}
    assert all(p in kept or p.startswith("$.app_data.extinfo[") for p in _empties(wire))
