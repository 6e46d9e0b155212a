"""libphonenumber's answers for a string of ASCII digits, without its generic work.

``phonenumbers.parse`` spends most of its time on what a digit string never has: an RFC 3966
context, an extension, letters or Unicode digits to normalize, a viability regex. This module
answers the same questions for ASCII digits only, following the library's own steps
(``parse``, ``_maybe_extract_country_code``, ``_maybe_strip_national_prefix_carrier_code``,
``_test_number_length``, ``is_valid_number``) over tables compiled once per region from the
library's metadata. A number is ``(country calling code, national significant number)``.

Anything these tables cannot settle with certainty (a region the library does not know, metadata
of a shape the steps below do not expect) raises ``Unsure``: the caller then asks the library.
tests/unit/test_normalize_phone_fast.py compares every answer with the library's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, REGION_CODE_FOR_NON_GEO_ENTITY, PhoneMetadata
from phonenumbers.phonemetadata import PhoneNumberDesc

Number = tuple[int, str]  # (country calling code, national significant number)
T = TypeVar("T")

MIN_NSN_DIGITS = 2  # libphonenumber's _MIN_LENGTH_FOR_NSN
MAX_NSN_DIGITS = 17  # libphonenumber's _MAX_LENGTH_FOR_NSN
MAX_CODE_DIGITS = 3  # a country calling code has 1-3 digits
MAX_FAST_DIGITS = 32  # longer strings never come from a phone field (15-digit cap): library path

# _test_number_length's answers, the ones the steps below tell apart.
_POSSIBLE, _LOCAL_ONLY, _TOO_SHORT, _TOO_LONG, _INVALID_LENGTH = range(5)
_TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line",
)  # fmt: skip


class Unsure(Exception):
    """The tables cannot answer with certainty: ask libphonenumber."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """One region's metadata, compiled for digit strings."""

    country_code: int
    code_text: str
    idd: re.Pattern[str] | None  # international_prefix
    prefix: re.Pattern[str] | None  # national_prefix_for_parsing
    transform: str | None  # national_prefix_transform_rule
    general: re.Pattern[str] | None  # general_desc pattern
    lengths: tuple[int, ...]  # general_desc possible lengths, ascending
    local_lengths: frozenset[int]
    valid_by_length: dict[int, re.Pattern[str]]  # any type pattern a length may match
    leading: re.Pattern[str] | None  # leading_digits (regions sharing a calling code)


@dataclass(frozen=True, slots=True)
class _Code:
    """A calling code: the plan libphonenumber uses for it, and its regions for validity."""

    main: _Plan
    regions: tuple[_Plan, ...]


_CODE_TEXTS = {str(code): code for code in COUNTRY_CODE_TO_REGION_CODE}
_CODE_SIZES = range(1, MAX_CODE_DIGITS + 1)
# Built on first use, at most one per supported region and per known calling code. None: the
# metadata did not fit (built once, then the library answers).
_REGIONS: dict[str, _Plan | None] = {}
_CODES: dict[int, _Code | None] = {}


def digits_only(text: str) -> bool:
    """Whether this module may answer for ``text``."""
    return text.isascii() and text.isdigit() and len(text) <= MAX_FAST_DIGITS


def calling_code(region: str) -> str:
    """``str(phonenumbers.country_code_for_region(region))``."""
    return _region(region).code_text


def international(digits: str) -> Number | None:
    """``phonenumbers.parse("+" + digits, None)``, or None where it raises."""
    if len(digits) <= MIN_NSN_DIGITS:
        return None
    code, rest = _split_code(digits)
    if code == 0:
        return None
    return _finish(code, _code(code).main, rest)


def national(digits: str, region: str) -> Number | None:
    """``phonenumbers.parse(digits, region)``, or None where it raises."""
    plan = _region(region)
    if len(digits) < MIN_NSN_DIGITS:
        return None
    if plan.idd is not None:
        match = plan.idd.match(digits)
        if match is not None and digits[match.end() : match.end() + 1] != "0":
            return international(digits[match.end() :])  # what follows the IDD
    if digits.startswith(plan.code_text):
        national_number = _strip_national_prefix(digits[len(plan.code_text) :], plan)
        if (
            not _general_match(digits, plan) and _general_match(national_number, plan)
        ) or _length_result(digits, plan) == _TOO_LONG:
            return _finish(plan.country_code, _code(plan.country_code).main, national_number)
    return _finish(plan.country_code, plan, digits)


def is_valid(number: Number) -> bool:
    """``phonenumbers.is_valid_number``."""
    code_number, nsn = number
    if code_number not in COUNTRY_CODE_TO_REGION_CODE:
        return False
    code = _code(code_number)
    if len(code.regions) == 1:
        return _valid_in(code.main, nsn)
    for plan in code.regions:  # region_code_for_number picks the region, then it is checked
        if plan.leading is not None:
            if plan.leading.match(nsn):
                return _valid_in(plan, nsn)
        elif _valid_in(plan, nsn):
            return True
    return False


def is_possible(number: Number) -> bool:
    """``phonenumbers.is_possible_number_with_reason(...) == IS_POSSIBLE``."""
    code_number, nsn = number
    if code_number not in COUNTRY_CODE_TO_REGION_CODE:
        return False
    return _length_result(nsn, _code(code_number).main) == _POSSIBLE


def e164(number: Number) -> str:
    """``phonenumbers.format_number(..., E164)`` without its ``+``."""
    return f"{number[0]}{number[1]}"


def _split_code(digits: str) -> tuple[int, str]:
    """``_extract_country_code``: (calling code, rest), or (0, digits). A code never starts with
    0, so its text is the digits' prefix exactly."""
    if digits[:1] != "0":
        for size in _CODE_SIZES:
            code = _CODE_TEXTS.get(digits[:size])
            if code is not None:
                return code, digits[size:]
    return 0, digits


def _finish(code: int, plan: _Plan, nsn: str) -> Number | None:
    """The end of ``parse``: national prefix stripped when what is left has a usable length."""
    if len(nsn) < MIN_NSN_DIGITS:
        return None
    stripped = _strip_national_prefix(nsn, plan)
    if _length_result(stripped, plan) in (_POSSIBLE, _TOO_LONG):
        nsn = stripped
    if not MIN_NSN_DIGITS <= len(nsn) <= MAX_NSN_DIGITS:
        return None
    return code, nsn


def _strip_national_prefix(number: str, plan: _Plan) -> str:
    """``_maybe_strip_national_prefix_carrier_code``, the number only."""
    if not number or plan.prefix is None:
        return number
    match = plan.prefix.match(number)
    if match is None:
        return number
    viable = _general_match(number, plan)
    if plan.transform is None or match.groups()[-1] is None:
        stripped = number[match.end() :]
    else:
        stripped = plan.prefix.sub(plan.transform, number, count=1)
    if viable and not _general_match(stripped, plan):
        return number
    return stripped


def _general_match(number: str, plan: _Plan) -> bool:
    return plan.general is not None and plan.general.fullmatch(number) is not None


def _length_result(nsn: str, plan: _Plan) -> int:
    """``_test_number_length`` for the general description."""
    size = len(nsn)
    if size in plan.local_lengths:
        return _LOCAL_ONLY
    lengths = plan.lengths
    if lengths[0] == size:
        return _POSSIBLE
    if lengths[0] > size:
        return _TOO_SHORT
    if lengths[-1] < size:
        return _TOO_LONG
    return _POSSIBLE if size in lengths[1:] else _INVALID_LENGTH


def _valid_in(plan: _Plan, nsn: str) -> bool:
    """``_number_type_helper(...) != UNKNOWN``: the general pattern, then any type's."""
    types = plan.valid_by_length.get(len(nsn))
    return types is not None and _general_match(nsn, plan) and types.fullmatch(nsn) is not None


def _region(region: str) -> _Plan:
    plan = _REGIONS.get(region)
    if plan is None and region not in _REGIONS and region in phonenumbers.SUPPORTED_REGIONS:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        plan = _REGIONS[region] = _or_none(lambda: _plan(metadata))
    if plan is None:
        raise Unsure(region)
    return plan


def _code(code: int) -> _Code:
    """A known calling code's tables (callers check it is in COUNTRY_CODE_TO_REGION_CODE)."""
    found = _CODES.get(code)
    if found is None and code not in _CODES:
        regions = COUNTRY_CODE_TO_REGION_CODE[code]
        found = _CODES[code] = _or_none(lambda: _build_code(code, regions))
    if found is None:
        raise Unsure(code)
    return found


def _or_none(build: Callable[[], T]) -> T | None:
    try:
        return build()
    except Unsure:
        return None


def _build_code(code: int, regions: tuple[str, ...]) -> _Code:
    if regions[0] == REGION_CODE_FOR_NON_GEO_ENTITY:
        if len(regions) != 1:
            raise Unsure(code)
        main = _plan(PhoneMetadata.metadata_for_nongeo_region(code, None))
        return _Code(main, (main,))
    plans = tuple(_region(region) for region in regions)
    if any(plan.country_code != code for plan in plans):
        raise Unsure(code)
    return _Code(plans[0], plans)


def _plan(metadata: PhoneMetadata | None) -> _Plan:
    if metadata is None or metadata.general_desc is None:
        raise Unsure("no metadata")
    general = metadata.general_desc
    if metadata.country_code is None:
        raise Unsure(metadata.id)
    lengths = tuple(general.possible_length)
    if not lengths or list(lengths) != sorted(lengths):
        raise Unsure(metadata.id)
    prefix = _compiled(metadata.national_prefix_for_parsing)
    transform = metadata.national_prefix_transform_rule or None
    if transform is not None and (prefix is None or prefix.groups == 0):
        raise Unsure(metadata.id)  # the library itself would fail on such metadata
    return _Plan(
        country_code=metadata.country_code,
        code_text=str(metadata.country_code),
        idd=_pattern_or_none(metadata.international_prefix),
        prefix=prefix,
        transform=transform,
        general=_compiled(general.national_number_pattern),
        lengths=lengths,
        local_lengths=frozenset(general.possible_length_local_only),
        valid_by_length=_valid_by_length(metadata, lengths),
        leading=_pattern_or_none(metadata.leading_digits),
    )


def _valid_by_length(
    metadata: PhoneMetadata, lengths: tuple[int, ...]
) -> dict[int, re.Pattern[str]]:
    """Per length, one alternation of the type patterns that allow it (one match, not ten)."""
    names = _TYPES if metadata.same_mobile_and_fixed_line_pattern else (*_TYPES, "mobile")
    descs = [getattr(metadata, name) for name in names]
    table = {}
    for size in lengths:
        patterns = [
            f"(?:{desc.national_number_pattern})"
            for desc in descs
            if _desc_allows(desc, size) and desc.national_number_pattern
        ]
        if patterns:
            try:
                table[size] = re.compile("|".join(patterns))
            except re.error as error:  # a pattern that cannot be joined: ask the library
                raise Unsure(metadata.id) from error
    return table


def _desc_allows(desc: PhoneNumberDesc | None, size: int) -> bool:
    return desc is not None and (not desc.possible_length or size in desc.possible_length)


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    """A pattern the library only uses when it is not empty."""
    return re.compile(pattern) if pattern else None


def _pattern_or_none(pattern: str | None) -> re.Pattern[str] | None:
    """A pattern the library uses whenever it is set, even empty."""
    return None if pattern is None else re.compile(pattern)
