"""The one-pass mapping of the usual event gives exactly what the long way gives.

``to_meta_event`` first tries ``_usual`` (a plan key, plain JSON values, no finding) and
falls back to ``_long_way`` for everything else; these tests compare both on random items
built from the fields the plan and the mapping look at.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.plan import Plan, SourceInfo, default_plan, load_plan, to_meta_event
from capigate.plan.mapping import _long_way, _usual

NOW_S = 1_763_800_000.0
SOURCES = (
    SourceInfo("landing", "website", frozenset({"website"})),
    SourceInfo("bot", "bot"),
    SourceInfo("miniapp", "mini_app"),
    SourceInfo("billing", "server"),
    SourceInfo("lifecycle", "lifecycle"),
)
PLAN_TEXT = """\
version: 1
defaults: {currency: USD, undeclared_properties: %s}
events:
  checkout:
    event_name: Purchase
    action_source: website
    action_source_by_source: {bot: chat}
    sources: [website, server, bot]
    value_required: true
    required: [order_id, value]
    optional: [coupon]
    custom_data:
      fields: [order_id, value, currency, coupon]
      constants: {status: paid, tip: 0}
    event_id: order_{order_id}_{user_id}
  signup:
    event_name: CompleteRegistration
    action_source: website
    sources: [website, bot]
    required: [email]
    event_id: signup_{session_id}_{ts}
  cta_click:
    event_name: Lead
    action_source: website
    sources: [website]
    custom_data: [button_id, utm_source]
    event_id: cta_{session_id}
"""
PLANS = (
    default_plan(),
    *(load_plan(PLAN_TEXT % policy) for policy in ("keep", "warn", "drop")),
)

_TEXT = st.sampled_from(["", " ", "a", " b ", "ü", "fb", "+998901234567", "x@y.uz", "0"])
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.sampled_from([0, 2**53, -(2**53), 2**53 - 1, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
)
_VALUE = st.one_of(
    _SCALAR, st.lists(_SCALAR, max_size=2), st.dictionaries(_TEXT, _SCALAR, max_size=1)
)
_USER_KEYS = [
    "email", "phone", "first_name", "ip", "user_agent", "fbp", "fbc", "em", "ph",
    "client_ip_address", "external_id", "telegram_id", "user_id", "fbclid", "nickname",
]  # fmt: skip
_PROPERTY_KEYS = [
    "order_id", "value", "currency", "coupon", "button_id", "utm_source", "utm_campaign", "email",
    "phone_number", "user_name", "address", "status", "session_id", "tip",
]  # fmt: skip
_CONTEXT_KEYS = [
    "session_id", "page_url", "referrer", "test_event_code", "order_id", "currency", "coupon",
    "init_data", "platform",
]  # fmt: skip
_EVENTS = [
    "cta_click", "landing_view", "start_bot", "subscribe", "checkout", "signup", "Purchase", "",
]  # fmt: skip


def _section(keys: list[str]) -> st.SearchStrategy[Any]:
    section = st.dictionaries(st.sampled_from(keys), st.one_of(_TEXT, _VALUE), max_size=6)
    return st.one_of(section, section, section, st.none(), st.just([]))


_CLEAN_TEXT = st.sampled_from(["a", " b ", "fb", "o-1", "+998901234567", "x@y.uz", "", "0", " "])
_CLEAN_USER = [
    "email",
    "phone",
    "ip",
    "user_agent",
    "fbp",
    "telegram_id",
    "user_id",
    "fbclid",
    "em",
]
_CLEAN_PROPERTIES = ["order_id", "value", "currency", "coupon", "button_id", "utm_source", "tip"]
_CLEAN_CONTEXT = ["session_id", "page_url", "referrer", "test_event_code", "order_id", "currency"]


def _clean(keys: list[str], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), values, max_size=len(keys))


_CLEAN_ITEMS = st.fixed_dictionaries(
    {"event": st.sampled_from(["cta_click", "cta_click", "landing_view", "checkout", "signup"])},
    optional={
        "event_id": st.one_of(_CLEAN_TEXT, _CLEAN_TEXT, st.integers(0, 9), st.none()),
        "event_time": st.integers(1_700_000_000, 1_800_000_000),
        "user": _clean(_CLEAN_USER, st.one_of(_CLEAN_TEXT, st.sampled_from([7, 2**53, True]))),
        "properties": _clean(_CLEAN_PROPERTIES, st.one_of(_CLEAN_TEXT, _SCALAR)),
        "context": _clean(_CLEAN_CONTEXT, st.one_of(_CLEAN_TEXT, _SCALAR)),
    },
)
_NOISY_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        "event": st.one_of(st.sampled_from(_EVENTS), _SCALAR),
        "event_id": st.one_of(_TEXT, _SCALAR),
        "event_time": st.one_of(st.integers(1_700_000_000, 1_800_000_000), _SCALAR),
        "action_source": st.one_of(st.sampled_from(["website", "chat", "app"]), _SCALAR),
        "user": _section(_USER_KEYS),
        "properties": _section(_PROPERTY_KEYS),
        "context": _section(_CONTEXT_KEYS),
        "extra": _SCALAR,
    },
)


@settings(max_examples=1000, deadline=None)
@given(item=_NOISY_ITEMS, plan=st.sampled_from(PLANS), source=st.sampled_from(SOURCES))
def test_any_item_maps_like_the_long_way(
    item: dict[str, Any], plan: Plan, source: SourceInfo
) -> None:
    """Whatever the item, the result (event, key order, findings, test code) is the long way's."""
    _same(item, plan, source)


@settings(max_examples=1500, deadline=None)
@given(
    item=_CLEAN_ITEMS,
    plan=st.sampled_from(PLANS[:2]),
    source=st.sampled_from((SOURCES[0], SOURCES[0], SOURCES[1], SOURCES[3])),
)
def test_plain_items_map_like_the_long_way(
    item: dict[str, Any], plan: Plan, source: SourceInfo
) -> None:
    """Items of plan keys with plain values (most take the usual way) map as the long way maps."""
    _same(item, plan, source)


def _same(item: dict[str, Any], plan: Plan, source: SourceInfo) -> None:
    expected = _long_way(item, plan, source=source, now_s=NOW_S)
    mapped = to_meta_event(item, plan, source=source, now_s=NOW_S)
    assert mapped == expected
    assert _order(mapped.event) == _order(expected.event)


def _order(value: object) -> object:
    """Dict key order made visible to ``==`` (it reaches the stored payload's JSON)."""
    if isinstance(value, dict):
        return [(key, _order(v)) for key, v in value.items()]
    if isinstance(value, list):
        return [_order(v) for v in value]
    return value


def test_a_landing_page_event_takes_the_usual_way() -> None:
    """The benchmark's event (PII, cookies, UTM properties, a page URL) needs no second pass."""
    item = {
        "event": "cta_click",
        "event_id": "e-1",
        "event_time": 1_763_799_000,
        "user": {"email": "a@b.uz", "phone": "+998901234567", "ip": "93.184.216.34"},
        "properties": {"button_id": "open_tg", "utm_source": "fb"},
        "context": {"session_id": "s-1", "page_url": "https://example.uz/lp"},
    }
    usual = _usual(item, default_plan(), SOURCES[0], NOW_S)
    assert usual is not None
    assert usual == _long_way(item, default_plan(), source=SOURCES[0], now_s=NOW_S)


def test_a_bot_event_with_numeric_ids_takes_the_usual_way() -> None:
    """Telegram ids arrive as JSON numbers; they become one external_id list in the usual way."""
    item = {
        "event": "checkout",
        "user": {"telegram_id": 123456789, "user_id": "u-42"},
        "properties": {"order_id": "o-7", "value": 49000, "currency": "UZS"},
    }
    usual = _usual(item, PLANS[1], SOURCES[1], NOW_S)
    assert usual is not None
    assert usual.event["user_data"]["external_id"] == ["123456789", "u-42"]
    assert usual.event["event_id"] == "order_o-7_u-42"
    assert usual == _long_way(item, PLANS[1], source=SOURCES[1], now_s=NOW_S)


def test_an_item_with_a_finding_takes_the_long_way_and_keeps_it_unchanged() -> None:
    """PII in properties is moved with a warning: only the long way reports that."""
    properties = {"phone_number": "+998901234567", "button_id": "b"}
    item = {"event": "cta_click", "event_id": "e-1", "properties": properties}
    assert _usual(item, default_plan(), SOURCES[0], NOW_S) is None
    mapped = to_meta_event(item, default_plan(), source=SOURCES[0], now_s=NOW_S)
    assert [f.rule for f in mapped.findings] == ["pii_moved"]
    assert item["properties"] == {"phone_number": "+998901234567", "button_id": "b"}
