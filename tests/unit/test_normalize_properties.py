"""Properties of the normalizer that must hold for any input (hypothesis)."""

from __future__ import annotations

import hashlib
import string
from typing import Any

import phonenumbers
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from capigate.errors import InvalidField
from capigate.normalize import (
    HASHED_KEYS,
    NEVER_HASH_KEYS,
    hash_field,
    is_hashed,
    normalize_field,
    normalize_user_data,
)

KEYS = sorted(HASHED_KEYS | NEVER_HASH_KEYS)
REGIONS = [None, "US", "UZ", "RU", "GB", "DE"]
SETTINGS = settings(max_examples=300, deadline=None)
SLOW_SETTINGS = settings(max_examples=150, deadline=None)  # nested inputs cost more to draw

# Text that looks like real field values, mixed with arbitrary Unicode.
_field_alphabet = st.sampled_from(
    list(string.printable) + list("ʻʼ’‘éÉüßİıŞ정Иван¡¿—–\u00a0\u200b\u0301＋１٣")
)
field_like_text = st.text(_field_alphabet, max_size=40)
any_text = st.one_of(field_like_text, st.text(max_size=40))
scalars: st.SearchStrategy[Any] = st.one_of(
    any_text,
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.binary(max_size=8),
    st.dates(),
)
anything: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
hex_digest = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64).filter(
    lambda s: not s.isdigit()
)
appendix = st.text(string.ascii_letters + string.digits + "_-", min_size=2, max_size=2) | st.text(
    string.ascii_letters + string.digits + "_-", min_size=8, max_size=8
)
phone_like = st.builds(
    lambda prefix, digits, sep: prefix + sep.join(digits),
    st.sampled_from(["", "+", "00", "8 ", "0", "+7 ", "+998 ", "tel:+1 "]),
    st.lists(st.text(string.digits, min_size=1, max_size=4), min_size=1, max_size=5),
    st.sampled_from([" ", "-", ".", "", ") ("]),
)


@SETTINGS
@given(key=st.sampled_from(KEYS), value=any_text)
@example(key="st", value="Île-de-France")
@example(key="fn", value="e-\u0301")
def test_normalization_is_idempotent(key: str, value: str) -> None:
    """Normalizing a normalized value changes nothing."""
    try:
        once = normalize_field(key, value)
    except InvalidField:
        return
    assert normalize_field(key, once) == once


@SETTINGS
@given(value=any_text, region=st.sampled_from(REGIONS))
@example(value="5/1/1990", region="UZ")
def test_date_normalization_is_idempotent_in_every_region(value: str, region: str | None) -> None:
    """A normalized date reads back as itself whatever day/month order the region prefers."""
    try:
        once = normalize_field("db", value, default_region=region)
    except InvalidField:
        return
    assert normalize_field("db", once, default_region=region) == once


def _is_valid_e164(digits: str) -> bool:
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse("+" + digits)))
    except phonenumbers.NumberParseException:
        return False


@SETTINGS
@given(value=phone_like | any_text, region=st.sampled_from(REGIONS))
@example(value="90 123 45 67", region="UZ")
@example(value="8 (903) 123-45-67", region="RU")
def test_phone_normalization_is_idempotent_for_real_numbers(value: str, region: str | None) -> None:
    """Without a region phone digits read back unchanged; with one, so do the region's numbers.

    Meta's format drops the '+': the digits of a foreign number such as +32 12 00 00 00 are, in
    region US, the Florida number 321 200 0000, and read as national by design. Idempotence with
    a region is therefore defined for valid numbers of that region's country code.
    """
    try:
        once = normalize_field("ph", value, default_region=region)
    except InvalidField:
        return
    if region is not None:
        calling_code = str(phonenumbers.country_code_for_region(region))
        assume(once.startswith(calling_code) and _is_valid_e164(once))
    assert normalize_field("ph", once, default_region=region) == once


@SETTINGS
@given(key=st.sampled_from(sorted(HASHED_KEYS)), digest=hex_digest, tail=st.none() | appendix)
def test_hash_field_passes_hashes_through(key: str, digest: str, tail: str | None) -> None:
    """An already-hashed value is returned unchanged (hex part lowercased), never hashed again."""
    value = digest if tail is None else f"{digest}.{tail}"
    expected = digest.lower() if tail is None else f"{digest.lower()}.{tail}"
    assert is_hashed(value)
    assert hash_field(key, value) == expected
    assert hash_field(key, f"  {value}\n") == expected


@SETTINGS
@given(key=st.sampled_from(sorted(HASHED_KEYS)), value=any_text)
def test_hash_field_is_sha256_of_normalized(key: str, value: str) -> None:
    """For hashed keys the hash is SHA-256 of the normalized value, or the value if hashed."""
    try:
        normalized = normalize_field(key, value)
    except InvalidField:
        return
    expected = (
        normalized if is_hashed(normalized) else hashlib.sha256(normalized.encode()).hexdigest()
    )
    assert hash_field(key, value) == expected


@SETTINGS
@given(key=st.sampled_from(sorted(NEVER_HASH_KEYS)), value=any_text)
def test_never_hash_keys_are_never_rewritten(key: str, value: str) -> None:
    """A raw key comes back as the trimmed input: no case change, no hashing."""
    try:
        result = hash_field(key, value)
    except InvalidField:
        return
    assert result in value and result == normalize_field(key, value)


@SETTINGS
@given(
    key=st.sampled_from([*KEYS, "f5first", "", "EM"]),
    value=anything,
    region=st.sampled_from(REGIONS),
)
def test_field_functions_raise_only_invalid_field(key: str, value: Any, region: str | None) -> None:
    """No value makes normalize_field or hash_field raise anything but InvalidField."""
    for function in (normalize_field, hash_field):
        try:
            result = function(key, value, default_region=region)
        except InvalidField as exc:
            assert exc.rule and exc.key == str(key)
        else:
            assert isinstance(result, str) and result


@SLOW_SETTINGS
@given(
    raw=st.dictionaries(st.sampled_from([*KEYS, "f5first", "x"]), anything, max_size=6),
    region=st.sampled_from(REGIONS),
)
def test_user_data_never_raises_and_accounts_for_every_drop(
    raw: dict[str, Any], region: str | None
) -> None:
    """normalize_user_data never raises for values; every output value is a string or a list."""
    out, findings = normalize_user_data(raw, default_region=region)
    assert set(out) <= HASHED_KEYS | NEVER_HASH_KEYS
    for key, value in out.items():
        values = value if isinstance(value, list) else [value]
        assert values and all(isinstance(v, str) and v for v in values)
        if key in HASHED_KEYS:
            assert all(is_hashed(v) for v in values)
    for finding in findings:
        assert finding.path.startswith("$.user_data.") and finding.rule and finding.spec == "§3.1"


@SETTINGS
@given(value=anything)
def test_is_hashed_answers_for_any_value(value: Any) -> None:
    """is_hashed is a plain yes or no for any input, never an exception."""
    assert is_hashed(value) in (True, False)


@SLOW_SETTINGS
@given(raw=anything)
def test_user_data_of_any_shape_raises_only_invalid_field(raw: Any) -> None:
    """Even a user_data that is not an object is refused with InvalidField, not a crash."""
    try:
        normalize_user_data(raw)
    except InvalidField as exc:
        assert exc.rule == "bad_type"
