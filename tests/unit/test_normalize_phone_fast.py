"""phone_fast answers exactly as libphonenumber does, for every region and any digit string.

Each test compares the fast path with the library's (``phone.LIBRARY``): the primitives (parse with
and without a region, validity, possibility, E.164) and the whole completion rule (same digits or
same InvalidField rule), then ``normalize_phone`` with the fast path switched off.
CAPIGATE_PHONE_FAST_CASES raises the number of seeded random cases for a longer run.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from capigate.errors import InvalidField
from capigate.normalize import phone, phone_fast
from capigate.normalize.phone import LIBRARY, complete, normalize_phone

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_core import _phone

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NON_GEO_CODES = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
RANDOM_CASES = int(os.environ.get("CAPIGATE_PHONE_FAST_CASES", "10000"))
COMPLETE_EVERY = 10  # the whole rule costs the library several parses: one case in ten
MAX_RANDOM_DIGITS = 17
TYPES = [value for name, value in vars(PhoneNumberType).items() if name.isupper()]
SEED = 20261122

Outcome = tuple[str, str]  # ("ok", digits) or ("invalid", rule)


@pytest.fixture(autouse=True, scope="module")
def _library_keeps_its_patterns() -> None:
    """Cycling through every region overflows the re module's cache, and the library would spend
    the test recompiling its patterns; its own cache changes no answer, only the time."""
    phonenumbers.enable_pattern_cache()


def _library_number(number: PhoneNumber | None) -> phone_fast.Number | None:
    if number is None:
        return None
    return number.country_code or 0, phonenumbers.national_significant_number(number)


def _outcome(run: Callable[[], str]) -> Outcome:
    try:
        return "ok", run()
    except InvalidField as error:
        return "invalid", error.rule


def _check_digits(digits: str, region: str) -> None:
    """Every answer the fast path gives for ``digits`` in ``region`` is the library's."""
    _check_primitives(digits, region)
    fast_outcome = _outcome(lambda: complete(digits, region, phone_fast))
    assert fast_outcome == _outcome(lambda: complete(digits, region, LIBRARY)), (digits, region)


def _check_primitives(digits: str, region: str) -> None:
    """Parse, validity, possibility and E.164 agree (``complete`` is built only from these)."""
    library_national = LIBRARY.national(digits, region)
    library_international = LIBRARY.international(digits)
    national = phone_fast.national(digits, region)
    international = phone_fast.international(digits)
    assert national == _library_number(library_national), (digits, region)
    assert international == _library_number(library_international), digits
    for fast, slow in ((national, library_national), (international, library_international)):
        if fast is not None and slow is not None:
            assert phone_fast.is_valid(fast) == LIBRARY.is_valid(slow), (digits, region)
            assert phone_fast.is_possible(fast) == LIBRARY.is_possible(slow), (digits, region)
            assert phone_fast.e164(fast) == LIBRARY.e164(slow), (digits, region)
    assert phone_fast.calling_code(region) == LIBRARY.calling_code(region)


def _random_digits(rng: random.Random) -> str:
    return "".join(rng.choices("0123456789", k=rng.randint(1, MAX_RANDOM_DIGITS)))


def test_random_digit_strings_in_every_region() -> None:
    """A seeded brute force: random digit strings of 1-17 digits, spread over every region."""
    rng = random.Random(SEED)
    for case in range(RANDOM_CASES):
        check = _check_digits if case % COMPLETE_EVERY == 0 else _check_primitives
        check(_random_digits(rng), REGIONS[case % len(REGIONS)])


def _variants(number: PhoneNumber, metadata: PhoneMetadata) -> Iterator[str]:
    """The ways people and systems write a number: national, international, prefixed, damaged."""
    nsn = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    written = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    national = "".join(ch for ch in written if ch.isdigit())
    idd = metadata.preferred_international_prefix or metadata.international_prefix or ""
    yield from (nsn, "0" + nsn, "8" + nsn, nsn[:-1], nsn + "5", _last_changed(nsn))
    yield from (national, "8" + national, "00" + nsn)
    yield from (code + nsn, code + nsn[:-1], _last_changed(code + nsn))
    if idd.isdigit():
        yield idd + code + nsn


def _last_changed(digits: str) -> str:
    return digits[:-1] + str((int(digits[-1]) + 1) % 10)


def _example_numbers() -> Iterator[tuple[PhoneNumber, str]]:
    for region in REGIONS:
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                yield number, region


def test_example_numbers_of_every_type_and_region() -> None:
    """The metadata's example numbers of every type, written every usual way, in their region;
    with their country code, in another region too."""
    rng = random.Random(SEED)
    for number, region in _example_numbers():
        metadata = PhoneMetadata.metadata_for_region(region)
        assert metadata is not None
        for digits in dict.fromkeys(_variants(number, metadata)):
            if digits:
                _check_digits(digits, region)
        international = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
        _check_digits(international, rng.choice(REGIONS))


@pytest.mark.parametrize("code", NON_GEO_CODES)
def test_non_geographic_numbers(code: int) -> None:
    """Numbers of calling codes without a region (800, 882, ...) read the same way."""
    number = phonenumbers.example_number_for_non_geo_entity(code)
    assert number is not None
    nsn = phonenumbers.national_significant_number(number)
    for digits in (str(code) + nsn, str(code) + nsn[:-1], "00" + str(code) + nsn, nsn):
        for region in ("UZ", "US", "GB", "RU", "DE"):
            _check_digits(digits, region)


@settings(max_examples=500, deadline=None)
@given(
    digits=st.text("0123456789", min_size=1, max_size=MAX_RANDOM_DIGITS),
    region=st.sampled_from(REGIONS),
)
@example(digits="901234567", region="UZ")
@example(digits="998901234567", region="UZ")
@example(digits="8901234567", region="UZ")
@example(digits="0901234567", region="UZ")
@example(digits="15555555555", region="US")
@example(digits="442079460958", region="US")
@example(digits="81044207946095", region="RU")
@example(digits="0011442079460958", region="AU")
def test_any_digit_string(digits: str, region: str) -> None:
    """hypothesis: any digit string in any region gets the library's answers."""
    _check_digits(digits, region)


def _normalized(text: str, region: str | None) -> Outcome:
    return _outcome(lambda: "{}:{}".format(*normalize_phone(text, region)))


def test_bench_phones_match_the_library_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's phones, typed as people type them, normalize the same with the fast path
    switched off."""
    rng = random.Random(SEED)
    texts = [_phone(rng) for _ in range(3000)]
    regions = ["UZ", "US", "RU", "GB", "DE", None]
    fast = [_normalized(text, region) for text in texts for region in regions]
    monkeypatch.setattr(phone_fast, "digits_only", lambda _text: False)
    assert fast == [_normalized(text, region) for text in texts for region in regions]


def test_the_fast_path_is_taken_for_digits() -> None:
    """Plain ASCII digits go the fast way; other text, and unknown regions, the library's."""
    assert phone_fast.digits_only("998901234567")
    assert not phone_fast.digits_only("٩٩٨")
    assert not phone_fast.digits_only("+998")
    assert not phone_fast.digits_only("9" * (phone_fast.MAX_FAST_DIGITS + 1))
    with pytest.raises(phone_fast.Unsure):
        phone_fast.national("901234567", "XX")
    assert phone._complete("901234567", "UZ") == "998901234567"


def test_metadata_that_does_not_fit_is_left_to_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    """A region whose metadata the tables cannot hold is marked once; the library answers."""

    def refuse(metadata: PhoneMetadata | None) -> None:
        raise phone_fast.Unsure("unexpected metadata")

    monkeypatch.setattr(phone_fast, "_REGIONS", {})
    monkeypatch.setattr(phone_fast, "_plan", refuse)
    with pytest.raises(phone_fast.Unsure):
        phone_fast.national("901234567", "UZ")
    assert phone_fast._REGIONS == {"UZ": None}
    assert phone._complete("901234567", "UZ") == "998901234567"
    assert normalize_phone("8 90 123 45 67", "UZ") == ("998901234567", True)
