"""Mapping ingest items through the plan into Meta events (runs on every ingested event)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.findings import Finding
from capigate.plan import Mapped, Plan, SourceInfo, default_plan, load_plan, to_meta_event
from capigate.plan.userdata import USER_KEYS
from capigate.validate.custom_data import PII_KEYS

NOW_S = 1_763_800_000.0
T = 1_763_799_000  # an event time a little before now
TG = 123456789
WEB = SourceInfo("landing", "website", frozenset({"website"}))
BOT = SourceInfo("bot", "bot")
MINI = SourceInfo("miniapp", "mini_app")
BILLING = SourceInfo("billing", "server")
LIFECYCLE = SourceInfo("lifecycle", "lifecycle")
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A; wv) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0 Mobile Safari/537.36 Telegram-Android/11.3.3 (Google Pixel 8; "
    "Android 14; SDK 34; HIGH)"
)
IOS_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
WEB_USER = {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11)", "fbp": "fb.1.1763799.42"}
UTM = {"utm_source": "fb", "utm_medium": "cpc", "utm_campaign": "launch"}
PAGE = {"page_url": "https://example.uz/?utm_source=fb", "session_id": "s-81f2"}
BOT_USER = {"telegram_id": TG, "user_id": "u-42"}
MINI_ANDROID = {"platform": "android", "session_id": "sess-9"}
TX = {"value": 49000, "currency": "UZS", "subscription_plan": "monthly"}


def _map(item: dict[str, Any], source: SourceInfo = BOT, plan: Plan | None = None) -> Mapped:
    return to_meta_event(item, plan or default_plan(), source=source, now_s=NOW_S)


def _rules(mapped: Mapped) -> dict[str, Finding]:
    return {f.rule: f for f in mapped.findings}


# key, source, item, expected event_id, expected action_source
ROWS: list[tuple[str, SourceInfo, dict[str, Any], str, str]] = [
    (
        "landing_view",
        WEB,
        {"user": WEB_USER, "properties": UTM, "context": PAGE},
        "viewcontent_s-81f2",
        "website",
    ),
    (
        "cta_click",
        WEB,
        {"user": WEB_USER, "properties": {"button_id": "open_tg", **UTM}, "context": PAGE},
        "cta_s-81f2",
        "website",
    ),
    (
        "start_bot",
        BOT,
        {
            "user": {"telegram_id": TG},
            "properties": {"language": "uz", "currency_pref": "UZS", **UTM},
            "context": {"start_param": "c-7Hq2"},
        },
        f"startbot_{TG}",
        "chat",
    ),
    (
        "first_entry",
        MINI,
        {
            "user": {**BOT_USER, "user_agent": ANDROID_UA},
            "properties": {"entry_mode": "voice", "amount": 25000, "category_assigned": "food"},
            "context": MINI_ANDROID,
        },
        f"firstentry_{TG}",
        "app",
    ),
    (
        "subscribe",
        BILLING,
        {
            "user": {"telegram_id": TG},
            "properties": {"transaction_id": "tx-1", "payment_method": "uzcard", **TX},
        },
        "sub_tx-1",
        "chat",
    ),
    (
        "cancel_subscription",
        BILLING,
        {"user": {"telegram_id": TG}, "properties": {"transaction_id": "tx-2", "days_active": 40}},
        "cancel_tx-2",
        "chat",
    ),
    (
        "reactivate_subscription",
        BILLING,
        {"user": {"telegram_id": TG}, "properties": {"transaction_id": "tx-3", **TX}},
        "reactivate_tx-3",
        "chat",
    ),
    (
        "plan_change",
        BILLING,
        {
            "user": {"telegram_id": TG},
            "properties": {
                "transaction_id": "tx-4",
                "old_plan": "monthly",
                "new_plan": "yearly",
                "value_diff": -10000,
                "currency": "UZS",
            },
        },
        "planchange_tx-4",
        "chat",
    ),
    (
        "drop_off",
        WEB,
        {
            "user": WEB_USER,
            "properties": {"step_at_exit": "cta", "session_duration": 42},
            "context": PAGE,
        },
        "dropoff_s-81f2",
        "website",
    ),
    (
        "onboarding_language",
        BOT,
        {"event_time": T, "user": BOT_USER, "properties": {"language_selected": "uz"}},
        f"onboard_lang_u-42_{T}",
        "chat",
    ),
    (
        "onboarding_name",
        BOT,
        {"event_time": T, "user": {**BOT_USER, "first_name": "Ali"}},
        f"onboard_name_u-42_{T}",
        "chat",
    ),
    (
        "onboarding_phone",
        BOT,
        {"event_time": T, "user": {**BOT_USER, "phone": "+998 90 123 45 67"}},
        f"onboard_phone_u-42_{T}",
        "chat",
    ),
    (
        "onboarding_currency",
        BOT,
        {"event_time": T, "user": BOT_USER, "properties": {"currency_selected": "USD"}},
        f"onboard_currency_u-42_{T}",
        "chat",
    ),
    (
        "onboarding_capital",
        BOT,
        {"event_time": T, "user": BOT_USER, "properties": {"start_capital_amount": 1_000_000}},
        f"onboard_capital_u-42_{T}",
        "chat",
    ),
    (
        "onboarding_complete",
        LIFECYCLE,
        {
            "user": {**BOT_USER, "phone": "998901234567"},
            "properties": {"language_selected": "uz", "currency_selected": "USD"},
        },
        f"onboarding_{TG}",
        "chat",
    ),
    (
        "app_open",
        MINI,
        {
            "event_time": T,
            "user": {**BOT_USER, "user_agent": IOS_UA},
            "properties": {"app_version": "2.3.0"},
            "context": {"platform": "ios", "session_id": "sess-9"},
        },
        f"session_u-42_{T}",
        "app",
    ),
    (
        "return_7d",
        LIFECYCLE,
        {"user": BOT_USER, "properties": {"days_since_start": 6, "entries_count": 11}},
        f"ret7_{TG}",
        "chat",
    ),
    *[
        (f"retention_{n}d", LIFECYCLE, {"user": BOT_USER}, f"retention{n}_u-42", "chat")
        for n in (14, 30, 60, 90, 180, 365)
    ],
]


def test_rows_cover_every_plan_key() -> None:
    """The table below exercises all 23 keys of the default plan."""
    assert [row[0] for row in ROWS] == list(default_plan().keys)


@pytest.mark.parametrize(("key", "source", "item", "event_id", "action_source"), ROWS)
def test_every_default_key_maps_a_realistic_item(
    key: str, source: SourceInfo, item: dict[str, Any], event_id: str, action_source: str
) -> None:
    """Each row yields the seed's event name, id and an action source Meta accepts."""
    mapped = _map({"event": key, **item}, source)
    rule = default_plan().events[key]
    assert mapped.ok, mapped.findings
    assert mapped.plan_key == key
    event = mapped.event
    assert event["event_name"] == rule.event_name
    assert event["event_id"] == event_id
    assert event["action_source"] == action_source
    assert ("app_data" in event) == (action_source == "app")
    assert event["event_time"] == item.get("event_time", int(NOW_S))
    assert event["user_data"]
    custom = event.get("custom_data", {})
    assert set(rule.custom_constants.items()) <= set(custom.items())
    assert not set(custom) & PII_KEYS
    warnings = {f.rule for f in mapped.findings}
    assert warnings <= {"app_data_fallback", "pii_moved"}
    assert ("app_data_fallback" in warnings) == (action_source == "chat")


def test_website_event_carries_url_match_keys_and_utms() -> None:
    """A landing-page view: page URL, referrer, raw IP/UA (never hashed) and UTMs."""
    context = {**PAGE, "referrer": "https://l.facebook.com/", "test_event_code": "TEST42"}
    mapped = _map(
        {"event": "landing_view", "user": WEB_USER, "properties": UTM, "context": context}, WEB
    )
    event = mapped.event
    assert event["event_source_url"] == PAGE["page_url"]
    assert event["referrer_url"] == "https://l.facebook.com/"
    assert event["user_data"] == {
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0 (X11)",
        "fbp": "fb.1.1763799.42",
    }
    assert event["custom_data"] == UTM
    assert mapped.test_event_code == "TEST42"
    assert not mapped.findings


def test_user_keys_map_to_meta_names_raw() -> None:
    """Every documented user key lands under Meta's name, unhashed (hashing comes later)."""
    user = {
        "email": "Ali@Example.uz",
        "phone": "+998901234567",
        "first_name": "Ali",
        "last_name": "Valiyev",
        "city": "Tashkent",
        "state": "Toshkent",
        "zip": "100000",
        "country": "UZ",
        "date_of_birth": "1990-02-16",
        "gender": "m",
        "ip": "2001:db8::1",
        "user_agent": "UA",
        "fbc": "fb.1.1763799000000.AbC",
        "madid": "38400000-8cf0-11bd-b23e-10b96e40000d",
        "anon_id": "install-1",
        "ctwa_clid": "ARA-clid",
        "page_id": "1001",
        "fbclid": "AbC",
    }
    mapped = _map({"event": "start_bot", "user": {"telegram_id": TG, **user}})
    assert mapped.event["user_data"] == {
        "external_id": str(TG),
        "em": "Ali@Example.uz",
        "ph": "+998901234567",
        "fn": "Ali",
        "ln": "Valiyev",
        "ct": "Tashkent",
        "st": "Toshkent",
        "zp": "100000",
        "country": "UZ",
        "db": "1990-02-16",
        "ge": "m",
        "client_ip_address": "2001:db8::1",
        "client_user_agent": "UA",
        "fbc": "fb.1.1763799000000.AbC",
        "madid": "38400000-8cf0-11bd-b23e-10b96e40000d",
        "anon_id": "install-1",
        "ctwa_clid": "ARA-clid",
        "page_id": "1001",
    }
    assert "unknown_user_key" not in _rules(mapped)  # fbclid is enrichment's, silently


def test_meta_key_names_are_accepted_in_user_and_merge_as_lists() -> None:
    """`em` and `email` both count; two different emails become a list."""
    user = {"telegram_id": TG, "em": "a@x.uz", "email": ["b@x.uz", "a@x.uz"], "ph": 998901234567}
    user_data = _map({"event": "start_bot", "user": user}).event["user_data"]
    assert user_data["em"] == ["a@x.uz", "b@x.uz"]
    assert user_data["ph"] == "998901234567"


def test_external_id_precedence_external_then_telegram_then_user_id() -> None:
    """external_id collects explicit ids, the Telegram id and the user id, without repeats."""
    user = {"user_id": "u-42", "telegram_id": TG, "external_id": ["crm-1", str(TG)]}
    user_data = _map({"event": "start_bot", "user": user}).event["user_data"]
    assert user_data["external_id"] == ["crm-1", str(TG), "u-42"]
    only_tg = _map({"event": "start_bot", "user": {"telegram_id": TG}}).event["user_data"]
    assert only_tg["external_id"] == str(TG)


def test_unknown_and_malformed_user_values_are_warnings() -> None:
    """Unknown keys are dropped with a warning; a dict value is refused; one-value keys take one."""
    user = {"telegram_id": TG, "username": "ali", "city": {"a": 1}, "fbp": ["fb.1.1.1", "fb.1.1.2"]}
    mapped = _map({"event": "start_bot", "user": user})
    rules = _rules(mapped)
    assert rules["unknown_user_key"].path == "$.user.username"
    assert rules["user_value_type"].path == "$.user.city"
    assert rules["user_value_list"].path == "$.user.fbp"
    assert mapped.event["user_data"] == {"external_id": str(TG), "fbp": "fb.1.1.1"}
    assert mapped.ok


def test_empty_user_values_are_skipped() -> None:
    """Blank strings and nulls do not become match keys; float ids read as integers."""
    user = {"telegram_id": 123.0, "email": "  ", "phone": None}
    user_data = _map({"event": "start_bot", "user": user}).event["user_data"]
    assert user_data == {"external_id": "123"}
    user_data = _map({"event": "start_bot", "user": {"telegram_id": TG, "zip": 100.5}}).event[
        "user_data"
    ]
    assert user_data["zp"] == "100.5"


def test_phone_number_property_moves_to_user_data_with_a_warning() -> None:
    """Seed conflict: raw phone_number never goes to custom_data; it is sent hashed as ph."""
    item = {
        "event": "onboarding_phone",
        "user": BOT_USER,
        "properties": {"phone_number": "+998 90 1234567"},
    }
    mapped = _map(item)
    assert mapped.ok
    assert mapped.event["user_data"]["ph"] == "+998 90 1234567"
    assert mapped.event["custom_data"] == {"status": "phone"}
    finding = _rules(mapped)["pii_moved"]
    assert finding.path == "$.properties.phone_number" and not finding.is_error
    assert "user.phone" in finding.message


def test_user_name_property_splits_into_first_and_last_name() -> None:
    """user_name 'Ali Valiyev' is sent as fn=Ali and ln=Valiyev; one word is fn only."""
    item = {
        "event": "onboarding_name",
        "user": BOT_USER,
        "properties": {"user_name": "Ali Valiyev"},
    }
    user_data = _map(item).event["user_data"]
    assert (user_data["fn"], user_data["ln"]) == ("Ali", "Valiyev")
    item["properties"] = {"user_name": "Ali"}
    assert "ln" not in _map(item).event["user_data"]


def test_pii_in_properties_never_overrides_the_user() -> None:
    """When user.phone exists, a phone_number property is removed but not used."""
    item = {
        "event": "onboarding_complete",
        "user": {**BOT_USER, "phone": "+998901111111"},
        "properties": {"phone_number": "+998902222222", "email": "a@b.uz", "username": "ali"},
    }
    mapped = _map(item)
    assert mapped.event["user_data"]["ph"] == "+998901111111"
    assert mapped.event["user_data"]["em"] == "a@b.uz"
    custom = mapped.event["custom_data"]
    assert not {"phone_number", "email", "username"} & set(custom)
    assert _rules(mapped)["pii_dropped"].path == "$.properties.username"


def test_blank_pii_property_is_just_removed() -> None:
    """An empty phone_number is dropped without a warning and does not satisfy required."""
    item = {"event": "onboarding_phone", "user": BOT_USER, "properties": {"phone_number": ""}}
    mapped = _map(item)
    assert "pii_moved" not in _rules(mapped)
    assert _rules(mapped)["property_required"].path == "$.properties.phone_number"


def test_mini_app_on_android_fills_app_data_from_platform_and_user_agent() -> None:
    """A Telegram mini app stays action_source=app: a2, OS version, device, locale."""
    item = {
        "event": "first_entry",
        "user": {**BOT_USER, "user_agent": ANDROID_UA},
        "context": {**MINI_ANDROID, "locale": "uz_UZ"},
    }
    event = _map(item, MINI).event
    assert event["action_source"] == "app"
    extinfo = event["app_data"]["extinfo"]
    assert len(extinfo) == 16
    assert (extinfo[0], extinfo[4], extinfo[5], extinfo[6]) == (
        "a2",
        "14",
        "Google Pixel 8",
        "uz_UZ",
    )
    assert event["app_data"]["advertiser_tracking_enabled"] == 0


def test_ios_user_agent_alone_gives_i2_and_the_dotted_os_version() -> None:
    """Without context.platform, the user agent still tells iOS 17.4.1."""
    item = {"event": "first_entry", "user": {**BOT_USER, "user_agent": IOS_UA}}
    event = _map(item, MINI).event
    assert event["app_data"]["extinfo"][0] == "i2"
    assert event["app_data"]["extinfo"][4] == "17.4.1"


def test_android_user_agent_alone_gives_a2() -> None:
    """Without context.platform, an Android user agent still describes the device."""
    item = {"event": "first_entry", "user": {**BOT_USER, "user_agent": ANDROID_UA}}
    assert _map(item, MINI).event["app_data"]["extinfo"][:5] == ["a2", "", "", "", "14"]


def test_two_aliases_of_a_one_value_key_keep_the_first() -> None:
    """`ip` and `client_ip_address` both given: the first one is sent."""
    user = {"telegram_id": TG, "ip": "203.0.113.7", "client_ip_address": "198.51.100.1"}
    user_data = _map({"event": "start_bot", "user": user}).event["user_data"]
    assert user_data["client_ip_address"] == "203.0.113.7"


def test_native_app_context_fills_every_extinfo_slot_it_names() -> None:
    """context.app uses ExtInfo's slot names (and short aliases) plus tracking flags."""
    app = {
        "platform": "Android",
        "os_version": "13",
        "package": "uz.example.app",
        "app_version": "2.3.0",
        "long_version": "2.3.0 (230)",
        "device": "SM-A546E",
        "screen_width": 1080,
        "device_timezone": "Asia/Tashkent",
        "advertiser_tracking_enabled": True,
        "application_tracking_enabled": 0,
    }
    item = {"event": "app_open", "user": BOT_USER, "context": {"app": app, "session_id": "s"}}
    app_data = _map(item, MINI).event["app_data"]
    extinfo = app_data["extinfo"]
    assert extinfo[:6] == ["a2", "uz.example.app", "2.3.0", "2.3.0 (230)", "13", "SM-A546E"]
    assert (extinfo[9], extinfo[15]) == ("1080", "Asia/Tashkent")
    assert app_data["advertiser_tracking_enabled"] == 1
    assert app_data["application_tracking_enabled"] == 0


def test_a_ready_extinfo_list_is_used_as_it_is() -> None:
    """context.app.extinfo (16 values, a2/i2 and OS version) passes through as strings."""
    extinfo = ["i2", "uz.app", "1.0", "1.0", "17.4", "iPhone15,2", *[""] * 9, 8]
    item = {"event": "app_open", "user": BOT_USER, "context": {"app": {"extinfo": extinfo}}}
    event = _map(item, MINI).event
    assert event["app_data"]["extinfo"] == [*extinfo[:15], "8"]


@pytest.mark.parametrize(
    ("context", "user_agent", "why"),
    [
        ({}, None, "no context.platform"),
        ({"platform": "tdesktop"}, None, "'tdesktop' is not android or ios"),
        ({"platform": "android"}, "Mozilla/5.0 (X11; Linux x86_64)", "no OS version"),
        ({"app": {"extinfo": ["a2", "x"]}}, None, "extinfo must be a list of 16"),
        ({"app": {"extinfo": ["w1", *[""] * 15]}}, None, "a2/i2 at [0]"),
    ],
)
def test_app_event_without_device_context_falls_back_to_chat(
    context: dict[str, Any], user_agent: str | None, why: str
) -> None:
    """Seed conflict: never an app event Meta would reject; the warning says why."""
    user: dict[str, Any] = {**BOT_USER, "user_agent": user_agent}
    mapped = _map({"event": "first_entry", "user": user, "context": context}, MINI)
    assert mapped.ok
    assert mapped.event["action_source"] == "chat"
    assert "app_data" not in mapped.event
    finding = _rules(mapped)["app_data_fallback"]
    assert finding.path == "$.context.app" and why in finding.message


PLAN_TEXT = """\
version: 1
defaults: {currency: USD, undeclared_properties: %s}
allow_meta_names: %s
events:
  install:
    event_name: Install_App
    action_source: app
    fallback_action_source: null
    sources: [mobile_app]
    optional: [campaign]
    custom_data:
      fields: [campaign]
      constants: {status: fresh}
    event_id: install_{device_id}_{ts}
  checkout:
    event_name: Purchase
    action_source: website
    sources: [website, server]
    value_required: true
    required: [order_id, value, currency]
    custom_data: [order_id, value, currency]
    event_id: order_{order_id}
"""


def _plan(policy: str = "keep", allow_meta_names: bool = False) -> Plan:
    return load_plan(PLAN_TEXT % (policy, str(allow_meta_names).lower()))


APP = SourceInfo("ios", "mobile_app")


def test_app_event_without_fallback_is_an_error() -> None:
    """With fallback_action_source: null, an app event without app_data is refused."""
    mapped = _map(
        {"event": "install", "user": {"madid": "m"}, "properties": {"device_id": "d"}}, APP, _plan()
    )
    assert not mapped.ok
    assert _rules(mapped)["app_data_missing"].path == "$.context.app"


def test_unknown_template_variable_comes_from_properties_then_context() -> None:
    """{device_id} is looked up in properties, context and user; {ts} is the event time."""
    for where in ("properties", "context", "user"):
        item = {"event": "install", where: {"device_id": "d-1"}, "event_time": T}
        assert _map(item, APP, _plan()).event["event_id"] == f"install_d-1_{T}"


def test_constants_win_over_properties_of_the_same_name() -> None:
    """A plan constant (status) cannot be overwritten by the sender."""
    item = {"event": "install", "properties": {"device_id": "d", "status": "old", "campaign": "c"}}
    custom = _map(item, APP, _plan()).event["custom_data"]
    assert custom == {"campaign": "c", "device_id": "d", "status": "fresh"}


@pytest.mark.parametrize(
    ("policy", "kept", "warned"),
    [("keep", True, False), ("warn", True, True), ("drop", False, True)],
)
def test_undeclared_properties_follow_the_plan_policy(
    policy: str, kept: bool, warned: bool
) -> None:
    """keep: silently sent; warn: sent with a warning; drop: removed with a warning."""
    item = {"event": "install", "properties": {"device_id": "d", "coupon": "X1"}}
    mapped = _map(item, APP, _plan(policy))
    custom = mapped.event["custom_data"]
    assert ("coupon" in custom) is kept
    assert ("undeclared_property" in _rules(mapped)) is warned


def test_missing_required_property_is_an_error_naming_it() -> None:
    """Subscribe without value: a 422-worthy error at $.properties.value."""
    item = {
        "event": "subscribe",
        "user": {"telegram_id": TG},
        "properties": {"transaction_id": "t", "currency": "UZS"},
    }
    mapped = _map(item, BILLING)
    assert not mapped.ok
    finding = _rules(mapped)["property_required"]
    assert finding.path == "$.properties.value" and "value" in finding.message


def test_required_property_may_come_from_context() -> None:
    """A value the plan reads (session_id) may sit in context instead of properties."""
    item = {"event": "app_open", "user": BOT_USER, "context": {"session_id": "s-1"}}
    assert _map(item).event["custom_data"] == {"session_id": "s-1"}


def test_revenue_event_without_currency_gets_the_plan_default_with_a_warning() -> None:
    """House rule events fill a missing currency from defaults.currency and say so."""
    item = {
        "event": "subscribe",
        "user": {"telegram_id": TG},
        "properties": {"transaction_id": "t", "value": 1},
    }
    mapped = _map(item, BILLING)
    assert mapped.ok
    assert mapped.event["custom_data"]["currency"] == "UZS"
    assert _rules(mapped)["currency_defaulted"].path == "$.properties.currency"


def test_missing_template_variable_is_an_error_where_it_belongs() -> None:
    """cta_click needs context.session_id; the error points there."""
    mapped = _map(
        {"event": "cta_click", "user": WEB_USER, "context": {"page_url": "https://x.uz"}}, WEB
    )
    finding = _rules(mapped)["event_id_variable"]
    assert finding.path == "$.context.session_id"
    assert "event_id" not in mapped.event


def test_explicit_event_id_wins_over_the_template() -> None:
    """A pixel-shared id sent by the snippet is kept (and the template needs nothing)."""
    mapped = _map(
        {"event": "cta_click", "event_id": " cta_s-81f2 ", "user": WEB_USER, "context": {}}, WEB
    )
    assert mapped.event["event_id"] == "cta_s-81f2" and mapped.ok
    numeric = _map({"event": "start_bot", "event_id": 77, "user": {"user_id": "u"}})
    assert numeric.event["event_id"] == "77"


def test_event_id_of_the_wrong_type_is_an_error() -> None:
    """event_id must be a string (or an integer)."""
    mapped = _map({"event": "start_bot", "event_id": ["x"], "user": BOT_USER})
    assert _rules(mapped)["field_type"].path == "$.event_id"


def test_user_id_falls_back_to_the_telegram_id() -> None:
    """A bot that knows only the Telegram id still gets seed 000's onboarding ids."""
    item = {
        "event": "onboarding_language",
        "event_time": T,
        "user": {"telegram_id": TG},
        "properties": {"language_selected": "uz"},
    }
    assert _map(item).event["event_id"] == f"onboard_lang_{TG}_{T}"


@pytest.mark.parametrize(
    ("given", "expected"), [(T, T), (T + 0.9, T), (str(T), T), (None, int(NOW_S))]
)
def test_event_time_is_unix_seconds_defaulting_to_now(given: object, expected: int) -> None:
    """Numbers and digit strings are seconds; no event_time means now."""
    item = {"event": "start_bot", "user": BOT_USER, "event_time": given}
    assert _map(item).event["event_time"] == expected


@pytest.mark.parametrize("given", ["yesterday", True, float("nan"), "١٢٣"])
def test_event_time_of_the_wrong_type_is_an_error(given: object) -> None:
    """Anything but Unix seconds is refused at $.event_time."""
    mapped = _map({"event": "start_bot", "user": BOT_USER, "event_time": given})
    assert _rules(mapped)["event_time_type"].path == "$.event_time"


def test_unknown_event_lists_every_valid_key() -> None:
    """The API answers 422 naming the valid keys."""
    mapped = _map({"event": "signup", "user": BOT_USER})
    assert mapped.event == {} and mapped.plan_key is None
    (finding,) = mapped.findings
    assert finding.rule == "unknown_event" and finding.path == "$.event"
    assert all(key in finding.message for key in default_plan().keys)


@pytest.mark.parametrize("item", [{}, {"event": ""}, {"event": 3}])
def test_missing_event_is_an_error(item: dict[str, Any]) -> None:
    """`event` is required and must be a string."""
    assert _rules(_map(item))["event_required"].path == "$.event"


def test_a_non_object_item_is_an_error() -> None:
    """A batch entry that is not an object is refused, not crashed on."""
    mapped = to_meta_event(["x"], default_plan(), source=BOT, now_s=NOW_S)
    assert mapped.findings[0].rule == "item_type" and not mapped.ok


def test_sections_must_be_objects_and_unknown_fields_warn() -> None:
    """user/properties/context are objects; an unknown top-level field is a warning."""
    mapped = _map({"event": "start_bot", "user": "ali", "evnt_id": "x"})
    rules = _rules(mapped)
    assert rules["field_type"].path == "$.user"
    assert rules["unknown_field"].path == "$.evnt_id" and not rules["unknown_field"].is_error


def test_source_not_listed_by_the_plan_is_refused() -> None:
    """A browser key cannot send a payment event."""
    mapped = _map(
        {
            "event": "subscribe",
            "user": {"telegram_id": TG},
            "properties": {"transaction_id": "t", **TX},
        },
        WEB,
    )
    rules = _rules(mapped)
    assert rules["source_not_allowed"].path == "$.event"
    assert "server, webhook" in rules["source_not_allowed"].message
    assert rules["action_source_not_allowed"].path == "$.event"


def test_source_matches_by_name_too() -> None:
    """A plan may list a configured source's name instead of its kind."""
    plan = load_plan(PLAN_TEXT.replace("[mobile_app]", "[ios]") % ("keep", "false"))
    mapped = _map({"event": "install", "properties": {"device_id": "d"}}, APP, plan)
    assert "source_not_allowed" not in _rules(mapped)
    other = SourceInfo("android", "mobile_app")
    assert "source_not_allowed" in _rules(_map({"event": "install"}, other, plan))


def test_lifecycle_engine_may_send_derived_events_only() -> None:
    """The lifecycle source is allowed on derived keys, not on others."""
    assert _map({"event": "return_7d", "user": BOT_USER}, LIFECYCLE).ok
    mapped = _map({"event": "start_bot", "user": BOT_USER}, LIFECYCLE)
    assert "source_not_allowed" in _rules(mapped)


def test_action_source_override_is_subject_to_the_source() -> None:
    """A bot may claim chat; a browser key may not claim app; garbage is refused."""
    assert (
        _map({"event": "start_bot", "action_source": "chat", "user": BOT_USER}).event[
            "action_source"
        ]
        == "chat"
    )
    item = {"event": "landing_view", "action_source": "app", "user": WEB_USER, "context": PAGE}
    assert _rules(_map(item, WEB))["action_source_not_allowed"].path == "$.action_source"
    bad = _map({"event": "start_bot", "action_source": "telegram", "user": BOT_USER})
    assert _rules(bad)["action_source_invalid"].path == "$.action_source"


def test_drop_off_from_the_bot_is_an_app_event() -> None:
    """drop_off is website from the landing page and app (here: chat fallback) from the bot."""
    item = {
        "event": "drop_off",
        "user": BOT_USER,
        "context": {"session_id": "s"},
        "properties": {"step_at_exit": "phone"},
    }
    assert _map(item).event["action_source"] == "chat"


def test_raw_meta_event_name_maps_properties_straight_to_custom_data() -> None:
    """With allow_meta_names, `Purchase` passes through with its properties as custom_data."""
    item = {
        "event": "Purchase",
        "event_id": "ord-1",
        "action_source": "website",
        "user": WEB_USER,
        "properties": {"value": 10, "currency": "USD", "contents": [{"id": "a", "quantity": 1}]},
        "context": PAGE,
    }
    mapped = _map(item, BILLING, _plan("drop", allow_meta_names=True))
    assert mapped.ok and mapped.plan_key is None
    assert mapped.event["event_name"] == "Purchase"
    assert mapped.event["custom_data"] == item["properties"]


def test_raw_meta_name_takes_a_browser_keys_only_action_source() -> None:
    """A source allowed one action source needs no explicit one."""
    item = {"event": "Lead", "event_id": "l-1", "user": WEB_USER, "context": PAGE}
    assert _map(item, WEB, _plan(allow_meta_names=True)).event["action_source"] == "website"


def test_raw_meta_name_needs_action_source_and_event_id() -> None:
    """Without a plan rule there is no default action source nor id template."""
    plan = _plan(allow_meta_names=True)
    no_source = _map({"event": "Lead", "user": BOT_USER}, BILLING, plan)
    assert _rules(no_source)["action_source_required"].path == "$.action_source"
    no_id = _map({"event": "Lead", "action_source": "chat", "user": BOT_USER}, BILLING, plan)
    assert _rules(no_id)["event_id_required"].path == "$.event_id"


def test_raw_meta_name_casing_is_a_warning_and_bad_names_are_unknown() -> None:
    """'purchase' is sent (as a custom event) with a warning; 'bad!name' is an unknown event."""
    plan = _plan(allow_meta_names=True)
    lower = _map(
        {"event": "purchase", "event_id": "1", "action_source": "chat", "user": BOT_USER},
        BILLING,
        plan,
    )
    assert _rules(lower)["event_name_case"].path == "$.event"
    bad = _map({"event": "bad!name", "user": BOT_USER}, BILLING, plan)
    assert "unknown_event" in _rules(bad)


def test_mapped_ok_is_false_with_any_error() -> None:
    """Warnings alone keep an event sendable."""
    assert Mapped({}, None, ()).ok
    assert not _map({"event": "nope"}).ok


def test_mapping_ids_match_the_plan_templates() -> None:
    """Every mapped id is its template with each variable filled (a format check)."""
    for key, source, item, _, _ in ROWS:
        template = default_plan().events[key].event_id
        pattern = re.sub(r"\\{\w+\\}", ".+", re.escape(template))
        assert re.fullmatch(pattern, _map({"event": key, **item}, source).event["event_id"])


_SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_JSON = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_SECTION = st.dictionaries(
    st.sampled_from(
        [
            *USER_KEYS,
            "telegram_id",
            "user_id",
            "session_id",
            "transaction_id",
            "value",
            "currency",
            "platform",
            "app",
            "phone_number",
            "user_name",
            "page_url",
        ]
    ),
    _JSON,
    max_size=6,
)
_ITEM = st.fixed_dictionaries(
    {"event": st.sampled_from([*default_plan().keys, "Purchase", "nope"]) | _JSON},
    optional={
        "event_id": _JSON,
        "event_time": _JSON,
        "action_source": st.sampled_from(["app", "chat", "website", "x"]) | _JSON,
        "user": _SECTION | _JSON,
        "properties": _SECTION | _JSON,
        "context": _SECTION | _JSON,
    },
)


@settings(max_examples=200, deadline=None)
@given(item=_ITEM, source=st.sampled_from([WEB, BOT, MINI, BILLING, LIFECYCLE]))
def test_mapping_never_raises_on_any_json(item: dict[str, Any], source: SourceInfo) -> None:
    """Whatever a client sends, the mapping answers with findings, never an exception."""
    for plan in (default_plan(), _plan("warn", allow_meta_names=True)):
        mapped = to_meta_event(item, plan, source=source, now_s=NOW_S)
        if mapped.ok:  # a sendable event has an id, and app_data whenever it claims app
            assert mapped.event["event_id"]
            assert mapped.event["action_source"] != "app" or "app_data" in mapped.event


def test_pii_property_that_is_not_text_is_dropped_with_a_warning() -> None:
    """A list or object under phone_number is neither sent nor stringified."""
    item = {
        "event": "start_bot",
        "user": BOT_USER,
        "properties": {"last_name": ["x"], "phone": None},
    }
    mapped = _map(item)
    assert _rules(mapped)["pii_dropped"].path == "$.properties.last_name"
    assert "ln" not in mapped.event["user_data"] and "custom_data" not in mapped.event


def test_last_name_property_hints_at_user_last_name() -> None:
    """Each moved property names the user key to send instead."""
    mapped = _map({"event": "start_bot", "user": BOT_USER, "properties": {"last_name": "Valiyev"}})
    assert "user.last_name" in _rules(mapped)["pii_moved"].message
