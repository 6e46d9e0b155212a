"""``ph``: E.164 digits, national numbers completed with the default region."""

from __future__ import annotations

import pytest

from capigate.errors import ConfigError, InvalidField
from capigate.normalize import normalize_field
from capigate.normalize.phone import normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+998 (90) 123-45-67", None, "998901234567"),
        ("+998 (90) 123-45-67", "RU", "998901234567"),
        ("00998 90 123 45 67", "UZ", "998901234567"),
        ("+44 (0) 20 7946 0958", None, "442079460958"),
        ("+1 (415) 555-1234 x 99", None, "14155551234"),
        ("+1 415 555 1234;ext=99", None, "14155551234"),
        ("+7 903 123 45 67 доб. 12", None, "79031234567"),
        ("+1 415 555 1234 #7", None, "14155551234"),
        ("TEL:+998901234567", None, "998901234567"),
        ("+998 90 123 45 67 [work]", None, "998901234567"),
        ("+٩٩٨٩٠١٢٣٤٥٦٧", None, "998901234567"),
        ("90 123 45 67", "UZ", "998901234567"),
        ("90 123 45 67", "uz", "998901234567"),
        ("8 90 123 45 67", "UZ", "998901234567"),
        ("998901234567", "UZ", "998901234567"),
        ("8 (903) 123-45-67", "RU", "79031234567"),
        ("810 44 20 7946 0958", "RU", "442079460958"),
        ("020 7946 0958", "GB", "442079460958"),
        ("(650) 555-1212", "US", "16505551212"),
        ("1 650 555 1212", "US", "16505551212"),
        ("442079460958", "UZ", "442079460958"),
    ],
)
def test_phone_becomes_e164_digits(raw: str, region: str | None, expected: str) -> None:
    """International numbers keep their digits; national ones gain the region's country code."""
    assert normalize_field("ph", raw, default_region=region) == expected


def test_possible_but_unassigned_national_number_is_completed() -> None:
    """A number of the right length but outside assigned ranges still gets its country code."""
    assert normalize_field("ph", "555 555 5555", default_region="US") == "15555555555"


def test_digits_with_the_regions_code_but_unassigned_range_are_kept() -> None:
    """Digits already starting with the region's code are not prefixed a second time."""
    assert normalize_field("ph", "15555555555", default_region="US") == "15555555555"


def test_possible_international_number_in_another_country_is_kept() -> None:
    """Digits that only make sense as another country's number stay as they are."""
    assert normalize_field("ph", "442079460958", default_region="US") == "442079460958"


@pytest.mark.parametrize(
    ("raw", "region", "rule"),
    [
        ("1-800-FLOWERS", None, "phone_letters"),
        ("call me", None, "phone_letters"),
        ("12345", None, "phone_too_short"),
        ("+12 34", None, "phone_too_short"),
        ("0000012", None, "phone_too_short"),
        ("+1234567890123456", None, "phone_too_long"),
        ("1234567890123456", "US", "phone_too_long"),
        ("8 0 0000 0000 0000", "DE", "phone_too_long"),
        ("555-1234", "US", "phone_invalid"),
        ("123 45 67", "UZ", "phone_invalid"),
        ("000 000 00", "UZ", "phone_too_short"),
    ],
)
def test_unusable_phones_are_refused(raw: str, region: str | None, rule: str) -> None:
    """Vanity letters, too few or too many digits, and numbers no region can complete."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("ph", raw, default_region=region)
    assert (caught.value.key, caught.value.rule) == ("ph", rule)


@pytest.mark.parametrize(
    ("raw", "has_code"),
    [("+1 650 555 1212", True), ("998901234567", True), ("(650) 555-1212", False)],
)
def test_country_code_is_known_only_when_evident(raw: str, has_code: bool) -> None:
    """Without a region, digits count as having a country code only if they form a valid number."""
    assert normalize_phone(raw)[1] is has_code


def test_unknown_default_region_is_a_configuration_error() -> None:
    """A region libphonenumber does not know is refused as configuration, not as a field."""
    with pytest.raises(ConfigError, match="XX"):
        normalize_field("ph", "90 123 45 67", default_region="XX")
