"""``ph``: E.164 digits without ``+`` (spec §3.1: symbols, letters and leading zeros removed,
country code included).

Order of work: trim; drop a ``tel:`` scheme, an extension (``ext``, ``x``, ``#``, ``;ext=``),
and bracketed words such as ``(mobile)``; refuse any remaining letter (vanity numbers); map
Unicode digits (full-width, Arabic-Indic) to ASCII. Then:

* ``+`` or ``00`` prefix: international. A ``(0)`` trunk marker is dropped, leading zeros
  stripped, 7-15 digits required. No libphonenumber parse: the digits are already E.164.
* no prefix, no default region: the digits are kept (leading zeros stripped, 7-15 digits).
  The country code counts as known only if ``+<digits>`` is a valid number, so the event level can
  warn that Meta will probably not match it.
* no prefix, default region: libphonenumber completes the national number. Tried in order:
  digits that already start with the region's country code and form a valid number (so our own
  output reads back unchanged); a valid national number; a valid international one without
  ``+``; a legacy trunk ``8``/``0`` the region's metadata no longer lists (``8 90 123 45 67`` in
  UZ); the region's country code followed by a possible number; a possible national number.
  Otherwise refused. The result has at most 15 digits.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

from capigate.errors import ConfigError, InvalidField
from capigate.normalize.text import trim

MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15  # E.164 maximum
_TEL = re.compile(r"tel:", re.IGNORECASE)
# Every pattern here runs in linear time on any input: no nested or adjacent unbounded repeats
# that could match the same characters (a phone field must not be a denial-of-service vector).
_EXTENSION = re.compile(r"(?:;\s*ext=|extension|ext\.?|доб\.?|x|#)\s*\d+\s*$", re.IGNORECASE)
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
_LETTER = re.compile(r"[^\W\d_]")
_NON_DIGITS = re.compile(r"\D+")
_LEGACY_TRUNKS = ("8", "0")
_PLAIN_SEPARATORS = b" -().\t\n"


# (E.164 digits, whether they are known to start with a country code). A plain tuple: it is
# built once per phone on the hot path, where a NamedTuple or dataclass costs more than the rest.
Phone = tuple[str, bool]


def check_region(default_region: str | None) -> str | None:
    """The region as libphonenumber spells it (``UZ``); ConfigError if it does not know it."""
    if default_region is None:
        return None
    region = default_region.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"default_region {default_region!r} is not a known ISO 3166 region")
    return region


def normalize_phone(text: str, region: str | None = None) -> Phone:
    """(digits Meta expects, country code known), or InvalidField(``ph``, ``phone_*``)."""
    value = trim(text)
    if value.isascii() and "(0" not in value:  # the common case: digits and separators only
        compact = value.encode().translate(None, _PLAIN_SEPARATORS)
        if compact.isdigit():
            return _from_digits(value, compact.decode(), region)
        if compact[:1] == b"+" and compact[1:].isdigit():
            return _checked_length(compact[1:].lstrip(b"0").decode()), True
    value = _strip_decorations(value)
    if _LETTER.search(value):
        raise InvalidField("ph", "phone_letters", "the phone number contains letters")
    if not value.isascii():
        value = _ascii_digits(value)
    if value.startswith("+"):
        return _international(value), True
    return _from_digits(value, _NON_DIGITS.sub("", _TRUNK_ZERO.sub("", value, count=1)), region)


def _from_digits(value: str, digits: str, region: str | None) -> Phone:
    if value.startswith("00"):
        return _checked_length(digits.lstrip("0")), True
    if region is None:
        digits = _checked_length(digits.lstrip("0"))
        return digits, _is_valid_international(digits)
    return _national(_checked_length(digits), region), True


def _strip_decorations(value: str) -> str:
    if value[:4].lower() == "tel:":
        value = _TEL.sub("", value, count=1)
    value = _EXTENSION.sub("", value)
    return _BRACKETED.sub(_drop_if_words, value)


def _drop_if_words(match: re.Match[str]) -> str:
    text = match.group()
    return "" if _LETTER.search(text) else text


def _ascii_digits(value: str) -> str:
    chars = []
    for ch in value:
        digit = unicodedata.decimal(ch, None)
        chars.append(str(digit) if digit is not None else ("+" if ch == "＋" else ch))
    return "".join(chars)


def _international(value: str) -> str:
    digits = _NON_DIGITS.sub("", _TRUNK_ZERO.sub("", value, count=1)).lstrip("0")
    return _checked_length(digits)


def _checked_length(digits: str) -> str:
    if len(digits) < MIN_PHONE_DIGITS:
        raise InvalidField(
            "ph", "phone_too_short", f"the phone number has under {MIN_PHONE_DIGITS} digits"
        )
    if len(digits) > MAX_PHONE_DIGITS:
        raise InvalidField(
            "ph", "phone_too_long", f"the phone number has over {MAX_PHONE_DIGITS} digits"
        )
    return digits


def _is_valid_international(digits: str) -> bool:
    number = _parse("+" + digits, None)
    return number is not None and phonenumbers.is_valid_number(number)


def _national(digits: str, region: str) -> str:
    return _checked_length(_complete(digits, region))


def _complete(digits: str, region: str) -> str:
    calling_code = str(phonenumbers.country_code_for_region(region))
    with_code = digits.startswith(calling_code)
    if with_code and _is_valid_international(digits):
        return digits
    national = _parse(digits, region)
    if national is not None and phonenumbers.is_valid_number(national):
        return _e164(national)
    if _is_valid_international(digits):
        return digits
    legacy = _legacy_trunk(digits, region)
    if legacy is not None:
        return legacy
    if with_code and _is_possible("+" + digits, None):
        return digits
    if national is not None and _is_possible_number(national):
        return _e164(national)
    raise InvalidField("ph", "phone_invalid", f"not a phone number in region {region}")


def _legacy_trunk(digits: str, region: str) -> str | None:
    if not digits.startswith(_LEGACY_TRUNKS):
        return None
    number = _parse(digits[1:], region)
    if number is not None and phonenumbers.is_valid_number(number):
        return _e164(number)
    return None


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


def _is_possible(text: str, region: str | None) -> bool:
    number = _parse(text, region)
    return number is not None and _is_possible_number(number)


def _is_possible_number(number: PhoneNumber) -> bool:
    # IS_POSSIBLE_LOCAL_ONLY (a number without its area code) does not count.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == ValidationResult.IS_POSSIBLE)


def _e164(number: PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))[1:]
