"""``ge``, ``external_id`` and the keys Meta receives raw."""

from __future__ import annotations

import hashlib

import pytest

from capigate.errors import InvalidField
from capigate.normalize import NEVER_HASH_KEYS, hash_field, normalize_field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "m"),
        ("Female", "f"),
        (" WOMAN ", "f"),
        ("erkak", "m"),
        ("Ayol", "f"),
        ("Мужской", "m"),
        ("женский", "f"),
        ("Ж", "f"),
        ("qiz", "f"),
    ],
)
def test_gender_words_map_to_m_or_f(raw: str, expected: str) -> None:
    """English, Russian and Uzbek words for the two genders Meta documents."""
    assert normalize_field("ge", raw) == expected


@pytest.mark.parametrize("raw", ["n", "other", "x", "unknown", "nonbinary"])
def test_other_genders_are_dropped_not_hashed(raw: str) -> None:
    """Meta documents only f and m; anything else could never match."""
    with pytest.raises(InvalidField) as caught:
        hash_field("ge", raw)
    assert (caught.value.key, caught.value.rule) == ("ge", "gender_unknown")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" ABC ", "abc"),
        ("User 123", "user123"),
        ("a\tb\u3000c\ufeff", "abc"),
        (123456789, "123456789"),
        ("0" * 64, "0" * 64),
        ("d4c74594d841139328695756648b6bd6", "d4c74594d841139328695756648b6bd6"),
    ],
)
def test_external_id_is_lowercased_without_whitespace(raw: object, expected: str) -> None:
    """Meta's parameter-builder rule; digit-only and MD5-shaped ids are ordinary values."""
    assert normalize_field("external_id", raw) == expected
    assert hash_field("external_id", raw) == hashlib.sha256(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("client_ip_address", " 203.0.113.7 ", "203.0.113.7"),
        ("client_ip_address", "2001:DB8::1", "2001:DB8::1"),
        ("client_user_agent", "Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"),
        (
            "fbc",
            "fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
            "fb.1.1554763741205.IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk",
        ),
        ("fbc", "fb.1.1554763741205.IwAR2F4.AQQCAQMC", "fb.1.1554763741205.IwAR2F4.AQQCAQMC"),
        ("fbp", "fb.1.1596403881668.1116446470", "fb.1.1596403881668.1116446470"),
        ("fbp", "fb.2.1596403881668.1116446470.Bg", "fb.2.1596403881668.1116446470.Bg"),
        ("madid", "38400000-8CF0-11BD-B23E-10B96E40000D", "38400000-8CF0-11BD-B23E-10B96E40000D"),
        ("anon_id", "XZ123abc", "XZ123abc"),
        ("ctwa_clid", "ARAkLkA8rmlFeiCktEJQ", "ARAkLkA8rmlFeiCktEJQ"),
        ("subscription_id", "sub_1A2b", "sub_1A2b"),
        ("page_id", 1234567890, "1234567890"),
        ("lead_id", "123456789012345", "123456789012345"),
        ("whatsapp_business_account_id", "102290129340398", "102290129340398"),
    ],
)
def test_raw_keys_are_validated_and_never_rewritten(key: str, raw: object, expected: str) -> None:
    """Meta receives these as sent: trimmed only, case kept, never hashed."""
    assert hash_field(key, raw) == expected
    assert normalize_field(key, raw) == expected


@pytest.mark.parametrize(
    ("key", "raw", "rule"),
    [
        ("client_ip_address", "256.1.1.1", "ip_invalid"),
        ("client_ip_address", "a" * 64, "ip_invalid"),
        ("fbc", "IwAR2F4-dbP0l7Mn1", "fbc_format"),
        ("fbc", "fb.1.155476374120.IwAR2F4", "fbc_format"),
        ("fbp", "fb.1.1596403881668.", "fbp_format"),
        ("fbp", "fb.1.1596403881668.111 6446470", "fbp_format"),
        ("madid", "00000000-0000-0000-0000-000000000000", "madid_zeroed"),
        ("madid", "abc def", "id_whitespace"),
        ("ctwa_clid", "a b", "id_whitespace"),
        ("page_id", "12ab", "id_not_numeric"),
        ("ig_sid", "١٢٣", "id_not_numeric"),
        ("client_user_agent", "   ", "empty"),
    ],
)
def test_invalid_raw_values_are_refused(key: str, raw: str, rule: str) -> None:
    """A raw value that breaks Meta's format is refused, never repaired or hashed."""
    with pytest.raises(InvalidField) as caught:
        hash_field(key, raw)
    assert (caught.value.key, caught.value.rule) == (key, rule)


def test_every_never_hash_key_has_a_check() -> None:
    """Each raw key accepts a plausible value (its table entry exists)."""
    for key in NEVER_HASH_KEYS:
        value = "fb.1.1596403881668.1" if key in ("fbc", "fbp") else "203.0.113.7"
        if key != "client_ip_address" and key not in ("fbc", "fbp"):
            value = "1234567"
        assert hash_field(key, value) == value
