"""Housekeeping on real stores (SQLite file, PostgreSQL schema): rows freed, one process at a time.

Two store instances on one database stand for two gateway processes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from capigate.attribution.config import AttributionSettings
from capigate.attribution.session import LandingSession
from capigate.clock import FrozenClock
from capigate.housekeeping.config import HousekeepingSettings
from capigate.housekeeping.job import Housekeeper, store_purges
from capigate.store import DEDUP_WINDOW_S, Store, open_store
from tests.contract.pg_schema import pg_schema_url
from tests.unit.test_housekeeping import T0, event

HOUR = 3600.0
ATTRIBUTION = AttributionSettings()
EVERY = HousekeepingSettings(interval_s=HOUR, poll_s=60)
TOKEN = "TokenTokenToken01"


@asynccontextmanager
async def _url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'housekeeping.db'}"
        return
    async with pg_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, Store]]:
    """Two migrated stores on one database: two gateway processes."""
    async with _url(request.param, tmp_path) as url:
        one, two = open_store(url, clock=FrozenClock(T0)), open_store(url, clock=FrozenClock(T0))
        await one.migrate()
        await two.migrate()
        try:
            yield one, two
        finally:
            await one.close()
            await two.close()


def _keeper(store: Store, owner: str) -> Housekeeper:
    return Housekeeper(store, store_purges(store, ATTRIBUTION), settings=EVERY, owner=owner)


async def test_every_purge_frees_its_rows(pair: tuple[Store, Store]) -> None:
    """Past every window, the dedup key, the landing visit and the signature are gone."""
    store, _ = pair
    await store.enqueue([event()], now_s=T0)
    await store.save_landing_session(LandingSession(TOKEN, created_at=T0, seen_at=T0))
    await store.remember_signature("billing:sig", expires_at_s=T0 + 300, now_s=T0)
    keeper = _keeper(store, "p1")
    early = await keeper.run_due(now_s=T0 + HOUR)
    assert dict(early.freed) == {"dedup_keys": 0, "landing_sessions": 0, "webhook_signatures": 1}
    late = T0 + max(DEDUP_WINDOW_S, ATTRIBUTION.retention_s) + HOUR
    report = await keeper.run_due(now_s=late)
    assert dict(report.freed) == {"dedup_keys": 1, "landing_sessions": 1, "webhook_signatures": 0}
    assert await store.landing_session(TOKEN) is None
    [again] = await store.enqueue([event()], now_s=late)
    assert again.status == "queued"
    assert len(await store.list_events()) == 2  # the log keeps every record


async def test_only_one_process_purges_until_the_holder_lets_go(pair: tuple[Store, Store]) -> None:
    """The second process is refused while the first holds the lease, then takes over."""
    one, two = pair
    first, second = _keeper(one, "p1"), _keeper(two, "p2")
    assert (await first.run_due(now_s=T0)).ran
    assert not (await second.run_due(now_s=T0 + HOUR)).ran
    assert (await first.run_due(now_s=T0 + HOUR)).ran
    await first.release()
    assert (await second.run_due(now_s=T0 + HOUR + 1)).ran
    assert not (await first.run_due(now_s=T0 + 2 * HOUR)).ran
