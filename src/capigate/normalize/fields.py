"""One field at a time: the rule for each key, and the value or hash Meta receives for it."""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256

from capigate.errors import InvalidField
from capigate.normalize.dates import MAX_BIRTH_YEAR, normalize_birth_date
from capigate.normalize.email import normalize_email
from capigate.normalize.gender import normalize_gender
from capigate.normalize.geo import normalize_country, normalize_zip
from capigate.normalize.hashed import SHA256_HEX_LEN, canonical_hashed, is_hashed
from capigate.normalize.identifiers import RAW_CHECKS, normalize_external_id, validate_raw
from capigate.normalize.keys import HASHED_KEYS, NEVER_HASH_KEYS
from capigate.normalize.names import (
    normalize_city,
    normalize_first_name,
    normalize_last_name,
    normalize_state,
)
from capigate.normalize.phone import check_region, normalize_phone
from capigate.normalize.text import require, to_text, trim

Rule = Callable[[str, str | None, int], str]

_RULES: dict[str, Rule] = {
    "em": lambda text, region, max_year: normalize_email(text),
    "ph": lambda text, region, max_year: normalize_phone(text, region)[0],
    "fn": lambda text, region, max_year: normalize_first_name(text),
    "ln": lambda text, region, max_year: normalize_last_name(text),
    "ge": lambda text, region, max_year: normalize_gender(text),
    "db": normalize_birth_date,
    "ct": lambda text, region, max_year: normalize_city(text),
    "st": lambda text, region, max_year: normalize_state(text),
    "zp": lambda text, region, max_year: normalize_zip(text),
    "country": lambda text, region, max_year: normalize_country(text),
    "external_id": lambda text, region, max_year: normalize_external_id(text),
}


# Values that repeat across events (a city, a first name, a country) are hashed once. The
# direct identifiers em, ph and external_id are never kept: each is unique to a person.
CACHED_KEYS = frozenset({"fn", "ln", "ge", "db", "ct", "st", "zp", "country"})
MAX_CACHED_HASHES = 50_000  # entries; the cache is emptied when full
_hash_cache: dict[tuple[str, str, str | None, int], str] = {}


def is_known_key(key: object) -> bool:
    """True for every ``user_data`` key Meta documents (hashed or raw)."""
    return isinstance(key, str) and (key in HASHED_KEYS or key in NEVER_HASH_KEYS)


def _unknown(key: object) -> InvalidField:
    return InvalidField(str(key), "unknown_key", f"{key!r} is not a Meta user_data key")


def prepared(key: str, value: object) -> str:
    """The value as trimmed text, or InvalidField (``bad_type``, ``empty``, ``bad_text``)."""
    if type(value) is str and value.isascii():
        return require(key, value.strip(), key)  # no invisible characters in ASCII
    return require(key, trim(to_text(key, value)), key)


def normalize_text(key: str, text: str, region: str | None, max_year: int) -> str:
    """The plain normalized value of prepared ``text``; hashes come back canonical."""
    rule = _RULES.get(key)
    if rule is None:
        return validate_raw(key, text)
    if len(text) >= SHA256_HEX_LEN and is_hashed(text):
        return canonical_hashed(text)
    return rule(text, region, max_year)


def _hash_of(rule: Callable[[str], str]) -> Callable[[str], str]:
    def hash_(text: str) -> str:
        if len(text) >= SHA256_HEX_LEN and is_hashed(text):
            return canonical_hashed(text)
        return sha256(rule(text).encode()).hexdigest()

    return hash_


# ``hash_text`` for the keys whose result depends on the text alone, one call deep (hot path).
TEXT_RULES: dict[str, Callable[[str], str]] = {
    **RAW_CHECKS,
    "em": _hash_of(normalize_email),
    "external_id": _hash_of(normalize_external_id),
}


def hash_text(key: str, text: str, region: str | None, max_year: int) -> str:
    """What Meta receives for prepared ``text``: SHA-256 hex, a canonical hash, or the raw value."""
    text_rule = TEXT_RULES.get(key)
    if text_rule is not None:  # never-hash keys, em, external_id
        return text_rule(text)
    rule = _RULES[key]
    if len(text) >= SHA256_HEX_LEN and is_hashed(text):
        return canonical_hashed(text)
    if key not in CACHED_KEYS:
        return sha256(rule(text, region, max_year).encode()).hexdigest()
    cache_key = (key, text, region, max_year)
    digest = _hash_cache.get(cache_key)
    if digest is None:
        digest = sha256(rule(text, region, max_year).encode()).hexdigest()
        if len(_hash_cache) >= MAX_CACHED_HASHES:
            _hash_cache.clear()
        _hash_cache[cache_key] = digest
    return digest


def hash_phone(text: str, region: str | None) -> tuple[str, bool]:
    """``ph`` as Meta receives it, and whether its digits are known to carry a country code."""
    if len(text) >= SHA256_HEX_LEN and is_hashed(text):
        return canonical_hashed(text), True
    digits, has_country_code = normalize_phone(text, region)
    return sha256(digits.encode()).hexdigest(), has_country_code


def normalize_field(
    key: str,
    value: object,
    *,
    default_region: str | None = None,
    max_birth_year: int = MAX_BIRTH_YEAR,
) -> str:
    """The normalized plain value of one ``user_data`` field, as Meta's rules define it.

    ``default_region`` (ISO 3166-1 alpha-2) completes national phone numbers and orders day and
    month in dates. Raises InvalidField naming the key and the rule the value breaks.
    """
    if not is_known_key(key):
        raise _unknown(key)
    region = check_region(default_region)
    return normalize_text(key, prepared(key, value), region, max_birth_year)


def hash_field(
    key: str,
    value: object,
    *,
    default_region: str | None = None,
    max_birth_year: int = MAX_BIRTH_YEAR,
) -> str:
    """What Meta receives for one ``user_data`` field.

    Hashed keys: the lowercase hex SHA-256 of the normalized value, or an already-hashed value
    passed through (see ``is_hashed``). Never-hash keys: the validated value, unchanged.
    """
    if not is_known_key(key):
        raise _unknown(key)
    region = check_region(default_region)
    return hash_text(key, prepared(key, value), region, max_birth_year)
