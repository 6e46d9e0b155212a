"""normalize_field / hash_field: key dispatch, value types, already-hashed values."""

from __future__ import annotations

import hashlib

import pytest

from capigate.errors import InvalidField
from capigate.normalize import HASHED_KEYS, NEVER_HASH_KEYS, hash_field, is_hashed, normalize_field
from capigate.normalize.keys import USER_DATA_ORDER

DIGEST = "855f96e983f1f8e8be944692b6f719fd54329826cb62e98015efee8e2e071dd4"


def test_key_sets_match_metas_table() -> None:
    """Eleven hashed keys, sixteen raw keys, no overlap, and one output order covering both."""
    assert len(HASHED_KEYS) == 11 and len(NEVER_HASH_KEYS) == 16
    assert not HASHED_KEYS & NEVER_HASH_KEYS
    assert set(USER_DATA_ORDER) == HASHED_KEYS | NEVER_HASH_KEYS


@pytest.mark.parametrize(
    ("value", "hashed"),
    [
        (DIGEST, True),
        (DIGEST.upper(), True),
        (f"{DIGEST}.AQQCAQMC", True),
        (f"{DIGEST}.Bg", True),
        (f"{DIGEST}.ABC", False),
        (f"{DIGEST}.", False),
        (f"{DIGEST}xAQQCAQMC", False),
        ("1" * 64, False),
        ("d4c74594d841139328695756648b6bd6", False),
        (DIGEST[:-1] + "g", False),
        (DIGEST[:-1], False),
    ],
)
def test_is_hashed_accepts_only_sha256_shapes(value: str, hashed: bool) -> None:
    """64 hex (not all digits), optionally with a 2- or 8-character appendix; never MD5."""
    assert is_hashed(value) is hashed


@pytest.mark.parametrize("key", sorted(HASHED_KEYS))
def test_hashed_values_pass_through_every_hashed_key(key: str) -> None:
    """A hash is sent as it is (lowercased), whatever the key's own rule."""
    assert hash_field(key, f" {DIGEST.upper()} ") == DIGEST
    assert normalize_field(key, f"{DIGEST.upper()}.AQQCAQMC") == f"{DIGEST}.AQQCAQMC"


def test_hash_is_lowercase_hex_sha256_of_normalized_value() -> None:
    """hash_field is SHA-256 of what normalize_field returns."""
    expected = hashlib.sha256(b"john@example.com").hexdigest()
    assert hash_field("em", " John@Example.com ") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (998901234567, "998901234567"),
        (998901234567.0, "998901234567"),
        ("998901234567", "998901234567"),
    ],
)
def test_whole_numbers_are_accepted_as_text(value: object, expected: str) -> None:
    """Numbers from JSON are read as their decimal digits."""
    assert normalize_field("ph", value) == expected


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (None, "empty"),
        ("", "empty"),
        (" \u200b ", "empty"),
        (True, "bad_type"),
        (1.5, "bad_type"),
        (float("nan"), "bad_type"),
        (["a@b.co"], "bad_type"),
        ({"a": 1}, "bad_type"),
        (b"x", "bad_type"),
        (1e300 * 1e10, "bad_type"),
        ("a\ud800b@example.com", "bad_text"),
    ],
)
def test_values_of_the_wrong_type_are_refused(value: object, rule: str) -> None:
    """Only strings, whole numbers and dates are values; lone surrogates cannot be sent."""
    for function in (normalize_field, hash_field):
        with pytest.raises(InvalidField) as caught:
            function("em", value)
        assert (caught.value.key, caught.value.rule) == ("em", rule)


@pytest.mark.parametrize("key", ["f5first", "EM", "email", "", "user_data"])
def test_unknown_keys_are_refused(key: str) -> None:
    """Keys are Meta's exact names; anything else is refused with rule unknown_key."""
    for function in (normalize_field, hash_field):
        with pytest.raises(InvalidField) as caught:
            function(key, "x")
        assert (caught.value.key, caught.value.rule) == (key, "unknown_key")


def test_invalid_field_names_key_and_rule_in_its_message() -> None:
    """The error text says which field and which rule, for logs and API answers."""
    with pytest.raises(InvalidField, match=r"^ph: .*\(rule: phone_letters\)$"):
        hash_field("ph", "1-800-FLOWERS")


def test_numbers_too_long_to_print_are_refused() -> None:
    """Python refuses to print ints over 4300 digits; that is a bad value, not a crash."""
    with pytest.raises(InvalidField) as caught:
        hash_field("external_id", 10**5000)
    assert caught.value.rule == "bad_type"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ph", "(" + "a" * 5000),
        ("ph", "1" + " " * 5000 + "x"),
        ("ph", "tel:" + "(" * 5000 + "a"),
        ("db", "1990-01-15" + "t" * 5000 + ":"),
        ("em", "a@b." + "a" * 5000 + "!"),
        ("em", "a@" + "a-" * 5000),
    ],
    ids=["ph-open-bracket", "ph-spaces", "ph-brackets", "db-time", "em-tld", "em-hyphens"],
)
def test_long_hostile_values_are_refused(key: str, value: str) -> None:
    """Crafted long values (the shapes that make backtracking regexes slow) are simply refused."""
    with pytest.raises(InvalidField):
        hash_field(key, value)
