"""Every vector of meta_normalization_vectors.json (outputs of two Meta implementations).

A = Meta's Python Business SDK, B = Meta's parameter builder for Node. Each test id ends with
which of them our result agrees with: ``A+B`` (they agree and so do we), ``A`` or ``B`` (they
disagree and we follow that one; the vector's ``note`` and ``expected_because`` say why, and
the assertion message repeats them), ``doc`` (both break Meta's documented rule; we follow the
documentation), ``reject`` (we drop the value), or ``ours`` for vectors the file leaves unpinned
(``expected`` is null), where the test asserts our documented choice from ``UNPINNED`` below.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from capigate.errors import InvalidField
from capigate.normalize import hash_field, is_hashed, normalize_field

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "meta_normalization_vectors.json").read_text(encoding="utf-8")
)
HEX64 = re.compile(r"[0-9a-f]{64}")


class Reject:
    """An expected refusal with a given rule."""

    def __init__(self, rule: str) -> None:
        self.rule = rule


# Vectors with ``expected: null``: (region, our result) pairs and why.
UNPINNED: dict[tuple[str, str], tuple[list[tuple[str | None, str | Reject]], str]] = {
    ("em", "<john@example.com>"): (
        [(None, "john@example.com")],
        "README recommends extracting the address from <...>",
    ),
    ("em", "John Doe <john@example.com>"): (
        [(None, "john@example.com")],
        "a display-name address yields the address",
    ),
    ("ph", "(650)555-1212"): (
        [("US", "16505551212"), (None, "6505551212")],
        "with region US we give the doc's 16505551212; without a region the digits are kept (A+B)",
    ),
    ("ph", "415.555.1234"): (
        [("US", "14155551234"), (None, "4155551234")],
        "symbols removed (B) and the default region's country code added",
    ),
    ("ph", "+1 415 555 1234 ext. 99"): (
        [(None, "14155551234")],
        "the extension is cut, not glued onto the number (B's bug)",
    ),
    ("ph", "90 123 45 67"): (
        [("UZ", "998901234567"), (None, "901234567")],
        "the default region completes a national number",
    ),
    ("ph", "8 90 123 45 67"): (
        [("UZ", "998901234567"), (None, "8901234567")],
        "the legacy trunk 8 is dropped when the region's number is then valid",
    ),
    ("ph", "555-1234"): (
        [(None, "5551234"), ("US", Reject("phone_invalid"))],
        "no region: digits kept (A+B); with US a number without its area code is refused",
    ),
    ("ph", "＋１ ４１５ ５５５ １２３４"): (
        [(None, "14155551234")],
        "full-width digits and plus are converted to ASCII",
    ),
    ("ph", "079dd4b96b2e0ccd7861be2db0279d7c"): (
        [(None, Reject("phone_letters"))],
        "an MD5 shape is not a hash; as a phone it has letters",
    ),
    ("ge", "erkak"): ([(None, "m")], "Uzbek word for male"),
    ("ge", "мужской"): ([(None, "m")], "Russian word for male"),
    ("db", "5/1/1990"): (
        [(None, "19900501"), ("US", "19900501"), ("UZ", "19900105")],
        "slashes: month first (US, doc example) unless the region writes day first",
    ),
    ("db", "05.01.1990"): (
        [(None, "19900105"), ("UZ", "19900105")],
        "dots mean day first (European and post-Soviet notation)",
    ),
    ("db", "5.1.1990"): ([(None, "19900105")], "dots mean day first"),
    ("db", "90-01-15"): ([(None, Reject("date_two_digit_year"))], "the century is a guess"),
    ("db", "01/15/90"): ([(None, Reject("date_two_digit_year"))], "the century is a guess"),
    ("db", "1850-01-01"): ([(None, Reject("date_out_of_range"))], "doc: year 1900..current"),
    ("ct", "Area 51"): ([(None, "area")], "digits removed from cities (A, Meta's SDK)"),
    ("st", "Quebec"): ([(None, "qc")], "Canadian provinces take their postal code (B)"),
    ("st", "Québec"): ([(None, "qc")], "as Quebec: accents folded for the lookup"),
    ("st", "Ташкент"): ([(None, "ташкент")], "non-US regions keep their whole name, UTF-8"),
    ("st", "Calif."): ([(None, "calif")], "no abbreviation table: punctuation removed only"),
    ("zp", "940251234"): ([(None, "94025")], "nine digits is a US ZIP+4 without its dash"),
    ("zp", "CH-8001"): ([(None, "ch8001")], "dash removed, nothing else cut"),
    ("country", "XK"): ([(None, Reject("country_unknown"))], "not in ISO 3166-1"),
    ("external_id", "user 123"): ([(None, "user123")], "B's rule: all whitespace removed"),
}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _side_hash(side: dict[str, Any] | None) -> str | None:
    return side["hash"] if side and side.get("ok") else None


def _follows(vector: dict[str, Any]) -> str:
    expected = vector["expected"]
    if expected is None:
        return "ours"
    if expected.get("reject"):
        return "reject"
    sides = [
        name
        for name, side in (("A", vector["sdk_python"]), ("B", vector["param_builder_node"]))
        if _side_hash(side) == expected["hash"]
    ]
    return "+".join(sides) or "doc"


def _id(index: int, vector: dict[str, Any]) -> str:
    shown = vector.get("input_escaped", vector["input"])[:24]
    return f"{index:03d}-{vector['field']}-{shown!r}-{_follows(vector)}"


@pytest.mark.parametrize("vector", VECTORS, ids=[_id(i, v) for i, v in enumerate(VECTORS)])
def test_vector(vector: dict[str, Any]) -> None:
    """Our hash, refusal or documented choice for one vector."""
    key, value, expected = vector["field"], vector["input"], vector["expected"]
    why = f"{vector.get('note', '')} {vector.get('expected_because') or ''}".strip()
    if expected is None:
        _check_unpinned(key, value)
    elif expected.get("reject"):
        with pytest.raises(InvalidField) as caught:
            hash_field(key, value)
        assert caught.value.key == key and caught.value.rule, why
    else:
        _check_hash(key, value, expected, why)


def _check_hash(key: str, value: str, expected: dict[str, Any], why: str) -> None:
    got = hash_field(key, value)
    if is_hashed(value.strip()) and len(value.strip()) > 64:
        # Parameter-builder output keeps its appendix (Meta accepts it); the vector file
        # records B's hash with the appendix removed, so compare the hash part.
        assert got == value.strip()[:64].lower() + value.strip()[64:]
        assert got[:64] == expected["hash"], why
        return
    assert got == expected["hash"], why
    if "normalized" in expected:
        assert normalize_field(key, value) == expected["normalized"], why


def _check_unpinned(key: str, value: str) -> None:
    cases, why = UNPINNED[(key, value)]
    for region, outcome in cases:
        if isinstance(outcome, Reject):
            with pytest.raises(InvalidField) as caught:
                hash_field(key, value, default_region=region)
            assert caught.value.rule == outcome.rule, why
        else:
            assert normalize_field(key, value, default_region=region) == outcome, why
            assert hash_field(key, value, default_region=region) == _sha(outcome), why


def test_every_unpinned_vector_has_a_documented_choice() -> None:
    """A new unpinned vector fails here until its behaviour is decided and written down."""
    unpinned = {(v["field"], v["input"]) for v in VECTORS if v["expected"] is None}
    assert unpinned == set(UNPINNED)


def test_every_customer_information_key_has_vectors() -> None:
    """The file covers all eleven hashed keys, so no rule escapes conformance."""
    assert {v["field"] for v in VECTORS} == {
        "em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id",
    }  # fmt: skip


def test_hashes_are_lowercase_hex() -> None:
    """Every hash we give for a pinned vector is 64 lowercase hex characters."""
    for vector in VECTORS:
        expected = vector["expected"]
        if expected and "hash" in expected:
            assert HEX64.fullmatch(hash_field(vector["field"], vector["input"])[:64])


# Meta's worked examples (customer-information page): input, region, the doc's SHA-256.
DOC_EXAMPLES = [
    ("em", "John_Smith@gmail.com", None,
     "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f"),
    ("ph", "(650)555-1212", "US",
     "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"),
    ("fn", "Mary", None, "6915771be1c5aa0c886870b6951b03d7eafc121fea0e80a5ea83beb7c449f4ec"),
    ("db", "2/16/1997", None, "01acdbf6ec7b4f478a225f1a246e5d6767eeab1a7ffa17f025265b5b94f40f0c"),
    ("country", "us", None, "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "region", "doc_hash"), DOC_EXAMPLES)
def test_meta_doc_examples(key: str, value: str, region: str | None, doc_hash: str) -> None:
    """Meta's own worked examples, including the phone neither Meta implementation gets right."""
    assert hash_field(key, value, default_region=region) == doc_hash


@pytest.mark.parametrize(
    ("value", "head", "tail"), [("Valéry", "08e1996b", "417149c"), ("정", "8fa8cd9c", "eb51db14")]
)
def test_meta_doc_examples_non_ascii(value: str, head: str, tail: str) -> None:
    """The doc's UTF-8 name examples (printed abbreviated in the spec) keep accents and script."""
    got = hash_field("fn", value)
    assert got.startswith(head) and got.endswith(tail)
