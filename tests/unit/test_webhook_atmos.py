"""The Atmos adapter: a forwarded callback, its MD5 sign over raw field texts, its defaults."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import orjson
import pytest

from capigate.webhooks import atmos
from capigate.webhooks.config import Action, Adapter
from capigate.webhooks.mapping import Payment, read_payment
from capigate.webhooks.section import read_section
from capigate.webhooks.signature import SignatureError

API_KEY = "atmos-callback-key-0001"
T0 = 1_763_800_000

# A callback as the merchant receives it (third-party sources agree on these fields), with
# store_id quoted and transaction_id and amount unquoted, as Atmos may send them.
FORWARDED = (
    b'{"callback": {"store_id": "7453", "transaction_id": 48151623, '
    b'"transaction_time": "2026-11-22 14:05:10", "amount": 4900000, '
    b'"invoice": "sub-77123-2026-11", "sign": "%s"}, '
    b'"user": {"telegram_id": "77123"}, "plan": "monthly"}'
)


def _signed(template: bytes = FORWARDED, key: str = API_KEY) -> bytes:
    text = "7453" + "48151623" + "sub-77123-2026-11" + "4900000" + key
    return template % hashlib.md5(text.encode()).hexdigest().encode()


def _config() -> object:
    providers = read_section({"atmos": {"adapter": "atmos"}}, "$.webhooks", _no_failure)
    return providers["atmos"]


def _no_failure(path: str, rule: str, problem: str) -> None:
    raise AssertionError(f"{path}: {rule}: {problem}")


def test_sign_is_md5_of_the_four_fields_and_the_key() -> None:
    """sign = md5(store_id + transaction_id + invoice + amount + api_key), lower-case hex."""
    fields = {"store_id": "1", "transaction_id": "2", "invoice": "3", "amount": "4"}
    assert atmos.callback_sign(fields, "k") == hashlib.md5(b"1234k").hexdigest()


def test_a_real_looking_forwarded_callback_verifies() -> None:
    """Quoted and unquoted numbers are signed as their raw JSON text."""
    assert atmos.verify_callback(_signed(), API_KEY) == []


def test_an_upper_case_sign_verifies() -> None:
    """Hex case in the sign does not matter."""
    body = _signed()
    sign = orjson.loads(body)["callback"]["sign"]
    assert atmos.verify_callback(body.replace(sign.encode(), sign.upper().encode()), API_KEY) == []


def test_a_float_amount_is_signed_as_written() -> None:
    """An amount written 4900000.00 is signed as that text, not as a re-printed number."""
    text = "7453" + "48151623" + "sub-77123-2026-11" + "4900000.00" + API_KEY
    body = (
        FORWARDED.replace(b"4900000,", b"4900000.00,")
        % hashlib.md5(text.encode()).hexdigest().encode()
    )
    assert atmos.verify_callback(body, API_KEY) == []


def test_a_wrong_key_or_a_changed_amount_is_a_signature_error() -> None:
    """The sign proves Atmos made this callback: any change or another key is 401."""
    with pytest.raises(SignatureError, match="sign does not match"):
        atmos.verify_callback(_signed(key="someone else's key"), API_KEY)
    tampered = _signed().replace(b"4900000", b"9900000")
    with pytest.raises(SignatureError):
        atmos.verify_callback(tampered, API_KEY)


def test_a_non_ascii_sign_is_a_mismatch_not_a_crash() -> None:
    """Odd characters in sign are refused like any wrong sign."""
    body = _signed().replace(b'"sign": "', b'"sign": "\xc3\xa9')
    with pytest.raises(SignatureError):
        atmos.verify_callback(body, API_KEY)


def test_missing_and_mistyped_callback_fields_are_findings() -> None:
    """Each missing sign field is named by its path; a boolean is the wrong type."""
    body = b'{"callback": {"store_id": "1", "transaction_id": true, "amount": 5, "sign": ""}}'
    found = {(f.path, f.rule) for f in atmos.verify_callback(body, API_KEY)}
    assert found == {
        ("$.callback.transaction_id", "field_type"),
        ("$.callback.invoice", "field_required"),
        ("$.callback.sign", "field_required"),
    }


@pytest.mark.parametrize("body", [b"[]", b'{"store_id": "1"}', b'{"callback": 5}', b"{"])
def test_a_body_without_a_callback_object_is_one_finding(body: bytes) -> None:
    """The adapter needs Atmos's callback under "callback"."""
    (finding,) = atmos.verify_callback(body, API_KEY)
    assert (finding.path, finding.rule) == ("$.callback", "field_required")


def test_the_atmos_defaults_read_tiyin_of_uzs_as_a_charge() -> None:
    """4,900,000 tiyin is 49,000 UZS; the merchant's user and plan come along."""
    config = _config()
    assert config.adapter is Adapter.ATMOS  # type: ignore[attr-defined]
    payment = read_payment(orjson.loads(_signed()), config, now_s=T0)  # type: ignore[arg-type]
    assert payment == Payment(
        provider="atmos",
        action=Action.CHARGE,
        transaction_id="48151623",
        user_key="77123",
        event_time=T0,
        user={"telegram_id": "77123"},
        amount=Decimal(49000),
        currency="UZS",
        plan="monthly",
    )


def test_plan_entries_override_and_merge_with_the_defaults() -> None:
    """A plan may key users by the invoice and keep the default amount path."""
    entry = {"adapter": "atmos", "user": {"user_id": "callback.invoice"}}
    merged = atmos.with_defaults(entry)
    assert merged["user"] == {"telegram_id": "user.telegram_id", "user_id": "callback.invoice"}
    assert merged["fields"]["amount"] == "callback.amount"
    assert "action" not in atmos.with_defaults({"event_type": "kind", "events": {"x": "charge"}})
