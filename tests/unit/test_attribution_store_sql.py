"""The identity store's SQL: the same named queries and the same migration in both dialects."""

from __future__ import annotations

import pytest

from capigate.attribution.session import UTM_KEYS, LandingSession
from capigate.store import migrations
from capigate.store.identity import latest_links, queries, session_from_row, session_params


def test_both_dialects_name_the_same_identity_queries() -> None:
    """Every query exists for SQLite and PostgreSQL."""
    assert (
        set(queries("sqlite"))
        == set(queries("postgres"))
        == {
            "save_landing_session",
            "get_landing_session",
            "link_telegram",
            "linked_sessions",
            "purge_landing_sessions",
        }
    )


def test_an_unknown_dialect_is_refused() -> None:
    """Only sqlite and postgres have queries."""
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        queries("mysql")


def test_migration_0004_creates_landing_sessions_in_both_dialects() -> None:
    """The fourth schema step is the landing-session table, under one name."""
    for dialect in ("sqlite", "postgres"):
        step = migrations.load(dialect)[3]
        assert step.name == "0004_landing_sessions"
        assert "CREATE TABLE landing_sessions" in step.sql


def test_params_and_rows_round_trip_a_session() -> None:
    """A session written as parameters reads back from an equal row."""
    session = LandingSession(
        "AbCdEfGhIjKlMnOpQrStUv", fbc="fb.1.1763800000000.X", utms={"utm_term": "t"},
        created_at=1.0, seen_at=2.0, telegram_id="7", linked_at=3.0,
    )  # fmt: skip
    params = session_params(session)
    assert params["has_utms"] is True
    assert {k: params[k] for k in UTM_KEYS} == {**dict.fromkeys(UTM_KEYS), "utm_term": "t"}
    row = {**params, "telegram_id": "7", "linked_at": 3.0}
    assert session_from_row(row) == session


def test_latest_links_keep_the_last_session_of_each_user() -> None:
    """Given oldest-first sessions, each user maps to the last one; unlinked ones drop out."""
    a = LandingSession("a" * 16, telegram_id="1", linked_at=1.0)
    b = LandingSession("b" * 16, telegram_id="1", linked_at=2.0)
    c = LandingSession("c" * 16)
    assert latest_links([a, b, c]) == {"1": b}
