"""The emulator refuses what Meta refuses (spec §12 steps 3-7), with Meta's codes and subcodes."""

from __future__ import annotations

from typing import Any

import pytest

from capigate.emulator import EmulatorConfig
from tests.unit.emulator_kit import (
    NOW_S,
    PIXEL,
    client_for,
    error_of,
    event,
    make_app,
    post_events,
    sha,
    with_user_data,
)

DAY_S = 86_400
EXTINFO = ["i2", "com.example", "1.0", "1.0 long", "17.4", "iPhone15,2", "en_US", "UTC", "",
           "1179", "2556", "3", "6", "128", "64", "Europe/Berlin"]  # fmt: skip
APP_DATA = {"advertiser_tracking_enabled": 1, "extinfo": EXTINFO}
WHATSAPP_UD = {"whatsapp_business_account_id": "1029384756", "ctwa_clid": "ARAkLkA8rmlF"}


def app_event(**app_data: Any) -> dict[str, Any]:
    """An app event with ``app_data`` keys replaced (None deletes a key)."""
    data = {**APP_DATA, **app_data}
    data = {key: value for key, value in data.items() if value is not None}
    return event(action_source="app", event_source_url=None, app_data=data)


def extinfo(index: int, value: Any) -> list[Any]:
    """The valid extinfo with one slot replaced."""
    slots = list(EXTINFO)
    slots[index] = value
    return slots


def bm_event(name: str = "Purchase", channel: str | None = "whatsapp", **ud: Any) -> dict[str, Any]:
    """A business-messaging event on ``channel`` with the given user_data."""
    return event(
        event_name=name,
        action_source="business_messaging",
        event_source_url=None,
        messaging_channel=channel,
        user_data=ud or dict(WHATSAPP_UD),
        custom_data={"value": 10, "currency": "USD"},
    )


def chat(**overrides: Any) -> dict[str, Any]:
    """A valid event sent with action_source chat (no website requirements)."""
    return event(action_source="chat", event_source_url=None, **overrides)


def purchase(**custom_data: Any) -> dict[str, Any]:
    """A Purchase whose custom_data is exactly ``custom_data``."""
    return event(event_name="Purchase", custom_data=custom_data)


async def answer(events: list[Any], **config: Any) -> tuple[int, dict[str, Any]]:
    """Status and JSON body of one request to a fresh emulator."""
    app = make_app(EmulatorConfig(**config))
    async with client_for(app) as client:
        response = await post_events(client, events)
    return response.status_code, response.json()


REJECTED = [
    # step 3: schema
    pytest.param([5], {}, 2804019, "$['data'][0]", id="event-not-an-object"),
    pytest.param([event(advertiser_tracking_enabled=1)], {}, 2804019,
                 'Unexpected key "advertiser_tracking_enabled" on param "$[\'data\'][0]"',
                 id="unexpected-top-level-key"),
    pytest.param([event(user_data=None)], {}, 2804019,
                 "The parameter $['data'][0]['user_data'] is required", id="missing-user-data"),
    pytest.param([event(event_name=None)], {}, 2804019, "['event_name'] is required",
                 id="missing-event-name"),
    pytest.param([event(event_time=None)], {}, 2804019, "['event_time'] is required",
                 id="missing-event-time"),
    pytest.param([event(action_source=None)], {}, 2804019, "['action_source'] is required",
                 id="missing-action-source"),
    pytest.param([event(action_source="in_store")], {}, 2804019, "action_source",
                 id="action-source-not-in-enum"),
    pytest.param([event(action_source="Website")], {}, 2804019, "action_source",
                 id="action-source-is-case-sensitive"),
    pytest.param([event(event_name="")], {}, 2804019, "event_name", id="empty-event-name"),
    pytest.param([event(event_name="x" * 51)], {"max_event_name_chars": 50}, 2804019,
                 "longer than 50", id="event-name-over-configured-limit"),
    pytest.param([event(event_time="soon")], {}, 2804019, "event_time", id="event-time-text"),
    pytest.param([event(event_time=NOW_S - 0.5)], {}, 2804019, "event_time",
                 id="event-time-fraction"),
    pytest.param([event(user_data=["em"])], {}, 2804019, "user_data", id="user-data-not-object"),
    pytest.param([event(opt_out="yes")], {}, 2804019, "opt_out", id="opt-out-not-bool"),
    pytest.param([event(custom_data=[1])], {}, 2804019, "custom_data", id="custom-data-not-obj"),
    pytest.param([event(event_id=True)], {}, 2804019, "event_id", id="event-id-bool"),
    pytest.param([event(messaging_channel="sms")], {}, 2804019, "messaging_channel",
                 id="messaging-channel-not-in-enum"),
    pytest.param([event(customer_segmentation="vip")], {}, 2804019, "customer_segmentation",
                 id="customer-segmentation-not-in-enum"),
    pytest.param([event(messaging_channel=["whatsapp"])], {}, 2804019, "messaging_channel",
                 id="enum-given-an-array-is-refused-not-a-crash"),
    pytest.param([purchase(value=1, currency="USD", content_type={"a": 1})], {}, 2804019,
                 "content_type", id="enum-given-an-object-is-refused-not-a-crash"),
    pytest.param([event(data_processing_options=["GDPR"])], {}, 2804019, "LDU",
                 id="dpo-other-than-ldu"),
    pytest.param([event(data_processing_options=["LDU"])], {}, 2804019,
                 "data_processing_options_country", id="ldu-without-country"),
    pytest.param([event(data_processing_options=["LDU"], data_processing_options_country=1)], {},
                 2804019, "data_processing_options_state", id="country-without-state"),
    pytest.param([event(original_event_data={"event_time": "yesterday"})], {}, 2804019,
                 "original_event_data", id="original-event-time-not-int"),
    # step 4: time
    pytest.param([event(event_time=NOW_S - 7 * DAY_S - 1)], {}, 2804003, "within 7 days",
                 id="older-than-7-days"),
    pytest.param([event(action_source="physical_store", event_source_url=None,
                        event_time=NOW_S - 62 * DAY_S - 1)], {}, 2804003, "62 days",
                 id="physical-store-older-than-62-days"),
    pytest.param([event(action_source="physical_store", event_source_url=None,
                        event_time=NOW_S - 30 * DAY_S)], {"physical_store_max_age_s": 7 * DAY_S},
                 2804003, "7 days", id="physical-store-62-day-rule-off"),
    pytest.param([event(event_time=NOW_S + 61)], {}, 2804004, "future", id="future-beyond-skew"),
    pytest.param([event(event_time=NOW_S * 1000)], {}, 2804004, "milliseconds",
                 id="milliseconds-timestamp"),
    pytest.param([event(event_time=NOW_S + 10)], {"future_skew_s": 0}, 2804004, "future",
                 id="future-skew-configured-to-zero"),
    # step 5: website
    pytest.param([event(event_source_url=None)], {}, 2804019, "event_source_url",
                 id="website-without-source-url"),
    pytest.param([with_user_data(client_user_agent=None)], {}, 2804019, "client_user_agent",
                 id="website-without-user-agent"),
    # step 5: app
    pytest.param([event(action_source="app", event_source_url=None)], {}, 2804019,
                 "advertiser_tracking_enabled", id="app-without-app-data"),
    pytest.param([app_event(advertiser_tracking_enabled=None)], {}, 2804019,
                 "advertiser_tracking_enabled", id="app-without-ate"),
    pytest.param([app_event(advertiser_tracking_enabled=2)], {}, 2804019,
                 "advertiser_tracking_enabled", id="app-ate-not-0-or-1"),
    pytest.param([app_event(application_tracking_enabled=5)], {}, 2804019,
                 "application_tracking_enabled", id="app-application-tracking-not-0-or-1"),
    pytest.param([app_event(extinfo=None)], {}, 2804043, "16", id="app-without-extinfo"),
    pytest.param([app_event(extinfo=EXTINFO[:15])], {}, 2804043, "16", id="extinfo-15-slots"),
    pytest.param([app_event(extinfo=extinfo(0, "x2"))], {}, 2804043, "a2",
                 id="extinfo-bad-version"),
    pytest.param([app_event(extinfo=extinfo(4, ""))], {}, 2804043, "OS version",
                 id="extinfo-blank-os-version"),
    pytest.param([app_event(extinfo=extinfo(9, None))], {}, 2804043, "string",
                 id="extinfo-null-slot"),
    # step 5: business messaging
    pytest.param([bm_event(channel=None)], {}, 2804063, "messaging_channel",
                 id="bm-without-channel"),
    pytest.param([bm_event(name="Lead")], {}, 2804066, "Lead", id="bm-standard-name-not-allowed"),
    pytest.param([bm_event(name="OrderShipped")], {"business_messaging_mode": "strict"}, 2804066,
                 "OrderShipped", id="bm-strict-mode-narrower"),
    pytest.param([bm_event(ctwa_clid="ARAk")], {}, 2804116, "page_id",
                 id="bm-whatsapp-without-account"),
    pytest.param([bm_event(whatsapp_business_account_id="1029384756")], {}, 2804087,
                 "ctwa_clid", id="bm-whatsapp-without-ctwa-clid"),
    pytest.param([bm_event(channel="messenger", whatsapp_business_account_id="1", ig_sid="5")],
                 {}, 2804069, "page_id", id="bm-messenger-without-page"),
    pytest.param([bm_event(channel="instagram", ig_sid="5501")], {}, 2804079,
                 "ig_account_id", id="bm-instagram-without-account"),
    pytest.param([bm_event(channel="instagram", instagram_business_account_id="7", ig_sid="5")],
                 {"instagram_account_keys": ("ig_account_id",)}, 2804079, "ig_account_id",
                 id="bm-instagram-live-key-only"),
    pytest.param([bm_event()], {"datasets_without_whatsapp": frozenset({PIXEL})}, 2804132,
                 "WhatsApp", id="bm-waba-on-dataset-without-whatsapp"),
    pytest.param([bm_event(channel="messenger", page_id="99", page_scoped_user_id="42")],
                 {"datasets_without_page": frozenset({PIXEL})}, 2804131, "Page",
                 id="bm-page-on-dataset-without-page"),
    # step 6: user_data
    pytest.param([chat(user_data={})], {}, 2804050, "no customer information",
                 id="empty-user-data"),
    pytest.param([chat(user_data={"em": "", "ph": []})], {}, 2804050, "customer information",
                 id="only-empty-values"),
    pytest.param([event(action_source="chat", event_source_url=None,
                        user_data={"fn": sha("mary"), "ge": sha("f")})], {}, 2804050, "broad",
                 id="too-broad-fn-ge"),
    pytest.param([event(action_source="chat", event_source_url=None,
                        user_data={"ln": sha("smith")})], {}, 2804050, "broad",
                 id="too-broad-subset-ln"),
    pytest.param([event(user_data={"ct": sha("berlin"), "st": sha("be"), "country": sha("de"),
                                   "ge": sha("m"), "client_user_agent": "UA"})], {}, 2804050,
                 "broad", id="too-broad-location-gender-ua"),
    pytest.param([event(user_data={"db": sha("19970216"), "client_user_agent": "UA"})], {},
                 2804050, "broad", id="too-broad-dob-ua"),
    pytest.param([with_user_data(em="joe@example.com")], {"unhashed_pii": "reject"}, 2804019,
                 "SHA-256", id="unhashed-email-reject-mode"),
    pytest.param([with_user_data(ph=[sha("1"), "16505551212"])], {"unhashed_pii": "reject"},
                 2804019, "['ph']", id="one-unhashed-phone-in-list"),
    pytest.param([with_user_data(em=sha("a").upper())], {"unhashed_pii": "reject"}, 2804019,
                 "lowercase", id="uppercase-hex-is-not-hashed"),
    pytest.param([with_user_data(em=12345)], {}, 2804019, "['em']", id="email-not-a-string"),
    pytest.param([with_user_data(client_ip_address="999.1.1.1")], {}, 2804019, "IPv4",
                 id="ip-does-not-parse"),
    pytest.param([with_user_data(client_ip_address="1.2.3.4\x00")], {}, 2804019, "IPv4",
                 id="ip-with-a-nul-is-refused-not-a-crash"),
    pytest.param([with_user_data(client_ip_address=sha("203.0.113.7"))], {}, 2804019, "IPv4",
                 id="ip-hashed"),
    pytest.param([with_user_data(fbc="IwAR2F4-dbP0l7Mn1")], {"malformed_click_ids": "reject"},
                 2804019, "fbc", id="fbc-without-envelope-reject-mode"),
    pytest.param([with_user_data(fbp="fb.1.159640388.1116446470")],
                 {"malformed_click_ids": "reject"}, 2804019, "fbp", id="fbp-seconds-not-ms"),
    pytest.param([with_user_data(loyalty_tier="gold")], {"unknown_user_data_keys": "reject"},
                 2804019, "loyalty_tier", id="unknown-user-data-key-reject-mode"),
    pytest.param([with_user_data(fbp=["fb.1.1596403881668.1"])], {}, 2804019, "fbp",
                 id="never-hash-key-as-list"),
    # step 7: custom_data
    pytest.param([purchase(currency="USD")], {}, 2804009, "value", id="purchase-without-value"),
    pytest.param([event(event_name="Purchase", custom_data=None)], {}, 2804009, "value",
                 id="purchase-without-custom-data"),
    pytest.param([purchase(value=10)], {}, 2804010, "currency", id="purchase-without-currency"),
    pytest.param([event(custom_data={"value": 5})], {"value_requires_currency": True}, 2804023,
                 "currency", id="value-without-currency-strict-mode"),
    pytest.param([purchase(value=10, currency="ABC")], {}, 2804019, "ISO 4217",
                 id="currency-not-iso-4217"),
    pytest.param([purchase(value="ten", currency="USD")], {}, 2804019, "value",
                 id="value-not-a-number"),
    pytest.param([purchase(value=True, currency="USD")], {}, 2804019, "value",
                 id="value-bool"),
    pytest.param([event(custom_data={"contents": [{"quantity": 1}]})], {}, 2804008, "id",
                 id="contents-item-without-id"),
    pytest.param([event(custom_data={"contents": [{"id": "sku", "quantity": "two"}]})], {},
                 2804019, "quantity", id="contents-quantity-not-number"),
    pytest.param([event(custom_data={"contents": {"id": "sku"}})], {}, 2804019, "contents",
                 id="contents-not-array"),
    pytest.param([event(custom_data={"contents": ["sku"]})], {}, 2804019, "contents",
                 id="contents-item-not-object"),
    pytest.param([event(custom_data={"contents": [{"id": "s", "delivery_category": "drone"}]})],
                 {}, 2804019, "delivery_category", id="contents-delivery-category"),
    pytest.param([event(custom_data={"delivery_category": "pickup"})], {}, 2804019,
                 "delivery_category", id="delivery-category-not-in-enum"),
    pytest.param([event(custom_data={"content_type": "service"})], {}, 2804019, "content_type",
                 id="content-type-not-in-enum"),
    pytest.param([event(custom_data={"content_ids": "sku-1"})], {}, 2804019, "content_ids",
                 id="content-ids-not-array"),
    pytest.param([event(custom_data={"customer_segmentation": "vip"})], {}, 2804019,
                 "customer_segmentation", id="custom-data-segmentation-not-in-enum"),
]  # fmt: skip


@pytest.mark.parametrize(("events", "config", "subcode", "mentions"), REJECTED)
async def test_rejected_with_meta_subcode(
    events: list[Any], config: dict[str, Any], subcode: int, mentions: str
) -> None:
    """Each rule answers 400, code 100, its subcode, and names the field in error_user_msg."""
    status, body = await answer(events, **config)
    assert status == 400, body
    error = body["error"]
    assert (error["code"], error["error_subcode"]) == (100, subcode), error
    assert error["type"] == "OAuthException"
    assert error["message"] == "Invalid parameter"
    assert error["is_transient"] is False
    assert error["error_user_title"]
    assert mentions in error["error_user_msg"], error["error_user_msg"]
    assert "$['data'][0]" in error["error_user_msg"]


ACCEPTED = [
    pytest.param([event()], {}, id="valid-website-event"),
    pytest.param([event(event_time=str(NOW_S))], {}, id="event-time-digit-string"),
    pytest.param([event(event_time=float(NOW_S))], {}, id="event-time-integral-float"),
    pytest.param([event(event_time=NOW_S - 7 * DAY_S + 1)], {}, id="just-inside-7-days"),
    pytest.param([event(event_time=NOW_S + 60)], {}, id="future-within-skew"),
    pytest.param([event(action_source="physical_store", event_source_url=None,
                        event_time=NOW_S - 30 * DAY_S)], {}, id="physical-store-30-days"),
    pytest.param([event(event_source_url=None)], {"website_requires_source_url": False},
                 id="source-url-rule-off"),
    pytest.param([with_user_data(client_user_agent=None)], {"website_requires_user_agent": False},
                 id="user-agent-rule-off"),
    pytest.param([event(action_source="chat", event_source_url=None,
                        user_data={"client_ip_address": "2001:db8::1"})], {},
                 id="ipv6-address-alone-is-enough"),
    pytest.param([event(action_source="email", event_source_url=None,
                        user_data={"external_id": "user-42"})], {}, id="raw-external-id"),
    pytest.param([event(action_source="email", event_source_url=None,
                        user_data={"external_id": [sha("user-42")]})], {},
                 id="hashed-external-id"),
    pytest.param([with_user_data(em=sha("a") + ".AQ")], {"unhashed_pii": "reject"},
                 id="hash-with-2-char-appendix"),
    pytest.param([with_user_data(em=sha("a") + ".AQYBAQIA")], {"unhashed_pii": "reject"},
                 id="hash-with-8-char-appendix"),
    pytest.param([with_user_data(fbc="fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQ")],
                 {"malformed_click_ids": "reject"}, id="fbc-envelope-case-kept"),
    pytest.param([app_event()], {}, id="app-event"),
    pytest.param([app_event(advertiser_tracking_enabled=False)], {}, id="app-ate-false"),
    pytest.param([app_event(extinfo=extinfo(9, 1179))], {}, id="extinfo-int-in-numeric-slot"),
    pytest.param([bm_event()], {}, id="bm-whatsapp"),
    pytest.param([bm_event(name="OrderShipped")], {}, id="bm-official-list"),
    pytest.param([bm_event(channel="messenger", page_id="99", page_scoped_user_id="42")], {},
                 id="bm-messenger"),
    pytest.param([bm_event(channel="instagram", instagram_business_account_id="7", ig_sid="5")],
                 {}, id="bm-instagram-doc-key"),
    pytest.param([purchase(value="142.52", currency="usd")], {}, id="purchase-string-value"),
    pytest.param([purchase(value=10)], {"purchase_requires_currency": False},
                 id="purchase-currency-rule-off"),
    pytest.param([event(custom_data={"value": 5})], {}, id="value-without-currency"),
    pytest.param([event(custom_data={"anything": {"nested": True}, "status": True})], {},
                 id="custom-keys-allowed"),
    pytest.param([event(custom_data={"customer_segmentation": "new_customer_to_business"})], {},
                 id="segmentation-in-custom-data"),
    pytest.param([event(customer_segmentation="customer_in_loyalty_program")], {},
                 id="segmentation-top-level"),
    pytest.param([event(data_processing_options=["LDU"], data_processing_options_country=1,
                        data_processing_options_state=1000)], {}, id="ldu-complete"),
    pytest.param([event(data_processing_options=[])], {}, id="explicit-no-dpo"),
    pytest.param([event(event_id=12345, opt_out=False, referrer_url="https://r.example",
                        original_event_data={"event_name": "Lead", "event_time": NOW_S})], {},
                 id="optional-keys"),
    pytest.param([event(custom_data=None, user_data=None) | {"user_data": {"fbp":
                 "fb.1.1596403881668.1", "client_user_agent": "UA"}}], {}, id="fbp-and-ua"),
]  # fmt: skip


@pytest.mark.parametrize(("events", "config"), ACCEPTED)
async def test_accepted(events: list[Any], config: dict[str, Any]) -> None:
    """Payloads Meta accepts answer 200 with events_received."""
    status, body = await answer(events, **config)
    assert status == 200, body
    assert body["events_received"] == len(events)
    assert body["messages"] == []


async def test_first_failing_event_wins() -> None:
    """The error names the first bad event, even when a later one has an earlier-step fault."""
    events = [event(), event(event_time=NOW_S - 8 * DAY_S), event(surprise=1)]
    _, body = await answer(events)
    assert body["error"]["error_subcode"] == 2804003
    assert "$['data'][1]" in body["error"]["error_user_msg"]


@pytest.mark.parametrize(
    ("bad_event", "subcode"),
    [
        pytest.param(event(surprise=1, event_time=NOW_S - 8 * DAY_S), 2804019, id="schema<time"),
        pytest.param(
            event(event_time=NOW_S - 8 * DAY_S, user_data={"em": sha("x")}), 2804003,
            id="time<website",
        ),
        pytest.param(event(user_data={"ge": sha("m")}), 2804019, id="website<user-data"),
        pytest.param(
            event(event_name="Purchase", custom_data={}, user_data={"ge": sha("m"),
                  "client_user_agent": "UA"}), 2804050, id="user-data<custom-data",
        ),
    ],
)  # fmt: skip
async def test_steps_run_in_spec_order(bad_event: dict[str, Any], subcode: int) -> None:
    """Within one event the §12 steps run in order: schema, time, source, user_data, custom."""
    _, body = await answer([bad_event])
    assert body["error"]["error_subcode"] == subcode


async def test_rejected_request_records_no_event() -> None:
    """One bad event rejects the whole batch: nothing of it is recorded."""
    app = make_app()
    async with client_for(app) as client:
        await post_events(client, [event(), event(event_time=NOW_S - 8 * DAY_S)])
        recorded = (await client.get("/__emulator__/events")).json()
    assert recorded == {"requests": 1, "events": []}


@pytest.mark.parametrize(
    ("events", "config", "warning"),
    [
        pytest.param([with_user_data(em="joe@example.com")], {}, "SHA-256", id="unhashed"),
        pytest.param([with_user_data(madid="38400000-8cf0-11bd-b23e-10b96e40000d")], {},
                     "app events", id="madid-on-website"),
        pytest.param([with_user_data(page_id=sha("99"))], {}, "looks hashed",
                     id="never-hash-key-hashed"),
        pytest.param([with_user_data(fbc="IwAR2F4")], {}, "fbc", id="fbc-malformed"),
        pytest.param([with_user_data(loyalty_tier="gold")], {}, "loyalty_tier",
                     id="unknown-user-data-key"),
        pytest.param([event(event_source_url="example.com/x")], {}, "http",
                     id="source-url-without-scheme"),
    ],
)  # fmt: skip
async def test_tolerated_problems_are_warnings(
    events: list[Any], config: dict[str, Any], warning: str
) -> None:
    """What Meta tolerates is accepted and logged as a warning on the request."""
    app = make_app(EmulatorConfig(**config))
    async with client_for(app) as client:
        response = await post_events(client, events)
        log = (await client.get("/__emulator__/requests")).json()["requests"]
    assert response.status_code == 200, response.text
    assert any(warning in w for w in log[0]["warnings"]), log[0]["warnings"]


async def test_unknown_user_data_keys_can_be_accepted_silently() -> None:
    """In ``accept`` mode an unknown user_data key is neither refused nor warned about."""
    app = make_app(EmulatorConfig(unknown_user_data_keys="accept"))
    async with client_for(app) as client:
        await post_events(client, [with_user_data(loyalty_tier="gold")])
        log = (await client.get("/__emulator__/requests")).json()["requests"]
    assert log[0]["status"] == 200
    assert log[0]["warnings"] == []


async def test_clean_event_has_no_warnings() -> None:
    """A well-formed event produces no warnings (tests can assert the gateway is clean)."""
    app = make_app()
    async with client_for(app) as client:
        await post_events(client, [event()])
        log = (await client.get("/__emulator__/requests")).json()["requests"]
    assert log[0]["warnings"] == []


async def test_error_envelope_has_meta_fields() -> None:
    """The error object carries exactly Meta's fields, with a base64url fbtrace_id."""
    app = make_app()
    async with client_for(app) as client:
        response = await post_events(client, [event(user_data={})])
    error = error_of(response)
    assert set(error) == {"message", "type", "code", "error_subcode", "is_transient",
                          "error_user_title", "error_user_msg", "fbtrace_id"}  # fmt: skip
    assert 11 <= len(error["fbtrace_id"]) <= 27
    assert response.headers["x-fb-trace-id"] == error["fbtrace_id"]


@pytest.mark.parametrize(("event_time", "subcode"), [(10**400, 2804004), (-(10**400), 2804003)])
def test_an_event_time_beyond_any_date_is_refused_not_a_crash(
    event_time: int, subcode: int
) -> None:
    """An integer too large for a float age is out of the window, never an OverflowError."""
    from capigate.emulator.envelope import Refused
    from capigate.emulator.rules import check_events

    with pytest.raises(Refused) as refused:
        check_events([event(event_time=event_time)], PIXEL, EmulatorConfig(), NOW_S, [])
    assert refused.value.error.summary()["error_subcode"] == subcode
