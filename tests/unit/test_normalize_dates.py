"""``db``: many written forms to a validated ``YYYYMMDD``."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from capigate.errors import InvalidField
from capigate.normalize import MAX_BIRTH_YEAR, normalize_field


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("19900115", None, "19900115"),
        ("1990-01-15", None, "19900115"),
        ("1990/1/5", None, "19900105"),
        ("1990 01 15", None, "19900115"),
        ("1990-01-15T08:30:00Z", None, "19900115"),
        ("1990-01-15 08:30:00.123+05:00", None, "19900115"),
        ("2/16/1997", None, "19970216"),
        ("2/16/1997", "UZ", "19970216"),
        ("16/2/1997", "US", "19970216"),
        ("03/04/1997", "US", "19970304"),
        ("03/04/1997", "GB", "19970403"),
        ("03-04-1997", "RU", "19970403"),
        ("03.04.1997", "US", "19970403"),
        ("03.04.1997", None, "19970403"),
        ("15 January 1990", None, "19900115"),
        ("January 15th, 1990", None, "19900115"),
        ("15th of Jan 1990", None, "19900115"),
        ("Sept 1 1990", None, "19900901"),
        ("15 января 1990 г.", None, "19900115"),
        ("15-fevral 1990 yil", None, "19900215"),
        ("1990 May 3", None, "19900503"),
        (19900115, None, "19900115"),
        ("29.02.2000", None, "20000229"),
    ],
)
def test_dates_become_yyyymmdd(raw: object, region: str | None, expected: str) -> None:
    """Numeric, ISO and month-name forms; day/month order by separator and region."""
    assert normalize_field("db", raw, default_region=region) == expected


def test_date_objects_are_accepted() -> None:
    """A date or datetime from a typed source needs no formatting first."""
    assert normalize_field("db", date(1990, 1, 15)) == "19900115"
    assert normalize_field("db", datetime(1990, 1, 15, 10, 30)) == "19900115"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("1990-13-01", "date_invalid"),
        ("31/02/1990", "date_invalid"),
        ("29.02.1999", "date_invalid"),
        ("13/13/1990", "date_invalid"),
        ("90-01-15", "date_two_digit_year"),
        ("15.01.90", "date_two_digit_year"),
        ("1899-12-31", "date_out_of_range"),
        (f"{MAX_BIRTH_YEAR + 1}-01-01", "date_out_of_range"),
        ("abc", "date_format"),
        ("15 Smarch 1990", "date_format"),
        ("January 1990", "date_format"),
        ("15 January February 1990", "date_format"),
        ("1990", "date_format"),
        ("1²/01/1990", "date_format"),
    ],
)
def test_impossible_or_ambiguous_dates_are_refused(raw: str, rule: str) -> None:
    """Impossible dates, two-digit years and years outside 1900..max are refused."""
    with pytest.raises(InvalidField) as caught:
        normalize_field("db", raw)
    assert (caught.value.key, caught.value.rule) == ("db", rule)


def test_latest_birth_year_is_a_parameter() -> None:
    """Callers that know today's year pass it; the core has no clock."""
    assert normalize_field("db", "2030-01-01", max_birth_year=2030) == "20300101"
    with pytest.raises(InvalidField, match=r"1900\.\.2020"):
        normalize_field("db", "2021-01-01", max_birth_year=2020)
