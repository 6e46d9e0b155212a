"""Replay's pure parts: --since and --ids parsing, and the window verdict."""

from __future__ import annotations

import dataclasses

import pytest

from capigate.cli.replay import parse_ids, parse_since, verdict
from capigate.errors import ConfigError
from capigate.retry import DAY_S, RetryPolicy
from capigate.store import InMemoryStore, Status
from tests.worker_kit import NOW_S, new_event


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW_S - 7200),
        ("30m", NOW_S - 1800),
        ("3d", NOW_S - 3 * DAY_S),
        ("1763700000", 1_763_700_000.0),
        ("2025-11-20", 1_763_596_800.0),
        ("2025-11-20T10:00", 1_763_632_800.0),
        ("2025-11-20T10:00+02:00", 1_763_625_600.0),
    ],
)
def test_since_reads_relative_iso_and_unix_times(text: str, expected: float) -> None:
    """Relative ages, ISO dates (UTC unless stated) and Unix seconds all work."""
    assert parse_since(text, NOW_S) == expected


def test_since_refuses_words_with_the_accepted_forms() -> None:
    """An unreadable --since lists the forms it accepts."""
    with pytest.raises(ConfigError, match="use 2h, 3d"):
        parse_since("yesterday", NOW_S)


def test_ids_are_comma_separated_record_ids() -> None:
    """--ids 12,13 reads two ids; anything else is refused."""
    assert parse_ids("12, 13,20") == (12, 13, 20)
    with pytest.raises(ConfigError, match="--ids"):
        parse_ids("12,x")


async def test_verdict_refuses_events_past_the_window_and_live_ones() -> None:
    """Only dead letters inside Meta's window (less the margin) may be replayed."""
    store = InMemoryStore()
    await store.enqueue(
        [new_event(1), new_event(2, event_time=NOW_S - 7 * DAY_S + 300)], now_s=NOW_S
    )
    fresh, old = sorted(await store.list_events(), key=lambda e: e.id)
    policy = RetryPolicy()
    assert verdict(fresh, NOW_S, policy) == "not a dead letter (status queued)"
    dead = dataclasses.replace(fresh, status=Status.DEAD)
    assert verdict(dead, NOW_S, policy) is None
    old_dead = dataclasses.replace(old, status=Status.DEAD)
    refusal = verdict(old_dead, NOW_S, policy)
    assert refusal is not None and refusal.startswith("past Meta's 7-day window (event_time ")
    store_sale = dataclasses.replace(old_dead, action_source="physical_store")
    assert verdict(store_sale, NOW_S, policy) is None
