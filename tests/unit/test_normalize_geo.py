"""``country`` to ISO alpha-2 and ``zp`` postcodes."""

from __future__ import annotations

import pytest

from capigate.errors import InvalidField
from capigate.normalize import normalize_field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("US", "us"),
        ("usa", "us"),
        ("United States of America", "us"),
        ("UZB", "uz"),
        ("O'zbekiston", "uz"),
        ("Ўзбекистон", "uz"),
        ("Россия", "ru"),
        ("Russian Federation", "ru"),
        ("Great Britain", "gb"),
        ("Scotland", "gb"),
        ("Côte d'Ivoire", "ci"),
        ("Cote d'Ivoire", "ci"),
        ("Türkiye", "tr"),
        ("Turkey", "tr"),
        ("South Korea", "kr"),
        ("Korea, Republic of", "kr"),
        ("Republic of Moldova", "md"),
        ("  de ", "de"),
    ],
)
def test_country_names_and_codes_map_to_alpha2(raw: str, expected: str) -> None:
    """Codes, English names, official and common names, and local aliases."""
    assert normalize_field("country", raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"), [("XK", "country_unknown"), ("Atlantis", "country_unknown"), ("--", "empty")]
)
def test_unknown_countries_are_refused(raw: str, rule: str) -> None:
    """Anything not in ISO 3166-1 is refused, never truncated to two letters."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("country", raw)
    assert (caught.value.key, caught.value.rule) == ("country", rule)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("94025-1234", "94025"),
        ("94025 1234", "94025"),
        ("940251234", "94025"),
        ("SW1A 1AA", "sw1a1aa"),
        ("sw1a-1aa", "sw1a1aa"),
        ("M1 1AE", "m11ae"),
        ("123-4567", "1234567"),
        ("00-950", "00950"),
        ("1234-56789", "123456789"),
        ("100 000", "100000"),
        ("75008\u2013", "75008"),
        ("Ü1 23", "ü123"),
        ("AB.12", "ab.12"),
    ],
)
def test_postcodes_lose_spaces_and_dashes_only(raw: str, expected: str) -> None:
    """Only a US ZIP+4 is cut; other postcodes keep every character but spaces and dashes."""
    assert normalize_field("zp", raw) == expected


@pytest.mark.parametrize("raw", ["1", " - 7 ", "a"])
def test_one_character_postcodes_are_refused(raw: str) -> None:
    """Fewer than two characters cannot be a postcode."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("zp", raw)
    assert caught.value.rule == "zip_too_short"
