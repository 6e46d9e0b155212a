"""Housekeeping on the memory store and a frozen clock: what each purge frees, when, and by whom."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from capigate.attribution.config import AttributionSettings
from capigate.attribution.session import LandingSession
from capigate.clock import FrozenClock
from capigate.errors import ConfigError, StoreError
from capigate.housekeeping.config import (
    DEFAULT_INTERVAL_S,
    HousekeepingSettings,
    parse_housekeeping,
)
from capigate.housekeeping.job import SCHEDULER, Housekeeper, running, store_purges
from capigate.settings import Settings
from capigate.store import DEDUP_WINDOW_S, InMemoryStore, NewEvent

T0 = 1_763_800_000.0
HOUR = 3600.0
DAY = 86_400.0
ATTRIBUTION = AttributionSettings()
EVERY = HousekeepingSettings(interval_s=HOUR, poll_s=60)


def event(event_id: str = "e-1") -> NewEvent:
    """A minimal outbox event."""
    return NewEvent(
        pixel_id="111",
        event_name="Lead",
        event_id=event_id,
        event_time=int(T0),
        action_source="website",
        source="web",
        plan_key=None,
        test_event_code=None,
        payload={"event_name": "Lead"},
        match_score=1,
    )


async def _fill(store: InMemoryStore) -> None:
    """One dedup key, one landing session and one signature, all made at T0."""
    await store.enqueue([event()], now_s=T0)
    await store.save_landing_session(LandingSession("TokenTokenToken01", created_at=T0, seen_at=T0))
    await store.remember_signature("billing:sig", expires_at_s=T0 + 300, now_s=T0)


def _keeper(store: InMemoryStore, owner: str = "p1", **purges: Any) -> Housekeeper:
    chosen = purges or store_purges(store, ATTRIBUTION)
    return Housekeeper(store, chosen, settings=EVERY, owner=owner)


async def test_each_purge_frees_only_what_its_window_let_go() -> None:
    """An hour on, only the signature is gone; past 48 h the dedup key; past the TTLs the visit."""
    store = InMemoryStore()
    await _fill(store)
    keeper = _keeper(store)
    report = await keeper.run_due(now_s=T0 + HOUR)
    assert report.ran and report.failed == ()
    assert dict(report.freed) == {"dedup_keys": 0, "landing_sessions": 0, "webhook_signatures": 1}
    report = await keeper.run_due(now_s=T0 + DEDUP_WINDOW_S + HOUR)
    assert dict(report.freed) == {"dedup_keys": 1, "landing_sessions": 0, "webhook_signatures": 0}
    [result] = await store.enqueue([event()], now_s=T0 + DEDUP_WINDOW_S + HOUR)
    assert result.status == "queued"  # the key was forgotten: the id may be used again
    report = await keeper.run_due(now_s=T0 + ATTRIBUTION.retention_s + HOUR)
    assert report.freed["landing_sessions"] == 1
    assert await store.landing_session("TokenTokenToken01") is None
    assert keeper.last == report and keeper.ran.is_set()


async def test_a_run_happens_at_most_once_per_interval() -> None:
    """Before the interval has passed, run_due does nothing and touches no store."""
    store = InMemoryStore()
    keeper = _keeper(store)
    assert (await keeper.run_due(now_s=T0)).ran
    store.calls.clear()
    assert not (await keeper.run_due(now_s=T0 + HOUR - 1)).ran
    assert store.calls == []
    assert (await keeper.run_due(now_s=T0 + HOUR)).ran


async def test_one_process_at_a_time_holds_the_lease() -> None:
    """A second process is refused while the first holds the lease, which outlives the
    interval; it takes over when the holder releases it or stops renewing it."""
    store = InMemoryStore()
    first, second = _keeper(store, "p1"), _keeper(store, "p2")
    assert (await first.run_due(now_s=T0)).ran
    assert not (await second.run_due(now_s=T0 + HOUR)).ran
    assert (await first.run_due(now_s=T0 + HOUR)).ran  # the holder renews in time
    lapsed = T0 + 2 * HOUR + EVERY.poll_s + 1  # the holder died after its last run
    assert (await second.run_due(now_s=lapsed)).ran
    await second.release()
    assert (await first.run_due(now_s=lapsed + 1)).ran
    leases = [c for c in store.calls if c[0] == "acquire_scheduler"]
    assert {c[1]["lease"] for c in leases} == {SCHEDULER}
    assert {c[1]["lease_s"] for c in leases} == {EVERY.interval_s + EVERY.poll_s}


async def test_a_failing_purge_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One purge raising leaves the others' counts in the report; nothing raises."""
    store = InMemoryStore()

    async def broken(now_s: float) -> int:
        raise StoreError("disk full")

    async def fine(now_s: float) -> int:
        return 3

    report = await _keeper(store, broken=broken, fine=fine).run_due(now_s=T0)
    assert (dict(report.freed), report.failed) == ({"fine": 3}, ("broken",))
    assert "purge failed" in caplog.text


async def test_a_store_that_cannot_grant_the_lease_skips_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """acquire_scheduler failing is logged; the run is skipped and tried again next time."""
    store = InMemoryStore()

    async def refusing(*args: Any, **kwargs: Any) -> bool:
        raise StoreError("connection lost")

    store.acquire_scheduler = refusing  # type: ignore[method-assign]
    keeper = _keeper(store)
    assert not (await keeper.run_due(now_s=T0)).ran
    assert "cannot take the lease" in caplog.text
    del store.acquire_scheduler
    assert (await keeper.run_due(now_s=T0 + 1)).ran


async def test_running_purges_in_the_background_and_gives_the_lease_up() -> None:
    """``running`` checks every poll_s, runs on the clock's time and releases on exit."""
    store = InMemoryStore()
    await _fill(store)
    clock = FrozenClock(T0 + HOUR)
    fast = HousekeepingSettings(interval_s=HOUR, poll_s=0.01)
    settings = dataclasses.replace(Settings(), housekeeping=fast)
    async with running(settings, store, clock=clock) as keeper:
        assert keeper is not None
        await asyncio.wait_for(keeper.ran.wait(), timeout=10)
    assert keeper.last is not None and keeper.last.freed["webhook_signatures"] == 1
    assert store.calls[-1] == ("release_scheduler", {"lease": SCHEDULER, "owner": keeper.owner})


async def test_running_is_off_when_disabled() -> None:
    """housekeeping.enabled: false runs nothing."""
    store = InMemoryStore()
    settings = dataclasses.replace(Settings(), housekeeping=HousekeepingSettings(enabled=False))
    async with running(settings, store) as keeper:
        assert keeper is None
    assert store.calls == []


def test_settings_default_to_hourly_and_the_environment_wins() -> None:
    """No section: enabled, hourly; CAPIGATE_HOUSEKEEPING_* beats the YAML."""
    assert parse_housekeeping(None, {}) == HousekeepingSettings(True, DEFAULT_INTERVAL_S, 60.0)
    raw = {"interval_s": 600, "enabled": True}
    env = {"CAPIGATE_HOUSEKEEPING_INTERVAL_S": "120", "CAPIGATE_HOUSEKEEPING_ENABLED": "off"}
    assert parse_housekeeping(raw, env) == HousekeepingSettings(False, 120.0, 60.0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "housekeeping: must be a mapping"),
        ({"every": 5}, "housekeeping.every: unknown"),
        ({"interval_s": 0}, "housekeeping.interval_s: must be seconds from 1"),
        ({"interval_s": True}, "housekeeping.interval_s: must be seconds"),
        ({"poll_s": "soon"}, "housekeeping.poll_s: must be seconds"),
        ({"enabled": "maybe"}, "housekeeping.enabled: must be true or false"),
    ],
)
def test_bad_settings_name_the_key_and_the_rule(raw: Any, message: str) -> None:
    """Each bad value is refused with its key and what is allowed."""
    with pytest.raises(ConfigError, match=message):
        parse_housekeeping(raw, {})


async def test_a_process_that_never_held_the_lease_releases_nothing() -> None:
    """Stopping before the first run (or while another holds the lease) writes nothing."""
    store = InMemoryStore()
    await _keeper(store).release()
    assert store.calls == []
