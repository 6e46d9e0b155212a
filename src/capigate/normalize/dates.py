"""``db``: a real calendar date as ``YYYYMMDD`` (spec §3.1), parsed from the usual ways people
and systems write it.

Accepted: ``YYYYMMDD``; ``YYYY-MM-DD`` (also ``/``, ``.`` or spaces, 1- or 2-digit parts, an
optional time such as ``00:00:00`` or ``T00:00:00Z``); ``D.M.YYYY``, ``D/M/YYYY``, ``D-M-YYYY``
and their month-first forms; dates with an English, Russian or Uzbek month name
(``15 January 1990``, ``January 15, 1990``, ``15 января 1990 г.``).

Day or month first, when both numbers are 12 or less: dots mean day first (the European and
post-Soviet notation: ``05.01.1990`` is 5 January). Slashes and dashes follow the default region:
month first for the US and its territories (and when no region is set, as in Meta's own example
``2/16/1997``), day first elsewhere (``UZ``, ``RU``, ``GB``...). When one number is above 12 the
order is unambiguous and the preference is ignored. A year-first date is never reordered
(``1990-13-01`` is refused, not read as 13 January).

Refused: two-digit years (``90-01-15``: the century is a guess), impossible dates, years before
``MIN_BIRTH_YEAR`` or after ``max_year``. The core has no clock, so the latest accepted birth year
is a parameter; callers that know today's date pass the current year. Its default,
``MAX_BIRTH_YEAR``, is safe to leave stale: it only stops rejecting the birth years of children
too young to be anyone's customer in ads.
"""

from __future__ import annotations

import re
from datetime import date

from capigate.errors import InvalidField
from capigate.normalize.text import nfc, require, trim

MIN_BIRTH_YEAR = 1900
MAX_BIRTH_YEAR = 2026
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"})

_SEP = r"(?:\s*[-/.]\s*|\s+)"
# One separator character before the time keeps the search linear; strip() removes the rest.
_TIME = re.compile(r"[t\s]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|[+-]\d{2}:?\d{2})?$")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YEAR_FIRST = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})")
_YEAR_LAST = re.compile(rf"(\d{{1,2}})({_SEP})(\d{{1,2}}){_SEP}(\d{{4}})")
_TWO_DIGIT_YEAR = re.compile(
    rf"\d{{1,2}}{_SEP}\d{{1,2}}{_SEP}\d{{2}}|\d{{2}}{_SEP}\d{{1,2}}{_SEP}\d{{1,2}}"
)
_TOKENS = re.compile(r"[^\W\d_]+|\d+")
FILLER_WORDS = frozenset(
    {"st", "nd", "rd", "th", "of", "the", "г", "года", "год", "yil", "yilda", "y"}
)

_MONTH_WORDS = (
    ("january", "jan", "январь", "января", "янв", "yanvar", "январ"),
    ("february", "feb", "февраль", "февраля", "фев", "fevral", "феврал"),
    ("march", "mar", "март", "марта", "мар", "mart"),
    ("april", "apr", "апрель", "апреля", "апр", "aprel", "апрел"),
    ("may", "май", "мая", "may"),
    ("june", "jun", "июнь", "июня", "июн", "iyun", "июн"),
    ("july", "jul", "июль", "июля", "июл", "iyul", "июл"),
    ("august", "aug", "август", "августа", "авг", "avgust"),
    ("september", "sep", "sept", "сентябрь", "сентября", "сен", "сент", "sentabr", "сентябр"),
    ("october", "oct", "октябрь", "октября", "окт", "oktabr", "октябр"),
    ("november", "nov", "ноябрь", "ноября", "ноя", "noyabr", "ноябр"),
    ("december", "dec", "декабрь", "декабря", "дек", "dekabr", "декабр"),
)
MONTHS = {word: number for number, words in enumerate(_MONTH_WORDS, 1) for word in words}


def normalize_birth_date(
    text: str, region: str | None = None, max_year: int = MAX_BIRTH_YEAR
) -> str:
    """``YYYYMMDD``, or InvalidField(``db``, ``date_*``); see the module docstring."""
    value = nfc(require("db", trim(text), "date of birth")).lower()
    if ":" in value:
        value = _TIME.sub("", value).strip()
    year, month, day = _parse(value, region)
    if not MIN_BIRTH_YEAR <= year <= max_year:
        raise InvalidField(
            "db", "date_out_of_range", f"the birth year must be {MIN_BIRTH_YEAR}..{max_year}"
        )
    try:
        date(year, month, day)
    except ValueError:
        raise InvalidField("db", "date_invalid", "not a real calendar date") from None
    return f"{year:04d}{month:02d}{day:02d}"


def _parse(value: str, region: str | None) -> tuple[int, int, int]:
    match = _COMPACT.fullmatch(value) or _YEAR_FIRST.fullmatch(value)
    if match:
        return int(match[1]), int(match[2]), int(match[3])
    match = _YEAR_LAST.fullmatch(value)
    if match:
        first, second = int(match[1]), int(match[3])
        day_first = "." in match[2] or (region is not None and region not in MONTH_FIRST_REGIONS)
        if (first > 12) != (second > 12):
            day_first = first > 12
        day, month = (first, second) if day_first else (second, first)
        return int(match[4]), month, day
    if _TWO_DIGIT_YEAR.fullmatch(value):
        raise InvalidField("db", "date_two_digit_year", "write the year with four digits")
    return _parse_words(value)


def _parse_words(value: str) -> tuple[int, int, int]:
    tokens = [token for token in _TOKENS.findall(value) if token not in FILLER_WORDS]
    months = [MONTHS[token] for token in tokens if token in MONTHS]
    numbers = [token for token in tokens if token.isdecimal()]
    years = [int(token) for token in numbers if len(token) == 4]
    days = [int(token) for token in numbers if len(token) <= 2]
    if len(months) == 1 and len(years) == 1 and len(days) == 1 and len(tokens) == 3:
        return years[0], months[0], days[0]
    raise InvalidField("db", "date_format", "not a date this gateway can read")
