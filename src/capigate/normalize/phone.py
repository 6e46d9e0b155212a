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

For a string of ASCII digits, libphonenumber's answers come from ``phone_fast``: the same answers
(tests compare them with the library's) without the library's generic parsing work.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol, TypeVar

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

from capigate.errors import ConfigError, InvalidField
from capigate.normalize import phone_fast
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
N = TypeVar("N")


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
    if phone_fast.digits_only(digits):
        try:
            return _known_code(digits, phone_fast)
        except phone_fast.Unsure:
            pass
    return _known_code(digits, LIBRARY)


def _national(digits: str, region: str) -> str:
    return _checked_length(_complete(digits, region))


def _complete(digits: str, region: str) -> str:
    if phone_fast.digits_only(digits):
        try:
            return complete(digits, region, phone_fast)
        except phone_fast.Unsure:
            pass
    return complete(digits, region, LIBRARY)


class Numbers(Protocol[N]):
    """What completing a national number asks libphonenumber: the library itself (``LIBRARY``,
    any text) or ``phone_fast`` (the same answers for ASCII digits, several times cheaper)."""

    def calling_code(self, region: str) -> str: ...
    def international(self, digits: str) -> N | None: ...  # parse("+" + digits)
    def national(self, digits: str, region: str) -> N | None: ...  # parse(digits, region)
    def is_valid(self, number: N) -> bool: ...
    def is_possible(self, number: N) -> bool: ...
    def e164(self, number: N) -> str: ...


def complete(digits: str, region: str, numbers: Numbers[N]) -> str:
    """The national number completed as the module docstring says, or InvalidField."""
    with_code = digits.startswith(numbers.calling_code(region))
    if with_code and _known_code(digits, numbers):
        return digits
    national = numbers.national(digits, region)
    if national is not None and numbers.is_valid(national):
        return numbers.e164(national)
    if _known_code(digits, numbers):
        return digits
    legacy = _legacy_trunk(digits, region, numbers)
    if legacy is not None:
        return legacy
    if with_code and _possible(numbers.international(digits), numbers):
        return digits
    if national is not None and numbers.is_possible(national):
        return numbers.e164(national)
    raise InvalidField("ph", "phone_invalid", f"not a phone number in region {region}")


def _known_code(digits: str, numbers: Numbers[N]) -> bool:
    number = numbers.international(digits)
    return number is not None and numbers.is_valid(number)


def _possible(number: N | None, numbers: Numbers[N]) -> bool:
    return number is not None and numbers.is_possible(number)


def _legacy_trunk(digits: str, region: str, numbers: Numbers[N]) -> str | None:
    if not digits.startswith(_LEGACY_TRUNKS):
        return None
    number = numbers.national(digits[1:], region)
    if number is not None and numbers.is_valid(number):
        return numbers.e164(number)
    return None


class _Library:
    """libphonenumber's own parse and checks."""

    @staticmethod
    def calling_code(region: str) -> str:
        return str(phonenumbers.country_code_for_region(region))

    @staticmethod
    def international(digits: str) -> PhoneNumber | None:
        return _parse("+" + digits, None)

    @staticmethod
    def national(digits: str, region: str) -> PhoneNumber | None:
        return _parse(digits, region)

    @staticmethod
    def is_valid(number: PhoneNumber) -> bool:
        return bool(phonenumbers.is_valid_number(number))

    @staticmethod
    def is_possible(number: PhoneNumber) -> bool:
        # IS_POSSIBLE_LOCAL_ONLY (a number without its area code) does not count.
        reason = phonenumbers.is_possible_number_with_reason(number)
        return bool(reason == ValidationResult.IS_POSSIBLE)

    @staticmethod
    def e164(number: PhoneNumber) -> str:
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))[1:]


LIBRARY: Numbers[PhoneNumber] = _Library()


def _parse(text: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None
