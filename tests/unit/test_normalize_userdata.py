"""normalize_user_data: a whole user_data object, bad values dropped with warnings."""

from __future__ import annotations

import hashlib

import pytest

from capigate.errors import ConfigError, InvalidField
from capigate.findings import Severity
from capigate.normalize import normalize_user_data
from capigate.normalize.keys import USER_DATA_ORDER


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_fields_are_hashed_and_raw_keys_kept() -> None:
    """Hashed keys become SHA-256 of the normalized value; raw keys pass unchanged."""
    out, findings = normalize_user_data(
        {
            "em": "John@Example.com",
            "ph": "90 123 45 67",
            "client_ip_address": "2001:DB8::1",
            "fbp": "fb.1.1596403881668.1116446470",
            "external_id": "U-1",
        },
        default_region="UZ",
    )
    assert out == {
        "em": sha("john@example.com"),
        "ph": sha("998901234567"),
        "external_id": sha("u-1"),
        "client_ip_address": "2001:DB8::1",
        "fbp": "fb.1.1596403881668.1116446470",
    }
    assert findings == []


def test_output_follows_metas_key_order() -> None:
    """Whatever order the input has, the output keys follow Meta's table."""
    raw = {"fbp": "fb.1.1596403881668.1", "country": "uz", "em": "a@b.co", "ln": "X"}
    out, _ = normalize_user_data(raw)
    assert list(out) == [key for key in USER_DATA_ORDER if key in raw]


def test_lists_are_deduplicated_after_hashing() -> None:
    """Values equal after normalization are sent once, first occurrence first."""
    out, findings = normalize_user_data({"em": ["B@x.co", "a@x.co", " b@X.co ", "a@x.co"]})
    assert out["em"] == [sha("b@x.co"), sha("a@x.co")]
    assert findings == []


def test_a_list_reduced_to_one_value_is_sent_as_a_string() -> None:
    """One distinct value is sent exactly as if a string had been given."""
    out, _ = normalize_user_data({"em": ["a@x.co", "A@X.CO"], "fn": ["Ann"]})
    assert out == {"em": sha("a@x.co"), "fn": sha("ann")}


def test_invalid_values_are_dropped_with_a_warning_and_the_rest_goes() -> None:
    """An invalid value is never sent; a warning names its path and rule; others still go."""
    out, findings = normalize_user_data(
        {"em": ["good@x.co", "not-an-email"], "ph": "1-800-FLOWERS", "fn": "Ann"}
    )
    assert out == {"em": sha("good@x.co"), "fn": sha("ann")}
    assert [(f.path, f.rule, f.severity, f.spec) for f in findings] == [
        ("$.user_data.em[1]", "email_format", Severity.WARNING, "§3.1"),
        ("$.user_data.ph", "phone_letters", Severity.WARNING, "§3.1"),
    ]
    assert "dropped" in findings[0].message


def test_a_key_whose_values_are_all_invalid_is_omitted() -> None:
    """No empty key is sent when nothing valid is left."""
    out, findings = normalize_user_data({"ge": ["x", "y"]})
    assert out == {}
    assert [f.path for f in findings] == ["$.user_data.ge[0]", "$.user_data.ge[1]"]


def test_unknown_keys_are_dropped_with_a_warning() -> None:
    """Keys Meta does not document, SDK-only ones included, are dropped and reported."""
    out, findings = normalize_user_data({"email": "a@b.co", "f5first": "johnn", "fn": "John"})
    assert out == {"fn": sha("john")}
    assert [(f.path, f.rule) for f in findings] == [
        ("$.user_data.email", "unknown_key"),
        ("$.user_data.f5first", "unknown_key"),
    ]


@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_blank_values_mean_not_given(blank: object) -> None:
    """None, blank strings and empty lists produce neither output nor findings."""
    assert normalize_user_data({"em": blank, "fbc": blank}) == ({}, [])


def test_phone_without_country_code_is_kept_with_a_warning() -> None:
    """With no default region a national number keeps its digits and earns a warning."""
    out, findings = normalize_user_data({"ph": ["(650) 555-1212", "+1 650 555 1212"]})
    assert out == {"ph": [sha("6505551212"), sha("16505551212")]}
    assert [(f.path, f.rule) for f in findings] == [("$.user_data.ph[0]", "phone_no_country_code")]


def test_hashed_phone_needs_no_country_code_warning() -> None:
    """An already-hashed phone is passed through silently."""
    digest = sha("998901234567")
    assert normalize_user_data({"ph": digest.upper()}) == ({"ph": digest}, [])


def test_raw_keys_take_one_value() -> None:
    """A one-element list is unwrapped; a longer list is dropped with a warning."""
    out, findings = normalize_user_data(
        {
            "client_user_agent": ["Mozilla/5.0"],
            "fbp": ["fb.1.1596403881668.1", "fb.1.1596403881668.2"],
        }
    )
    assert out == {"client_user_agent": "Mozilla/5.0"}
    assert [(f.path, f.rule) for f in findings] == [("$.user_data.fbp", "array_not_allowed")]


def test_invalid_raw_value_is_dropped_with_a_warning() -> None:
    """A malformed IP is dropped, never hashed."""
    out, findings = normalize_user_data({"client_ip_address": "localhost", "em": "a@b.co"})
    assert out == {"em": sha("a@b.co")}
    assert [(f.path, f.rule) for f in findings] == [("$.user_data.client_ip_address", "ip_invalid")]


def test_dates_use_the_default_region_and_latest_birth_year() -> None:
    """The region orders day and month; max_birth_year bounds the year."""
    out, findings = normalize_user_data(
        {"db": ["05/01/1990", "2030-01-01"]}, default_region="GB", max_birth_year=2026
    )
    assert out == {"db": sha("19900105")}
    assert [(f.path, f.rule) for f in findings] == [("$.user_data.db[1]", "date_out_of_range")]


def test_user_data_must_be_an_object() -> None:
    """A list or string instead of an object is refused as a whole."""
    with pytest.raises(InvalidField) as caught:
        normalize_user_data(["em"])  # type: ignore[arg-type]
    assert (caught.value.key, caught.value.rule) == ("user_data", "bad_type")


def test_unknown_default_region_is_a_configuration_error() -> None:
    """A bad region is the operator's mistake, reported as ConfigError."""
    with pytest.raises(ConfigError):
        normalize_user_data({"ph": "1"}, default_region="Uzbekistan")
