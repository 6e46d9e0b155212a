"""The one-pass mapping of the usual event gives exactly what the long way gives.

``to_meta_event`` first tries ``_usual`` (a plan key, plain JSON values, no finding) and
falls back to ``_long_way`` for everything else; these tests compare both on random items
built from the fields the plan and the mapping look at.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.plan import Plan, SourceInfo, default_plan, to_meta_event
from capigate.plan.mapping import _long_way, _usual
from tests.unit import mapping_kit as kit

_VALUE = st.one_of(
    kit.SCALAR, st.lists(kit.SCALAR, max_size=2), st.dictionaries(kit.TEXT, kit.SCALAR, max_size=1)
)


def _section(keys: list[str]) -> st.SearchStrategy[Any]:
    section = st.dictionaries(st.sampled_from(keys), st.one_of(kit.TEXT, _VALUE), max_size=6)
    return st.one_of(section, section, section, st.none(), st.just([]))


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
        "event_id": st.one_of(kit.CLEAN_TEXT, kit.CLEAN_TEXT, st.integers(0, 9), st.none()),
        "event_time": st.integers(1_700_000_000, 1_800_000_000),
        "user": _clean(_CLEAN_USER, st.one_of(kit.CLEAN_TEXT, st.sampled_from([7, 2**53, True]))),
        "properties": _clean(_CLEAN_PROPERTIES, st.one_of(kit.CLEAN_TEXT, kit.SCALAR)),
        "context": _clean(_CLEAN_CONTEXT, st.one_of(kit.CLEAN_TEXT, kit.SCALAR)),
    },
)
_NOISY_ITEMS = st.fixed_dictionaries(
    {},
    optional={
        "event": st.one_of(st.sampled_from(kit.EVENTS), kit.SCALAR),
        "event_id": st.one_of(kit.TEXT, kit.SCALAR),
        "event_time": st.one_of(st.integers(1_700_000_000, 1_800_000_000), kit.SCALAR),
        "action_source": st.one_of(st.sampled_from(["website", "chat", "app"]), kit.SCALAR),
        "user": _section(kit.USER_KEYS),
        "properties": _section(kit.PROPERTY_KEYS),
        "context": _section(kit.CONTEXT_KEYS),
        "extra": kit.SCALAR,
    },
)


@settings(max_examples=1000, deadline=None)
@given(item=_NOISY_ITEMS, plan=st.sampled_from(kit.PLANS), source=st.sampled_from(kit.SOURCES))
def test_any_item_maps_like_the_long_way(
    item: dict[str, Any], plan: Plan, source: SourceInfo
) -> None:
    """Whatever the item, the result (event, key order, findings, test code) is the long way's."""
    _same(item, plan, source)


@settings(max_examples=1500, deadline=None)
@given(
    item=_CLEAN_ITEMS,
    plan=st.sampled_from(kit.PLANS[:2]),
    source=st.sampled_from((kit.WEBSITE, kit.WEBSITE, kit.BOT, kit.SERVER)),
)
def test_plain_items_map_like_the_long_way(
    item: dict[str, Any], plan: Plan, source: SourceInfo
) -> None:
    """Items of plan keys with plain values (most take the usual way) map as the long way maps."""
    _same(item, plan, source)


def _same(item: dict[str, Any], plan: Plan, source: SourceInfo) -> None:
    expected = _long_way(item, plan, source=source, now_s=kit.NOW_S)
    mapped = to_meta_event(item, plan, source=source, now_s=kit.NOW_S)
    assert mapped == expected
    assert kit.ordered(mapped.event) == kit.ordered(expected.event)


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
    usual = _usual(item, default_plan(), kit.WEBSITE, kit.NOW_S)
    assert usual is not None
    assert usual == _long_way(item, default_plan(), source=kit.WEBSITE, now_s=kit.NOW_S)


def test_a_bot_event_with_numeric_ids_takes_the_usual_way() -> None:
    """Telegram ids arrive as JSON numbers; they become one external_id list in the usual way."""
    item = {
        "event": "checkout",
        "user": {"telegram_id": 123456789, "user_id": "u-42"},
        "properties": {"order_id": "o-7", "value": 49000, "currency": "UZS"},
    }
    usual = _usual(item, kit.PLANS[1], kit.BOT, kit.NOW_S)
    assert usual is not None
    assert usual.event["user_data"]["external_id"] == ["123456789", "u-42"]
    assert usual.event["event_id"] == "order_o-7_u-42"
    assert usual == _long_way(item, kit.PLANS[1], source=kit.BOT, now_s=kit.NOW_S)


def test_an_item_with_a_finding_takes_the_long_way_and_keeps_it_unchanged() -> None:
    """PII in properties is moved with a warning: only the long way reports that."""
    properties = {"phone_number": "+998901234567", "button_id": "b"}
    item = {"event": "cta_click", "event_id": "e-1", "properties": properties}
    assert _usual(item, default_plan(), kit.WEBSITE, kit.NOW_S) is None
    mapped = to_meta_event(item, default_plan(), source=kit.WEBSITE, now_s=kit.NOW_S)
    assert [f.rule for f in mapped.findings] == ["pii_moved"]
    assert item["properties"] == {"phone_number": "+998901234567", "button_id": "b"}
