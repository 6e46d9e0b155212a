"""Two gateway processes on one database: once-only events stay once, one scheduler ticks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.lifecycle_engine import DEFAULT_TICK_LEASE_S
from tests.contract.pg_schema import pg_schema_url
from tests.integration.lifecycle_rig import DAY, MINUTE, T0, Rig, activity, opened, step


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[Rig, Rig]]:
    """Two rigs (two stores, two ingestors) on one database and one clock."""
    clock = FrozenClock(T0)
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'shared.db'}?synchronous=normal"
        else:
            url = await stack.enter_async_context(pg_schema_url())
        first = await stack.enter_async_context(opened(url, clock))
        second = await stack.enter_async_context(opened(url, clock))
        yield first, second


async def test_concurrent_activity_in_two_processes_derives_once(pair: tuple[Rig, Rig]) -> None:
    """Day-14 messages racing through both processes store one 14d_Return and one AppLaunch."""
    first, second = pair
    await first.send(activity("bot_message"), activity("bot_message", 43))
    first.clock.advance(14 * DAY)
    sends = [rig.send(activity("bot_message", user)) for rig in pair * 4 for user in (42, 43)]
    await asyncio.gather(*sends)
    ids = sorted(e.event_id for e in await first.events())
    now = int(first.clock())
    assert ids == [
        "retention14_42",
        "retention14_43",
        f"session_42_{now}",
        f"session_43_{now}",
    ]
    state = await second.store.load_user_state("42")
    assert state is not None and state.retention_done == frozenset({14})


async def test_only_one_process_runs_the_tick(pair: tuple[Rig, Rig]) -> None:
    """Both workers tick at once: one holds the lease, the Drop_Off is stored once."""
    first, second = pair
    await first.send(step("language", "uz"), activity("checkout_started", 43))
    first.clock.advance(31 * MINUTE)
    reports = await asyncio.gather(
        first.engine.tick(now_s=first.clock(), owner="w1"),
        second.engine.tick(now_s=first.clock(), owner="w2"),
    )
    assert sorted(r.held for r in reports) == [False, True]
    assert sum(r.events for r in reports) == 2
    assert len(await first.events("Drop_Off")) == 2


async def test_the_other_process_takes_over_when_the_holder_stops(pair: tuple[Rig, Rig]) -> None:
    """w2 waits while w1 renews; once w1 is gone for a lease, w2 ticks and drops users off."""
    first, second = pair
    assert await first.tick("w1") == 0
    first.clock.advance(DEFAULT_TICK_LEASE_S / 2)
    assert not (await second.engine.tick(now_s=first.clock(), owner="w2")).held
    await first.send(step("language", "uz"))
    first.clock.advance(DEFAULT_TICK_LEASE_S + 31 * MINUTE)  # w1 stopped renewing
    assert await second.tick("w2") == 1
    assert (await first.engine.tick(now_s=first.clock(), owner="w1")).held is False
