"""Telegram Mini App initData: Telegram's HMAC rule with the bot token, and auth_date freshness."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest

from capigate import telegram
from capigate.errors import AuthError
from capigate.secret import Secret

BOT_TOKEN = Secret("123456:AAE-test-token")
KEY = telegram.secret_key(BOT_TOKEN)
NOW_S = 1_763_800_000
MAX_AGE_S = 3_600


def init_data(*, token: Secret = BOT_TOKEN, auth_date: int = NOW_S - 60, **extra: str) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": 279058397, "first_name": "Vladislav", "username": "vdkfrost"}),
        "auth_date": str(auth_date),
        "signature": "aW52YWxpZC1idXQtY292ZXJlZC1ieS10aGUtaGFzaA",
        **extra,
    }
    return urlencode({**fields, "hash": telegram.sign(fields, token)})


def verify(raw: str) -> telegram.InitData:
    return telegram.verify(raw, KEY, now_s=NOW_S, max_age_s=MAX_AGE_S)


def test_secret_key_follows_telegrams_rule() -> None:
    """secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token), per Telegram's docs."""
    expected = hmac.new(b"WebAppData", BOT_TOKEN.reveal().encode(), hashlib.sha256).digest()
    assert expected == KEY


def test_sign_matches_the_documented_data_check_string() -> None:
    """The hash covers the sorted key=value lines joined by newlines, signature included."""
    fields = {"b": "2", "a": "1", "signature": "s"}
    check = b"a=1\nb=2\nsignature=s"
    assert telegram.sign(fields, BOT_TOKEN) == hmac.new(KEY, check, hashlib.sha256).hexdigest()


def test_valid_init_data_yields_the_user_and_start_param() -> None:
    """A correctly signed, fresh initData gives the Telegram user id and start_param."""
    data = verify(init_data(start_param="lp_81f2"))
    assert data == telegram.InitData("279058397", NOW_S - 60, "lp_81f2")


def test_init_data_without_user_is_valid_but_names_nobody() -> None:
    """initData from a keyboard-button launch carries no user."""
    fields = {"auth_date": str(NOW_S), "query_id": "q"}
    raw = urlencode({**fields, "hash": telegram.sign(fields, BOT_TOKEN)})
    assert verify(raw).user_id is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (init_data(token=Secret("999:other")), "hash does not match"),
        (init_data().replace("Vladislav", "Mallory"), "hash does not match"),
        (init_data() + "&extra=1", "hash does not match"),
        (init_data(auth_date=NOW_S - MAX_AGE_S - 1), "older than 3600 s"),
        (init_data(auth_date=NOW_S + 3_600), "in the future"),
        ("", "non-empty"),
        ("x" * 5000, "non-empty"),
        ("not a query string", "not a query string"),
        ("auth_date=1&auth_date=2&hash=ab", "repeats a field"),
        ("auth_date=1", "has no hash"),
    ],
)
def test_bad_init_data_is_refused_with_403(raw: str, reason: str) -> None:
    """Wrong token, tampering, staleness and garbage are all 403 with the failed check named."""
    with pytest.raises(AuthError, match=reason) as caught:
        verify(raw)
    assert caught.value.status == 403


def test_signed_but_malformed_fields_are_refused() -> None:
    """Even a correct hash does not make a non-numeric auth_date or a bad user acceptable."""
    for fields in (
        {"auth_date": "yesterday"},
        {"auth_date": str(NOW_S), "user": "{not json"},
        {"auth_date": str(NOW_S), "user": json.dumps({"id": "12"})},
        {"auth_date": str(NOW_S), "user": json.dumps({"id": True})},
    ):
        raw = urlencode({**fields, "hash": telegram.sign(fields, BOT_TOKEN)})
        with pytest.raises(AuthError):
            verify(raw)
