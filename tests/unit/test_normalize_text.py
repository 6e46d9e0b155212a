"""The shared text helpers: bounded per-code-point caches."""

from __future__ import annotations

from capigate.normalize.text import MAX_CACHED_CODE_POINTS, DeleteTable


def test_delete_table_decides_and_caches_up_to_its_bound() -> None:
    """Decisions are cached until the bound; past it they are still right, only not stored."""
    table = DeleteTable(lambda ch: ch == "x")
    text = "".join(chr(0x4E00 + i) for i in range(MAX_CACHED_CODE_POINTS + 10))
    assert text.translate(table) == text
    assert len(table) == MAX_CACHED_CODE_POINTS
    assert "axb".translate(table) == "ab"
    assert table.ascii == {ord("x"): None}
