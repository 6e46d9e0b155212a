"""``country`` and ``zp``, and the table lookups behind ``st``.

Country: letters only (``U.S.A.`` -> ``usa``), accents folded, then looked up among ISO 3166-1
alpha-2 and alpha-3 codes, English names from ``pycountry`` and a table of aliases (``UK``,
``England``, ``Oʻzbekiston``, ``Узбекистан``). Anything else, including Kosovo's user-assigned
``XK``, is refused: Meta validates against the ISO list, and guessing (Meta's parameter builder
truncates ``Great Britain`` to ``gr``, Greece) sends a wrong country.

Postcode: lowercase, spaces and dashes removed, everything else kept (``SW1A 1AA`` -> ``sw1a1aa``,
``00-950`` -> ``00950``). Only a US ZIP+4 (5 + 4 digits, with a dash, a space or nothing between)
is cut to its first 5 digits. Fewer than 2 characters left: refused.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

from capigate.errors import InvalidField
from capigate.normalize.regions import COUNTRY_ALIASES, STATE_CODES
from capigate.normalize.text import LETTERS_TABLE, DeleteTable, fold_accents, require, squeeze, trim

MIN_ZIP_CHARS = 2
_EXTRA_NAME_ATTRS = ("official_name", "common_name")
_ZIP_PLUS_4 = re.compile(r"(\d{5})[ \-]?\d{4}")


def lookup_key(text: str) -> str:
    """Lowercase letters only, accents folded: the key of the region and country tables."""
    return fold_accents(squeeze(text, LETTERS_TABLE))


def _folded(table: dict[str, str]) -> dict[str, str]:
    return {fold_accents(key): value for key, value in table.items()}


@cache
def country_table() -> dict[str, str]:
    """Country names, alpha-3 codes and aliases (lookup keys) to lowercase alpha-2."""
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2.lower()
        names = [country.alpha_3, country.name]
        names.extend(getattr(country, attr, country.name) for attr in _EXTRA_NAME_ATTRS)
        table.update((lookup_key(name), code) for name in names)
        table[code] = code
    table.update(_folded(COUNTRY_ALIASES))
    return table


STATE_TABLE = _folded(STATE_CODES)  # US state and Canadian province names (folded) to codes


def state_code(letters: str) -> str | None:
    """The 2-letter code of a US state, DC, a US territory or a Canadian province, else None."""
    return STATE_TABLE.get(fold_accents(letters))


@lru_cache(maxsize=1024)
def normalize_country(text: str) -> str:
    """Lowercase ISO 3166-1 alpha-2, or InvalidField(``country``, ``country_unknown``)."""
    key = require("country", lookup_key(trim(text)), "country")
    code = country_table().get(key)
    if code is None:
        raise InvalidField("country", "country_unknown", "not an ISO 3166-1 country name or code")
    return code


def _is_zip_separator(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Pd", "Zs", "Zl", "Zp", "Cc", "Cf")


_ZIP_TABLE = DeleteTable(_is_zip_separator)


def normalize_zip(text: str) -> str:
    """The postcode Meta expects, or InvalidField(``zp``, ``zip_too_short``)."""
    value = trim(text)
    zip_plus_4 = _ZIP_PLUS_4.fullmatch(value)
    if zip_plus_4 and value.isascii():
        return zip_plus_4.group(1)
    value = squeeze(value, _ZIP_TABLE)
    if len(value) < MIN_ZIP_CHARS:
        raise InvalidField(
            "zp", "zip_too_short", f"a postcode has at least {MIN_ZIP_CHARS} characters"
        )
    return value
