"""Named SQL: the parser, and both dialects defining the same queries."""

from __future__ import annotations

import pytest

from capigate.store import sql


def test_parse_maps_names_to_sql_and_drops_descriptions() -> None:
    """Comment lines right after the name describe the query and are not part of it."""
    text = (
        "-- a file header is ignored\n\n"
        "-- name: one\n-- What one does.\nSELECT 1\n\n"
        "-- name: two\nSELECT 2\n-- a comment inside the query stays\nFROM t\n"
    )
    assert sql.parse(text) == {
        "one": "SELECT 1",
        "two": "SELECT 2\n-- a comment inside the query stays\nFROM t",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2", "defined twice"),
        ("-- name: a\n-- only a description\n", "has no SQL"),
        ("-- name:\nSELECT 1", "needs a query name"),
    ],
)
def test_parse_rejects_broken_files(text: str, problem: str) -> None:
    """A repeated name, a name without SQL or an empty name is an error naming the problem."""
    with pytest.raises(ValueError, match=problem):
        sql.parse(text)


def test_dialects_define_the_same_query_names() -> None:
    """sqlite.sql and postgres.sql have exactly the same names, so the stores stay in step."""
    names = {dialect: set(sql.load(dialect)) for dialect in sql.DIALECTS}
    assert names["sqlite"] == names["postgres"]
    assert {"insert_event", "lease_group", "ack", "purge_dedup_keys"} <= names["sqlite"]


SLOTS = {"list_events": "{filters}"}
SQLITE_SLOTS = {**SLOTS, "insert_event": "{rows}"}  # one VALUES row per event


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_only_known_queries_have_a_slot(dialect: str) -> None:
    """Only list_events (and SQLite's multi-row insert_event) are completed with str.format."""
    slots = SQLITE_SLOTS if dialect == "sqlite" else SLOTS
    for name, query in sql.load(dialect).items():
        slot = slots.get(name, "")
        assert slot == "" or query.count(slot) == 1, name
        assert "{" not in query.replace(slot, ""), name


def test_unknown_dialect_is_refused() -> None:
    """Asking for a dialect that does not exist names the known ones."""
    with pytest.raises(ValueError, match="sqlite"):
        sql.load("oracle")
