"""Stitching rules: which tokens count, when a /start links, what later events inherit."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from capigate.attribution.config import DAY_S, AttributionSettings
from capigate.attribution.rules import (
    CLOCK_SKEW_S,
    NOTHING,
    Carried,
    apply,
    carried,
    landing_token,
    link_refusal,
    start_token,
    telegram_id,
)
from capigate.attribution.session import UTM_KEYS, LandingSession

TOKEN = "AbCdEfGhIjKlMnOpQrStUv"
T0 = 1_763_800_000.0
ANDROID_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/130.0 Mobile Safari/537.36"
SESSION = LandingSession(
    token=TOKEN,
    fbc="fb.1.1763799990123.IwAR2F4-dbP0l7Mn1IawQQ",
    fbp="fb.1.1763799990000.1116446470",
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
    utms={"utm_source": "fb", "utm_campaign": "spring"},
    created_at=T0,
    seen_at=T0,
    telegram_id="279058397",
    linked_at=T0 + 30,
)
SETTINGS = AttributionSettings()


def _bot_item(**fields: Any) -> dict[str, Any]:
    return {"event": "subscribe", "user": {"telegram_id": "279058397"}, **fields}


# --- reading items ------------------------------------------------------------------------


def test_tokens_are_read_from_their_context_keys_only_when_valid() -> None:
    """landing_token and start_param count only when they look like link tokens."""
    item = {"context": {"landing_token": TOKEN, "start_param": "ref42"}}
    assert landing_token(item) == TOKEN
    assert start_token(item) is None  # a short referral code is not a landing token
    assert start_token({"context": {"start_param": TOKEN}}) == TOKEN
    assert landing_token({"context": "x"}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("279058397", "279058397"), (279058397, "279058397"), (" 42 ", "42"), ("abc", None),
     (True, None), (0, None), (None, None)],
)  # fmt: skip
def test_telegram_id_is_read_as_digits(value: object, expected: str | None) -> None:
    """An int or a digit string; anything else is no Telegram id."""
    assert telegram_id({"user": {"telegram_id": value}}) == expected


# --- linking ------------------------------------------------------------------------------


def test_a_fresh_unlinked_session_may_be_linked() -> None:
    """Within the link window, an unlinked session links."""
    fresh = dataclasses.replace(SESSION, telegram_id=None, linked_at=None)
    assert link_refusal(fresh, "42", SETTINGS, T0 + SETTINGS.link_window_s) is None


def test_link_refusals_name_their_reason() -> None:
    """Unknown token, another user's session, and a session past the link window."""
    unlinked = dataclasses.replace(SESSION, telegram_id=None, linked_at=None)
    late = T0 + SETTINGS.link_window_s + 1
    assert link_refusal(None, "42", SETTINGS, T0) == "unknown_token"
    assert link_refusal(SESSION, "42", SETTINGS, T0) == "token_taken"
    assert link_refusal(unlinked, "42", SETTINGS, late) == "token_expired"


def test_the_linked_user_may_link_again_at_any_time() -> None:
    """A repeated /start by the same user is no refusal, even after the window."""
    assert link_refusal(SESSION, "279058397", SETTINGS, T0 + 365 * DAY_S) is None


# --- carrying -----------------------------------------------------------------------------


def test_a_fresh_session_fills_every_missing_key() -> None:
    """fbc, fbp, IP, UA and the UTMs all carry over within their TTLs."""
    carry = carried(SESSION, _bot_item(event_time=T0 + 3600), SETTINGS, T0 + 3600)
    assert carry == Carried(
        {
            "fbc": SESSION.fbc,
            "fbp": SESSION.fbp,
            "ip": SESSION.ip,
            "user_agent": SESSION.user_agent,
        },
        {"utm_source": "fb", "utm_campaign": "spring"},
    )


def test_ip_and_user_agent_stop_after_their_ttl_while_cookies_carry_on() -> None:
    """After ip_ua_ttl_s only fbc, fbp and UTMs remain; after keys_ttl_s nothing."""
    day8 = T0 + 8 * DAY_S
    carry = carried(SESSION, _bot_item(event_time=day8), SETTINGS, day8)
    assert set(carry.user) == {"fbc", "fbp"}
    assert carry.properties
    day91 = T0 + 91 * DAY_S
    assert carried(SESSION, _bot_item(event_time=day91), SETTINGS, day91) == NOTHING


def test_age_is_measured_to_the_event_time_not_the_ingest_time() -> None:
    """A backfilled event from day 2 still gets IP/UA although it arrives on day 30."""
    carry = carried(SESSION, _bot_item(event_time=T0 + 2 * DAY_S), SETTINGS, T0 + 30 * DAY_S)
    assert "ip" in carry.user


def test_an_event_before_the_visit_inherits_nothing() -> None:
    """The click cannot have caused what happened before it (beyond clock skew)."""
    before = T0 - CLOCK_SKEW_S - 1
    assert carried(SESSION, _bot_item(event_time=before), SETTINGS, T0) == NOTHING
    slightly = carried(SESSION, _bot_item(event_time=T0 - 10), SETTINGS, T0)
    assert slightly != NOTHING


def test_keys_the_event_has_are_never_replaced() -> None:
    """The event's own fbc stays; its own IP keeps the landing IP and UA out as a pair."""
    item = _bot_item(
        user={"telegram_id": "1", "fbc": "fb.1.1763800000000.Own", "ip": "198.51.100.1"}
    )
    carry = carried(SESSION, item, SETTINGS, T0)
    assert set(carry.user) == {"fbp"}


def test_utms_carry_only_to_an_event_without_its_own() -> None:
    """An event with any utm_* keeps its set; the landing set is not mixed in."""
    item = _bot_item(properties={"utm_medium": "bot"})
    assert carried(SESSION, item, SETTINGS, T0).properties == {}


def test_carry_setting_limits_what_moves() -> None:
    """carry: [fbc] moves fbc only."""
    only_fbc = AttributionSettings(carry=frozenset({"fbc"}))
    assert carried(SESSION, _bot_item(), only_fbc, T0) == Carried({"fbc": SESSION.fbc}, {})


def test_a_mobile_landing_agent_does_not_turn_a_chat_event_into_an_app_event() -> None:
    """For a possible app event without its own device context, the agent is not carried."""
    mobile = dataclasses.replace(SESSION, user_agent=ANDROID_UA)
    app = carried(mobile, _bot_item(), SETTINGS, T0, app_event=True)
    assert "user_agent" not in app.user
    assert app.user["ip"] == SESSION.ip
    website = carried(mobile, _bot_item(), SETTINGS, T0, app_event=False)
    assert website.user["user_agent"] == ANDROID_UA
    own_device = _bot_item(context={"platform": "ios", "app": {"os_version": "17.2"}})
    assert "user_agent" in carried(mobile, own_device, SETTINGS, T0, app_event=True).user


def test_apply_fills_user_and_allowed_utms_without_touching_the_original() -> None:
    """apply returns a new item; UTMs outside utm_allowed are left out."""
    item = _bot_item(properties={"transaction_id": "t1"})
    carry = Carried({"fbc": "fb.1.1763800000000.X"}, {"utm_source": "fb", "utm_term": "t"})
    out = apply(item, carry, ("utm_source",))
    assert out["user"] == {"telegram_id": "279058397", "fbc": "fb.1.1763800000000.X"}
    assert out["properties"] == {"transaction_id": "t1", "utm_source": "fb"}
    assert item["user"] == {"telegram_id": "279058397"}
    assert apply(item, Carried({}, {"utm_term": "t"}), UTM_KEYS[:1]) == item
