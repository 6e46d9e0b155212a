"""The pipeline's fast path (clean_wire) agrees with parse_wire + check_event, or steps aside."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.findings import Finding
from capigate.models import parse_wire
from capigate.normalize import normalize_user_data
from capigate.validate import ValidationOptions, clean
from capigate.validate.clean import clean_wire
from capigate.validate.event import check_event
from tests.unit.test_validate_factory import EXTINFO, NOW_S, make_event

SOURCES = ["website", "app", "chat", "business_messaging", "physical_store", "email", "other"]
OPTIONS = [
    ValidationOptions(),
    ValidationOptions(custom_name_style="strict", messaging_allowlist="strict"),
    ValidationOptions(require_baseline_match=False, future_skew_s=0),
]
RAW_USER_DATA = {
    "em": " John@Example.com ",
    "ph": "+998 90 123 45 67",
    "fn": "Valéry",
    "ct": "Tashkent",
    "external_id": "U-42",
    "client_ip_address": "84.54.70.5",
    "client_user_agent": "Mozilla/5.0 (iPhone)",
    "fbp": "fb.1.1596403881668.1116446470",
}
WEIRD = st.sampled_from(
    [None, "", " ", 0, 1, -1, 2, 1.5, float("nan"), float("inf"), True, False, [], {}, "x",
     "USD", "usd", "XXX", "product", "order-1", "Purchase", "purchase", "Start_Bot",
     "fb_start", "a" * 60, "https://x.io/p", "ftp://x", "whatsapp", "telegram", "i2", "17.0",
     NOW_S - 60, NOW_S * 1000, NOW_S + 3600, NOW_S - 30 * 86_400, int(NOW_S) - 60.5,
     [{"id": "a", "quantity": 1}], [{"id": 1, "quantity": 1}], [{"id": "a"}], ["a"],
     [{"id": "a", "quantity": 2, "item_price": 9.99, "title": "T"}], list(EXTINFO),
     ["a2", *EXTINFO[1:4], " ", *EXTINFO[5:]], EXTINFO[:15], [*EXTINFO[:9], 1179, *EXTINFO[10:]]]
)  # fmt: skip
EVENT_KEYS = st.sampled_from(
    ["event_name", "event_time", "event_id", "action_source", "event_source_url",
     "referrer_url", "messaging_channel", "custom_data", "app_data", "opt_out", "other"]
)  # fmt: skip
CUSTOM_KEYS = st.sampled_from(
    ["value", "currency", "contents", "content_type", "order_id", "num_items", "email", "plan"]
)
APP_KEYS = st.sampled_from(
    ["advertiser_tracking_enabled", "application_tracking_enabled", "extinfo", "vendor_id"]
)
USER_KEYS = st.sampled_from([*RAW_USER_DATA, "madid", "lead_id", "ctwa_clid", "page_id"])


def slow_path(event: dict[str, Any], user_data: dict[str, Any], options: ValidationOptions) -> Any:
    """The long way: parse (trusting normalized user_data), then every validator rule."""
    wire, findings = parse_wire({**event, "user_data": user_data}, normalized_user_data=True)
    out: list[Finding] = list(findings)
    if wire is not None:
        check_event(wire, NOW_S, options, out, normalized_user_data=True)
    return wire, out


def assert_agrees(event: dict[str, Any], options: ValidationOptions) -> bool:
    """If the fast path answers, its dict is the long way's, byte for byte, with no finding."""
    before = copy.deepcopy(event)
    user_data, _ = normalize_user_data(event["user_data"], default_region="UZ")
    fast = clean_wire(event, user_data, NOW_S, options)
    assert event == before  # the input is never changed
    wire, findings = slow_path(event, user_data, options)
    if fast is not None:
        assert findings == []
        assert orjson.dumps(fast) == orjson.dumps(wire)
    return fast is not None


@st.composite
def near_clean_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of some source, then a few keys of it set to odd or borderline values."""
    source = draw(st.sampled_from(SOURCES))
    event = copy.deepcopy(make_event(source, user_data=dict(RAW_USER_DATA)))
    if source in ("chat", "email", "physical_store") and draw(st.booleans()):
        event["event_name"] = "Purchase"
        event["custom_data"] = {"value": 9.99, "currency": "USD", "plan": "monthly"}
    # Sampled values are shared between examples: copy them before anything can change them.
    event.update(copy.deepcopy(draw(st.dictionaries(EVENT_KEYS, WEIRD, max_size=2))))
    for key, keys, size in (("custom_data", CUSTOM_KEYS, 3), ("app_data", APP_KEYS, 2)):
        if isinstance(event.get(key), dict):
            event[key].update(copy.deepcopy(draw(st.dictionaries(keys, WEIRD, max_size=size))))
    event["user_data"].update(copy.deepcopy(draw(st.dictionaries(USER_KEYS, WEIRD, max_size=2))))
    return event


@settings(max_examples=500, deadline=None)
@given(event=near_clean_events(), options=st.sampled_from(OPTIONS))
def test_the_fast_path_matches_the_long_way_or_steps_aside(
    event: dict[str, Any], options: ValidationOptions
) -> None:
    """Whatever the event, clean_wire returns the long way's wire or None, never a third thing."""
    assert_agrees(event, options)


def test_common_events_of_every_source_take_the_fast_path() -> None:
    """Clean events with custom data, contents and app data are answered by the fast path."""
    purchase = {
        "value": 29.97,
        "currency": "usd",
        "contents": [{"id": "sku-1", "quantity": 3, "item_price": 9.99}],
        "content_type": "product",
        "order_id": "order-1",
        "plan": "monthly",
    }
    for source in SOURCES:
        name = "LeadSubmitted" if source == "business_messaging" else "Purchase"
        event = make_event(source, user_data=dict(RAW_USER_DATA), event_name=name)
        event["custom_data"] = copy.deepcopy(purchase)
        if source == "business_messaging":
            event["user_data"] |= {"whatsapp_business_account_id": "1040", "ctwa_clid": "ARAk"}
        if source == "app":
            event["user_data"]["madid"] = "38400000-8cf0-11bd-b23e-10b96e40000d"
        assert assert_agrees(event, OPTIONS[0]), source


def test_custom_data_comes_out_in_wire_order_with_properties_last() -> None:
    """Standard keys in CustomData's order, custom properties after them in their own order."""
    event = make_event("chat", event_name="Purchase", user_data=dict(RAW_USER_DATA))
    event["custom_data"] = {"plan": "m", "order_id": "o", "currency": "USD", "value": 1, "z": []}
    user_data, _ = normalize_user_data(event["user_data"])
    wire = clean_wire(event, user_data, NOW_S, OPTIONS[0])
    assert wire is not None
    assert list(wire["custom_data"]) == ["value", "currency", "order_id", "plan"]


def test_an_event_with_a_warning_takes_the_long_way() -> None:
    """The fast path answers only for events without any finding, warnings included."""
    event = make_event("chat", user_data=dict(RAW_USER_DATA), event_id=None)
    user_data, _ = normalize_user_data(event["user_data"])
    assert clean_wire(event, user_data, NOW_S, OPTIONS[0]) is None
    assert [f.rule for f in slow_path(event, user_data, OPTIONS[0])[1]] == ["event_id_missing"]


def _ev(source: str, **overrides: Any) -> dict[str, Any]:
    return make_event(source, user_data=dict(RAW_USER_DATA), **overrides)


def _purchase(source: str = "chat", **custom: Any) -> dict[str, Any]:
    event = make_event(source, event_name="Purchase", user_data=dict(RAW_USER_DATA))
    event["custom_data"] = {"value": 9.99, "currency": "USD", **custom}
    return event


def _app(**app_data: Any) -> dict[str, Any]:
    event = _ev("app")
    event["app_data"] |= app_data
    return event


@pytest.mark.parametrize(
    ("event", "fast"),
    [
        (_ev("chat", event_name=""), False),
        (_ev("chat", event_source_url=5), False),
        (_ev("chat", referrer_url=""), True),
        (_ev("chat", referrer_url=7), False),
        (_ev("chat", referrer_url="https://a.b/"), True),
        (_ev("chat", messaging_channel=1), False),
        (_ev("chat", custom_data={"value": None}), True),
        (_ev("chat", custom_data={"value": 1}), False),
        (_ev("chat", custom_data={"num_items": 1}), False),
        (_ev("chat", custom_data={"email": "a"}), False),
        (_ev("chat", custom_data=[1]), False),
        (_ev("chat", event_name="Purchase"), False),
        (_purchase(value=None), False),
        (_purchase(currency=None), False),
        (_purchase(currency="usd", value=0), True),
        (_purchase(value=-1), False),
        (_purchase(value="9.99"), False),
        (_purchase(contents=[{"id": "a", "quantity": 1, "item_price": 1}]), True),
        (_purchase(contents=[{"id": "a", "quantity": 1, "item_price": "1"}]), False),
        (_purchase(contents=[{"id": "a", "quantity": 0}]), False),
        (_purchase(contents=[{"id": "a", "quantity": 1, "brand": "b"}]), False),
        (_purchase(contents=[["a"]]), False),
        (_purchase(contents=[]), False),
        (_purchase(content_type="product_group", order_id="o-1"), True),
        (_purchase(order_id=""), False),
        (_purchase(plan={}), True),
        (_app(application_tracking_enabled=True), True),
        (_app(application_tracking_enabled=2), False),
        (_app(advertiser_tracking_enabled=None), False),
        (_app(extinfo=[*EXTINFO[:4], " ", *EXTINFO[5:]]), False),
        (_app(extinfo=["x2", *EXTINFO[1:]]), False),
        (_app(extinfo=EXTINFO[:15]), False),
        (_app(vendor_id="v"), False),
        (_ev("chat", app_data={"extinfo": EXTINFO}), False),
        (_ev("app", app_data=None), False),
        (make_event("website", user_data={"em": "a@b.co"}), False),
        (_ev("website", event_source_url=None), False),
        (make_event("chat", user_data={**RAW_USER_DATA, "client_user_agent": "A" * 64}), False),
        (make_event("chat", user_data={**RAW_USER_DATA, "client_ip_address": "10.0.0.1"}), False),
        (make_event("chat", user_data={"ct": "Tashkent", "ge": "m"}), False),
        (make_event("app", user_data={**RAW_USER_DATA, "madid": "m-1"}), True),
        (make_event("chat", user_data={**RAW_USER_DATA, "madid": "m-1"}), False),
        (_ev("chat", event_time=int(NOW_S) * 1000), False),
        (_ev("physical_store", event_time=NOW_S - 9 * 86_400), True),
    ],
)  # fmt: skip
def test_each_rule_near_the_edge_agrees(event: dict[str, Any], fast: bool) -> None:
    """Borderline values either take the fast path with the long way's result or step aside."""
    assert assert_agrees(copy.deepcopy(event), OPTIONS[0]) is fast


def test_custom_data_plans_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The remembered custom_data key orders start afresh at their limit."""
    monkeypatch.setattr(clean, "MAX_CACHED_PLANS", 1)
    monkeypatch.setattr(clean, "_custom_plans", {})
    for custom in ({"a": 1}, {"b": 1}):
        assert_agrees(_ev("chat", custom_data=custom), OPTIONS[0])
    assert len(clean._custom_plans) == 1


def test_long_or_many_property_names_are_not_remembered() -> None:
    """Sender-chosen names are kept out of the plan cache when long or numerous."""
    clean._custom_plans.clear()
    for custom in ({"p" * 100: 1}, {f"k{i}": 1 for i in range(40)}):
        assert assert_agrees(_ev("chat", custom_data=custom), OPTIONS[0])
    assert clean._custom_plans == {}
