"""The C short way of normalize_user_data (``capigate._cuserdata``) gives exactly the pure
path's results: whole user_data objects compared both ways, each C rule compared with its Python
rule, SHA-256 compared with hashlib, and the module's memory staying flat."""

from __future__ import annotations

import hashlib
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from capigate.errors import InvalidField
from capigate.normalize import memo, normalize_user_data, userdata
from capigate.normalize.dates import MAX_BIRTH_YEAR, MONTH_FIRST_REGIONS
from capigate.normalize.fields import TEXT_RULES, hash_phone
from capigate.normalize.keys import USER_DATA_ORDER

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from bench_core import generate

from tests.native import LEAK_CALLS, MAX_RSS_GROWTH_KIB, require_native, rss_kib

_cuserdata = require_native("_cuserdata")

MAX_YEAR = 2025
REGIONS = (None, "UZ", "US")
HASH = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"


@pytest.fixture(autouse=True)
def _native_on() -> Iterator[None]:
    assert userdata.use_native(True)
    yield
    userdata.use_native(True)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def both_ways(raw: Any, region: str | None) -> tuple[Any, Any]:
    """normalize_user_data of ``raw`` the C way and the pure way."""
    userdata.use_native(True)
    native = normalize_user_data(raw, default_region=region, max_birth_year=MAX_YEAR)
    userdata.use_native(False)
    pure = normalize_user_data(raw, default_region=region, max_birth_year=MAX_YEAR)
    userdata.use_native(True)
    return native, pure


def reference(key: str, value: str, region: str | None) -> str | None:
    """The pure rule for one str value on the short way, without memos: None for a finding."""
    if key in TEXT_RULES:
        text = value.strip()
        if not value.isascii() or not text:
            return None
        try:
            return TEXT_RULES[key](text)
        except InvalidField:
            return None
    if key == "ph":
        return _phone_reference(value, region)
    return userdata._by_rule(key, value, region, MAX_YEAR)


def _phone_reference(value: str, region: str | None) -> str | None:
    """``ph`` on the short way: its hash when its country code is known, else None."""
    if not value.isascii() or not (text := value.strip()):
        return None
    try:
        hashed, has_country_code = hash_phone(text, region)
    except InvalidField:
        return None
    return hashed if has_country_code else None


def decide(key: str, value: str, region: str | None) -> str | None:
    day_first = region is not None and region not in MONTH_FIRST_REGIONS
    return _cuserdata.decide(key, value, day_first, MAX_YEAR)


# --- build and fallback -------------------------------------------------------------------


def test_ci_builds_the_native_module() -> None:
    """Under CI the module must import, so CI never measures or tests the slow path alone."""
    if os.environ.get("CI") == "true":
        assert userdata._load_native() is not None


def test_keys_are_in_metas_order() -> None:
    """The C key table is keys.USER_DATA_ORDER, so the C output has Meta's key order."""
    assert _cuserdata.KEYS == USER_DATA_ORDER


def test_without_the_module_the_pure_way_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the module cannot be imported, the pure short way is used, with the same result."""
    monkeypatch.setitem(sys.modules, "capigate._cuserdata", None)
    assert userdata._load_native() is None
    assert userdata.use_native(True) is False
    out, findings = normalize_user_data({"em": "A@B.co"})
    assert out == {"em": sha("a@b.co")}
    assert findings == []


# --- SHA-256 ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.binary(min_size=0, max_size=300))
@example(b"")
@example(b"a" * 55)
@example(b"a" * 56)
@example(b"a" * 64)
@example(b"a" * 119)
@example(b"a" * 120)
def test_sha256_matches_hashlib(data: bytes) -> None:
    """Our FIPS 180-4 SHA-256 gives hashlib's lowercase hex, across block boundaries, with the
    portable code and with the CPU's SHA extensions (when it has them)."""
    expected = hashlib.sha256(data).hexdigest()
    assert _cuserdata.sha256_hex(data, False) == expected
    assert _cuserdata.sha256_hex(data, True) == expected


@pytest.mark.parametrize("sha_ni", [False, True])
def test_sha256_of_every_length_up_to_five_blocks(sha_ni: bool) -> None:
    """Every padding case: lengths 0..320 (one to six blocks with the padding)."""
    data = bytes(range(256)) * 2
    for n in range(321):
        assert _cuserdata.sha256_hex(data[:n], sha_ni) == hashlib.sha256(data[:n]).hexdigest()


# --- whole user_data objects, both ways ---------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("users", [400, 2000])
def test_bench_events_give_the_same_result_both_ways(region: str | None, users: int) -> None:
    """The bench generator's user_data (funnel and unique people) normalize identically."""
    memo.clear()
    for event in generate(2000, users, seed=users):
        native, pure = both_ways(event["user_data"], region)
        assert native == pure
        assert list(native[0]) == list(pure[0])


ASCII_TEXT = st.text(st.characters(max_codepoint=127), max_size=20)
ODD_TEXT = st.text(
    st.sampled_from(" \t\n\x0b\x1c\x1f\u00a0\u200bé'ʻ-.@+()/:0123456789aZ"), max_size=12
)
EMAILS = st.builds(
    lambda local, domain, tld, pad: f"{pad}{local}@{domain}.{tld}{pad}",
    st.from_regex(r"[A-Za-z0-9._%+'!-]{1,8}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{1,8}(\.[A-Za-z0-9-]{1,5})?", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9-]{1,5}", fullmatch=True),
    st.sampled_from(["", " ", "\t"]),
)
PHONES = st.from_regex(r"(\+|00|\(0|0)?[0-9 ().\-+]{0,20}", fullmatch=True)
DATES = st.builds(
    lambda a, s1, b, s2, c: f"{a}{s1}{b}{s2}{c}",
    st.integers(0, 2100).map(str),
    st.sampled_from(["-", "/", ".", " ", "", ". "]),
    st.integers(0, 40).map(str),
    st.sampled_from(["-", "/", ".", " ", ""]),
    st.sampled_from(["1", "05", "12", "13", "29", "31", "1990", "2024", "2025", "2026", "1899"]),
) | st.from_regex(r"[0-9]{8}", fullmatch=True)
WORD_DATES = st.lists(
    st.sampled_from(["January", "sept", "MAY", "yanvar", "of", "th", "y", "foo", "5", "31", "1990"])
    | st.integers(0, 3000).map(str),
    min_size=1,
    max_size=5,
).map(" ".join)
IPV6 = st.lists(st.text(st.sampled_from("0aF9g"), max_size=5), min_size=1, max_size=10).map(
    ":".join
)
IPS = IPV6 | st.builds(
    ".".join,
    st.lists(st.sampled_from(["0", "1", "00", "01", "10", "127", "192", "255", "256", "999"]),
             min_size=3, max_size=5),
) | st.sampled_from(["::1", "2001:db8::1", "1.2.3.4 ", "1.2.3.4.", "1..2.3", ""])  # fmt: skip
COOKIES = st.builds(
    lambda v, ms, payload, appendix: f"fb.{v}.{ms}.{payload}{appendix}",
    st.sampled_from(["1", "2", "x", "12"]),
    st.from_regex(r"[0-9]{12,14}", fullmatch=True),
    st.text(st.characters(min_codepoint=32, max_codepoint=127), min_size=0, max_size=6),
    st.sampled_from(["", ".AQ", ".AbCd_-12", ".A", ".ABC", "..AQ", ".A b"]),
)
HASHES = st.builds(
    lambda text, upper, appendix: (text.upper() if upper else text) + appendix,
    st.sampled_from([sha("x"), "1" * 64, "a" * 63, "g" + sha("y")[1:], sha("z")[:32]]),
    st.booleans(),
    st.sampled_from(["", ".AQ", ".AbCd_-12", ".A", ".ABCD", ".A$"]),
)
WORDS = st.sampled_from(
    [
        "Male", "f", "WOMAN", "other", "New York", "CA", "Ontario", "Toshkent", "uz", "U.S.A.",
        "Uzbekistan", "Narnia", "94105-1234", "94105 1234", "941051234", "SW1A 1AA", "a", "-",
        "O'Brien", "Jean-Luc", "Area 51", "X Æ A-12", "Zoë", "Ташкент", "100000", "00-950",
        "user-1", "USER 1", "10 July 1998", "1990-01-15T00:00:00Z", "madid", "0000-0000",
        "38400000-8cf0-11bd-b23e-000000000001", "ab cd", "123", "12a",
    ]
)  # fmt: skip
STRINGS = (
    ASCII_TEXT | ODD_TEXT | EMAILS | PHONES | DATES | WORD_DATES | IPS | COOKIES | HASHES | WORDS
)
VALUES = (
    STRINGS
    | st.none()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.lists(STRINGS | st.integers(0, 10**9) | st.none(), max_size=3)
)
KEYS = st.sampled_from([*USER_DATA_ORDER, "fi", "Em", "unknown"])


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.sampled_from(REGIONS))
@example({"em": "a@b.co", "ph": "+998 90 123-45-67"}, "UZ")
@example({"ph": "90 123 45 67"}, None)
@example({}, None)
@example({"zp": HASH, "db": HASH + ".AQ"}, "UZ")
def test_random_user_data_gives_the_same_result_both_ways(
    raw: dict[str, Any], region: str | None
) -> None:
    """Any dict of known and unknown keys, strings and other values: same output, same key
    order, same findings."""
    native, pure = both_ways(raw, region)
    assert native == pure
    assert list(native[0]) == list(pure[0])


# --- each C rule against its Python rule --------------------------------------------------

FIELD_STRINGS = {
    "em": EMAILS | ASCII_TEXT | HASHES,
    "ph": PHONES | HASHES | ODD_TEXT,
    "fn": ASCII_TEXT | WORDS | HASHES,
    "ln": ASCII_TEXT | WORDS,
    "db": DATES | WORD_DATES | ODD_TEXT | HASHES,
    "ge": WORDS | ASCII_TEXT,
    "ct": WORDS | ASCII_TEXT,
    "st": WORDS | ASCII_TEXT,
    "zp": WORDS | ASCII_TEXT | HASHES | st.from_regex(r"[0-9]{5}[ -]?[0-9]{4}", fullmatch=True),
    "country": WORDS | ASCII_TEXT,
    "external_id": ASCII_TEXT | WORDS | HASHES,
    "client_ip_address": IPS | ASCII_TEXT,
    "client_user_agent": ASCII_TEXT | ODD_TEXT,
    "fbc": COOKIES,
    "fbp": COOKIES | ASCII_TEXT,
    "madid": WORDS | ASCII_TEXT,
    "anon_id": ASCII_TEXT,
    "ctwa_clid": ASCII_TEXT | ODD_TEXT,
    "page_id": ASCII_TEXT | st.from_regex(r"[0-9]{1,15}", fullmatch=True),
}


@pytest.mark.parametrize("key", sorted(FIELD_STRINGS))
def test_each_c_rule_decides_only_what_python_decides(key: str) -> None:
    """What C decides alone for a value is exactly the Python rule's result (it may leave a
    value undecided, never decide it differently or keep a value Python drops)."""

    @settings(max_examples=400, deadline=None)
    @given(FIELD_STRINGS[key], st.sampled_from(REGIONS))
    def check(value: str, region: str | None) -> None:
        decided = decide(key, value, region)
        if decided is not None:
            assert decided == reference(key, value, region)

    check()


def test_common_values_are_decided_in_c() -> None:
    """The shapes of nearly every event are decided by C itself (no Python rule, no memo)."""
    cases = {
        "em": (" John.Doe+tag@Example.COM ", sha("john.doe+tag@example.com")),
        "ph": ("+998 (90) 123-45-67", sha("998901234567")),
        "fn": ("O'Brien", sha("obrien")),
        "ln": ("Smith-Jones 2", sha("smithjones2")),
        "ct": ("Area 51", sha("area")),
        "st": ("New York", sha("ny")),
        "zp": ("94105-1234", sha("94105")),
        "country": ("U.S.A.", sha("us")),
        "ge": ("Female", sha("f")),
        "db": ("1990-1-5", sha("19900105")),
        "external_id": ("User-1", sha("user-1")),
        "client_ip_address": (" 84.1.2.3 ", "84.1.2.3"),
        "client_user_agent": ("Mozilla/5.0 (X11)", "Mozilla/5.0 (X11)"),
        "fbc": ("fb.1.1596403881668.IwAR2x.AQ", "fb.1.1596403881668.IwAR2x.AQ"),
        "fbp": ("fb.1.1596403881668.1116446470", "fb.1.1596403881668.1116446470"),
        "madid": ("38400000-8cf0-11bd-b23e-10b96e40000d", "38400000-8cf0-11bd-b23e-10b96e40000d"),
        "page_id": ("104020123456789", "104020123456789"),
        "anon_id": ("a1b2", "a1b2"),
    }
    for key, (value, expected) in cases.items():
        assert decide(key, value, "UZ") == expected, key
        assert reference(key, value, "UZ") == expected, key


@pytest.mark.parametrize(
    ("value", "region", "expected"),
    [
        ("19900115", None, "19900115"),
        ("1990/01/15", None, "19900115"),
        ("5/1/1990", None, "19900501"),  # month first without a region
        ("5/1/1990", "US", "19900501"),
        ("5/1/1990", "UZ", "19900105"),  # day first elsewhere
        ("5.1.1990", "US", "19900105"),  # dots always day first
        ("13/1/1990", "US", "19900113"),  # unambiguous
        ("1/13/1990", "UZ", "19900113"),
        ("29.02.2000", None, "20000229"),  # a leap year
        ("10 July 1998", None, "19980710"),
        ("January 5th, 1990", "UZ", "19900105"),
        ("5-sept-1990", "US", "19900905"),
        ("the 5 of yanvar 1990 y", None, "19900105"),
    ],
)
def test_dates_decided_in_c(value: str, region: str | None, expected: str) -> None:
    """db: compact, year-first and year-last dates, day/month order as the Python rule orders."""
    assert decide("db", value, region) == sha(expected)
    assert reference("db", value, region) == sha(expected)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("db", "29.02.1900"),  # not a leap year
        ("db", "1899-01-01"),
        ("db", "2026-01-01"),  # after max_year
        ("db", "1990-01-15 00:00"),
        ("ph", "90 123 45 67"),  # national: libphonenumber
        ("ph", "+998 (0) 90 123"),
        ("ph", "+12345"),  # too short
        ("ph", "+1234567890123456"),  # too long
        ("em", "John <john@example.com>"),
        ("em", "a@b"),
        ("em", "a@b.123"),
        ("em", "a..b@c.co"),
        ("em", "a@-b.co"),
        ("external_id", "a b"),
        ("fn", "..."),
        ("ge", "other"),
        ("country", "Narnia"),
        ("zp", "1"),
        ("client_ip_address", "01.2.3.4"),
        ("client_ip_address", "::1%eth0"),  # an IPv6 scope: the Python rule
        ("client_ip_address", "::ffff:1.2.3.4"),  # an IPv4 suffix: the Python rule
        ("client_ip_address", "1::2::3"),
        ("client_ip_address", "1:2:3:4:5:6:7"),
        ("client_ip_address", "12345::1"),
        ("client_ip_address", ":1:2:3:4:5:6:7:8"),
        ("client_ip_address", "1:2:3:4:5:6:7::8"),
        ("db", "5 May June 1990"),
        ("db", "32 January 1990"),
        ("db", "January 1990"),
        ("fbc", "fb.1.159640388166.x"),
        ("fbc", "fb.1.1596403881668.x.ABC"),
        ("madid", "0000-0000"),
        ("anon_id", "a b"),
        ("page_id", "12a"),
        ("em", "Jöhn@example.com"),  # non-ASCII: the Python rule
        ("em", "   "),
    ],
)
def test_c_leaves_these_to_python(key: str, value: str) -> None:
    """Values C does not decide: invalid ones (Python drops them with a finding) and forms only
    the Python rule handles."""
    assert decide(key, value, "UZ") is None


@pytest.mark.parametrize("key", ["em", "ph", "fn", "db", "zp", "external_id"])
def test_already_hashed_values_pass_lowercased(key: str) -> None:
    """64 hex (not all digits) and the <hex>.<appendix> form pass through, hex lowercased."""
    assert decide(key, HASH, None) == HASH.lower()
    assert decide(key, f" {HASH}.AbCd_-12 ", None) == HASH.lower() + ".AbCd_-12"
    assert decide(key, "1" * 64, None) == reference(key, "1" * 64, None)


@pytest.mark.parametrize(
    "address", ["::", "::1", "1::", "2a02:4780:4e35::c417", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8"]
)
def test_ipv6_addresses_of_hex_and_colons_are_decided_in_c(address: str) -> None:
    """client_ip_address: IPv6 as ipaddress accepts it, kept as it is."""
    assert decide("client_ip_address", f" {address} ", None) == address
    assert reference("client_ip_address", address, None) == address


def test_raw_keys_are_never_taken_as_hashes() -> None:
    """A raw key keeps a 64-hex value as it is (case included)."""
    assert decide("client_user_agent", HASH, None) == HASH


# --- memory and errors --------------------------------------------------------------------


def test_no_memory_growth_over_many_calls() -> None:
    """200k calls over decided, undecided, refused and failing values leave RSS flat: every
    reference is released on every path, errors included."""
    events = [e["user_data"] for e in generate(50, 50, seed=7)]
    events += [{"em": "x"}, {"unknown": "1"}, {"em": 1}, {"ph": "90 123 45 67", "fn": "Ольга"}]
    region, tables = memo.tables("UZ", MAX_YEAR)

    def boom(*args: object) -> str:
        raise ValueError("boom")

    def run(calls: int) -> None:
        for i in range(calls):
            raw = events[i % len(events)]
            _cuserdata.normalize(raw, region, MAX_YEAR, tables, True)
            _cuserdata.decide("em", "A@b.co", True, MAX_YEAR)

    def failing(calls: int) -> None:
        _cuserdata.setup(boom, memo.remember, {}, {}, {}, {}, frozenset())
        for _ in range(calls):
            with pytest.raises(ValueError, match="boom"):
                _cuserdata.normalize({"em": "a@b.co", "fn": "Ольга"}, None, MAX_YEAR, {}, False)
        userdata.use_native(True)

    run(LEAK_CALLS // 10)
    failing(LEAK_CALLS // 10)
    before = rss_kib()
    run(LEAK_CALLS)
    failing(LEAK_CALLS // 4)
    assert rss_kib() - before < MAX_RSS_GROWTH_KIB


def test_bad_arguments_raise() -> None:
    """Wrong argument types are errors, not crashes."""
    with pytest.raises(TypeError):
        _cuserdata.normalize([], None, MAX_YEAR, {}, False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cuserdata.normalize({}, None, MAX_YEAR, [], False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cuserdata.normalize({}, None, MAX_YEAR, {})  # type: ignore[call-arg]
    with pytest.raises(OverflowError):
        _cuserdata.normalize({"em": "a@b.co"}, None, 10**30, {}, False)
    with pytest.raises(TypeError):
        _cuserdata.decide("em", 1, False, MAX_YEAR)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        _cuserdata.decide("nope", "x", False, MAX_YEAR)
    with pytest.raises(TypeError):
        _cuserdata.sha256_hex("text", False)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _cuserdata.setup(1, memo.remember, {}, {}, {}, {}, frozenset())  # type: ignore[arg-type]


def test_random_seeded_bench_shapes_in_unique_mode() -> None:
    """Every person different (memo misses everywhere): still identical both ways."""
    memo.clear()
    rng = random.Random(5)
    for event in generate(1500, 1500, seed=rng.randint(0, 10**6)):
        native, pure = both_ways(event["user_data"], "UZ")
        assert native == pure


def test_the_c_way_keeps_no_raw_email_or_phone_in_memos() -> None:
    """C hashes emails and +/00 phones itself (no memo); a national phone left to the Python
    rule is remembered by digest only."""
    memo.clear()
    raw = {"em": "Ann@Example.com", "ph": "+998 90 123 45 67", "fn": "Ann"}
    normalize_user_data(raw, default_region="UZ")
    normalize_user_data({"ph": "90 765 43 21"}, default_region="UZ")
    _, tables = memo.tables("UZ", MAX_BIRTH_YEAR)
    assert tables["em"] == {}
    assert list(tables["ph"]) == [memo.digest("90 765 43 21")]
    for table in tables.values():
        assert not {"Ann@Example.com", "+998 90 123 45 67", "90 765 43 21"} & set(table)


def test_a_phone_without_country_code_warns_every_time_and_is_kept_by_digest() -> None:
    """No default region: a national number warns on every event, both ways, while its
    libphonenumber verdict is remembered under a digest of the text, never the number."""
    userdata._phones.clear()
    raw = {"ph": " 90 123 45 67 ", "em": "a@b.co"}
    first = both_ways(raw, None)
    second = both_ways(raw, None)
    assert first[0] == first[1] == second[0] == second[1]
    assert [f.rule for f in first[0][1]] == ["phone_no_country_code"]
    assert list(userdata._phones) == [(None, memo.digest("90 123 45 67"))]


def test_the_phone_memo_is_emptied_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """The memo of phones without a country code stays bounded."""
    monkeypatch.setattr(userdata, "MAX_CACHED_PHONES", 1)
    userdata._phones.clear()
    normalize_user_data({"ph": "90 123 45 67"})
    normalize_user_data({"ph": "90 765 43 21"})
    assert list(userdata._phones) == [(None, memo.digest("90 765 43 21"))]


def test_only_a_phone_may_come_back_with_a_warning() -> None:
    """The (hash,) answer is for ph alone; from any other key it is an error, not a result."""
    _cuserdata.setup(lambda *args: ("x",), memo.remember, {}, {}, {}, {}, frozenset())
    try:
        with pytest.raises(TypeError):
            _cuserdata.normalize({"fn": "Ольга"}, None, MAX_YEAR, {}, False)
        assert _cuserdata.normalize({"ph": "90 1"}, None, MAX_YEAR, {}, False) == ({"ph": "x"},)
    finally:
        userdata.use_native(True)


def test_a_value_left_to_the_python_rule_is_remembered() -> None:
    """A form only the Python rule reads (an email in angle brackets) is normalized by it and
    remembered by digest, as the pure short way does."""
    memo.clear()
    raw = {"em": "John <John@Example.com>", "client_ip_address": "fe80::1%eth0"}
    native, pure = both_ways(raw, None)
    assert native == pure == ({"em": sha("john@example.com"), **raw_ip(raw)}, [])
    _, tables = memo.tables(None, MAX_YEAR)
    assert list(tables["em"]) == [memo.digest("John <John@Example.com>")]


def raw_ip(raw: dict[str, str]) -> dict[str, str]:
    return {"client_ip_address": raw["client_ip_address"]}
