"""The shared helpers: value coercion and the bounded caches."""

from __future__ import annotations

from datetime import date

import pytest

from capigate.normalize import fields, hash_field
from capigate.normalize.text import MAX_CACHED_CODE_POINTS, DeleteTable, to_text


def test_delete_table_decides_and_caches_up_to_its_bound() -> None:
    """Decisions are cached until the bound; past it they are still right, only not stored."""
    table = DeleteTable(lambda ch: ch == "x")
    text = "".join(chr(0x4E00 + i) for i in range(MAX_CACHED_CODE_POINTS + 10))
    assert text.translate(table) == text
    assert len(table) == MAX_CACHED_CODE_POINTS
    assert "axb".translate(table) == "ab"
    assert table.ascii_delete == b"x"


def test_to_text_accepts_strings_numbers_and_dates() -> None:
    """Values of JSON's scalar types become text; the key names the field in errors."""
    assert to_text("zp", "94025") == "94025"
    assert to_text("zp", "Ü1") == "Ü1"
    assert to_text("zp", 94025) == "94025"
    assert to_text("db", date(1990, 1, 15)) == "1990-01-15"


def test_repeated_values_are_hashed_once_and_the_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Low-cardinality fields come from the cache; a full cache is emptied, not grown."""
    monkeypatch.setattr(fields, "MAX_CACHED_HASHES", 2)
    monkeypatch.setattr(fields, "_hash_cache", {})
    first = [hash_field("ct", city) for city in ("Tashkent", "Samarkand", "Bukhara")]
    assert [hash_field("ct", city) for city in ("Tashkent", "Samarkand", "Bukhara")] == first
    assert len(fields._hash_cache) <= 2
    hash_field("em", "a@b.co")
    assert all(key[0] == "ct" for key in fields._hash_cache)
