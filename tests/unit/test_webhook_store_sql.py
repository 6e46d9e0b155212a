"""The webhook store's SQL: the same named queries and migration in both dialects; row mapping."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from capigate.store import migrations
from capigate.store.webhooks import (
    PaymentRecord,
    queries,
    record_from_row,
    record_params,
    state_from_row,
    state_params,
)
from capigate.webhooks.subscriptions import Status, SubscriptionState

QUERIES = {
    "get_subscription", "insert_subscription", "update_subscription", "delete_subscription",
    "get_payment", "insert_payment", "delete_pending_payment", "complete_payment",
    "remember_signature", "forget_signature", "purge_signatures",
}  # fmt: skip


def test_both_dialects_name_the_same_webhook_queries() -> None:
    """Every query exists for SQLite and PostgreSQL."""
    assert set(queries("sqlite")) == set(queries("postgres")) == QUERIES


def test_an_unknown_dialect_is_refused() -> None:
    """Only sqlite and postgres have queries."""
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        queries("mysql")


def test_migration_0005_creates_the_webhook_tables_in_both_dialects() -> None:
    """The fifth schema step is 0005_webhooks with its three tables."""
    for dialect in ("sqlite", "postgres"):
        step = migrations.load(dialect)[4]
        assert step.name == "0005_webhooks"
        for table in ("subscriptions", "webhook_payments", "webhook_signatures"):
            assert f"CREATE TABLE {table}" in step.sql


def test_state_params_and_rows_round_trip_exact_decimals() -> None:
    """value is stored as decimal text, so 49000.50 comes back exactly."""
    state = SubscriptionState("7", Status.CANCELED, "monthly", Decimal("49000.50"), "UZS", 1.0)
    params = state_params(state, expected_version=2, now_s=9.0)
    assert (params["value"], params["status"], params["version"]) == ("49000.50", "canceled", 3)
    row = {**params, "version": 3}
    assert state_from_row(row) == SubscriptionState(
        "7", Status.CANCELED, "monthly", Decimal("49000.50"), "UZS", 1.0, version=3
    )


def test_record_params_and_rows_round_trip() -> None:
    """A payment record written as parameters reads back from an equal row."""
    record = PaymentRecord("atmos", "1", "7", "charge", "subscribe", "subscribe", {"value": 1})
    params = record_params(record, lambda v: orjson.dumps(v).decode())
    row = {**params, "done": 0, "completed_at": None}
    assert record_from_row(row, orjson.loads) == record
