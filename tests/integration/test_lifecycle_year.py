"""A simulated year through ingest, store and daily ticks: every once-only event exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.lifecycle_rig import DAY, HOUR, T0, Rig, activity, rig_for

DAILY, WEEKLY, CHURNED = 1, 2, 3
ALL_MILESTONES = [14, 30, 60, 90, 180, 365]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def rig(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Rig]:
    """The ingest use case on SQLite and on PostgreSQL."""
    async with rig_for(request.param, tmp_path) as opened:
        yield opened


def _active(user: int, day: int) -> bool:
    if user == DAILY:
        return True
    if user == WEEKLY:
        return day % 7 == 0
    return day <= 10 or day in (200, 370)


async def _live_a_year(rig: Rig, days: int = 400) -> None:
    """Each day: users active that day send a message (hours vary), then the worker ticks."""
    for day in range(days):
        for user in (DAILY, WEEKLY, CHURNED):
            if not _active(user, day):
                continue
            rig.clock.set(T0 + day * DAY + (9 + (day + user) % 5) * HOUR)
            if user == CHURNED and day == 200:  # the bot backfills this one itself first
                await rig.send({"event": "retention_180d", "user": {"telegram_id": user}})
            if user == DAILY and day == 50:
                await rig.send(activity("checkout_started", user))  # and never pays
            await rig.send(activity("bot_message", user))
        rig.clock.set(T0 + day * DAY + 20 * HOUR)
        await rig.tick()


async def test_a_year_of_three_users(rig: Rig) -> None:
    """Daily, weekly and churned-then-back users: each milestone once, where it is due."""
    await _live_a_year(rig)
    events = await rig.events()
    ids = Counter(e.event_id for e in events)
    repeated = {event_id: n for event_id, n in ids.items() if n > 1}
    assert repeated == {}

    def milestones(user: int) -> list[int]:
        return sorted(
            e.payload["custom_data"]["days_active"]
            for e in events
            if e.plan_key and e.plan_key.startswith("retention") and e.event_id.endswith(f"_{user}")
        )

    assert milestones(DAILY) == ALL_MILESTONES
    assert milestones(WEEKLY) == ALL_MILESTONES  # days 14, 35, 63, 91, 182, 371
    assert milestones(CHURNED) == [180, 365]
    backfilled = [e for e in events if e.event_id == f"retention180_{CHURNED}"]
    assert [e.source for e in backfilled] == ["bot"]  # the derived copy was the duplicate
    assert sorted(e.event_id for e in events if e.event_name == "7d_Return") == [
        f"ret7_{user}" for user in (DAILY, WEEKLY, CHURNED)
    ]
    launches = Counter(e.event_id.split("_")[1] for e in events if e.event_name == "AppLaunch")
    assert launches == {str(DAILY): 399, str(WEEKLY): 57, str(CHURNED): 12}
    [drop] = [e for e in events if e.event_name == "Drop_Off"]
    assert drop.payload["custom_data"]["step_at_exit"] == "checkout"
