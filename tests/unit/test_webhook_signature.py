"""The webhook signature: HMAC-SHA256 of 't.body', constant-time compare, time tolerance."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capigate.clock import FrozenClock
from capigate.webhooks.signature import (
    DEFAULT_TOLERANCE_S,
    MAX_SIGNATURES,
    SignatureError,
    Verified,
    parse_header,
    replay_key,
    sign,
    signature_of,
    verify,
)

SECRET = b"whsec_0123456789abcdef"
BODY = b'{"type":"payment.succeeded","data":{"id":"ch_1","amount":4900000}}'
T0 = 1_763_800_000


def _reason(body: bytes, header: str | None, *, now_s: float = T0, **kw: float) -> str:
    with pytest.raises(SignatureError) as caught:
        verify(body, header, SECRET, now_s=now_s, **kw)
    assert caught.value.status == 401
    return caught.value.reason


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The scheme is exactly Stripe's: HMAC-SHA256(secret, f"{t}." + body), hex."""
    expected = hmac.new(SECRET, f"{T0}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert signature_of(BODY, SECRET, T0) == expected
    assert sign(BODY, SECRET, timestamp=T0) == f"t={T0},v1={expected}"


def test_a_fresh_signature_verifies() -> None:
    """A request signed now passes and reports its timestamp and signature."""
    header = sign(BODY, SECRET, timestamp=T0)
    assert verify(BODY, header, SECRET, now_s=T0) == Verified(T0, signature_of(BODY, SECRET, T0))


def test_the_tolerance_boundary_is_inclusive_on_an_injected_clock() -> None:
    """Exactly tolerance seconds old passes; one second more is stale."""
    clock = FrozenClock(T0 + DEFAULT_TOLERANCE_S)
    header = sign(BODY, SECRET, timestamp=T0)
    assert verify(BODY, header, SECRET, now_s=clock()).timestamp == T0
    clock.advance(1)
    assert _reason(BODY, header, now_s=clock()) == "stale"


def test_a_signature_from_the_future_beyond_tolerance_is_refused() -> None:
    """A sender whose clock runs too far ahead is refused with its own reason."""
    header = sign(BODY, SECRET, timestamp=T0 + 301)
    assert _reason(BODY, header) == "future"
    assert verify(BODY, sign(BODY, SECRET, timestamp=T0 + 300), SECRET, now_s=T0)


def test_the_tolerance_is_configurable() -> None:
    """A 60-second tolerance refuses a 61-second-old signature."""
    header = sign(BODY, SECRET, timestamp=T0 - 61)
    assert _reason(BODY, header, tolerance_s=60) == "stale"


def test_the_stale_message_says_how_old_and_the_tolerance() -> None:
    """The 401 tells the sender what went wrong in numbers."""
    with pytest.raises(SignatureError, match=r"400 s old; the tolerance is 300 s"):
        verify(BODY, sign(BODY, SECRET, timestamp=T0 - 400), SECRET, now_s=T0)


def test_a_stale_but_forged_request_is_a_mismatch() -> None:
    """The signature is checked before the time, so a forger learns nothing about it."""
    header = sign(BODY, b"another secret", timestamp=T0 - 10_000)
    assert _reason(BODY, header) == "mismatch"


def test_a_changed_body_or_timestamp_does_not_verify() -> None:
    """One byte of body, or a moved timestamp, breaks the signature."""
    header = sign(BODY, SECRET, timestamp=T0)
    assert _reason(BODY + b" ", header) == "mismatch"
    moved = header.replace(f"t={T0}", f"t={T0 + 1}")
    assert _reason(BODY, moved) == "mismatch"


def test_any_of_several_v1_signatures_may_match() -> None:
    """During secret rotation the sender signs with both; one match is enough."""
    old = signature_of(BODY, b"old secret", T0)
    new = signature_of(BODY, SECRET, T0)
    assert verify(BODY, f"t={T0},v1={old},v1={new}", SECRET, now_s=T0).signature == new


def test_upper_case_hex_and_unknown_schemes_are_accepted() -> None:
    """Hex case does not matter; a v0 entry beside v1 is ignored."""
    hex_upper = signature_of(BODY, SECRET, T0).upper()
    header = f"t={T0}, v0=whatever, v1={hex_upper}"
    assert verify(BODY, header, SECRET, now_s=T0).signature == hex_upper.lower()


@pytest.mark.parametrize(
    "header",
    [
        "v1=abc",
        f"t={T0}",
        "t=,v1=ab",
        "t=-5,v1=ab",
        "t=1e9,v1=ab",
        f"t={T0},t={T0},v1=ab",
        f"t={T0};v1=ab",
        f"t={T0},v1=é",
        "t=1234567890123,v1=ab",
        f"t={T0}," + ",".join(["v1=ab"] * (MAX_SIGNATURES + 1)),
        f"t={T0},v1=" + "a" * 2000,
    ],
)
def test_malformed_headers_are_refused_as_malformed(header: str) -> None:
    """Anything but one numeric t= and 1 to 8 ASCII v1= entries is malformed."""
    assert _reason(BODY, header) == "malformed"


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_refused_as_missing(header: str | None) -> None:
    """No header at all says so."""
    assert _reason(BODY, header) == "missing"


def test_parse_header_returns_the_timestamp_and_candidates() -> None:
    """The header parser keeps every v1 value in order."""
    assert parse_header(f"t={T0},v1=aa,v1=bb") == (T0, ["aa", "bb"])


def test_replay_key_names_provider_and_signature() -> None:
    """Replays are recognised per provider by the signature that matched."""
    assert replay_key("atmos", Verified(T0, "ab12")) == "atmos:ab12"
    assert Verified(T0, "x").expires_at(300) == T0 + 300


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=512), timestamp=st.integers(0, 10**10), skew=st.integers(-300, 300))
def test_any_body_signed_within_tolerance_verifies(body: bytes, timestamp: int, skew: int) -> None:
    """Sign then verify round-trips for every body and skew within the tolerance."""
    header = sign(body, SECRET, timestamp=timestamp)
    assert verify(body, header, SECRET, now_s=timestamp + skew).timestamp == timestamp


@settings(max_examples=200, deadline=None)
@given(header=st.text(max_size=200))
def test_arbitrary_headers_never_raise_anything_but_signature_errors(header: str) -> None:
    """Whatever a client sends in the header, the answer is a 401 reason, never a crash."""
    with pytest.raises(SignatureError):
        verify(BODY, header, SECRET, now_s=T0)
