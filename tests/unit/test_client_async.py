"""AsyncCapigate against a fake gateway: batching, refusals, outages, spool replay, shutdown."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from capigate.client import ClientError, EventsLost, InvalidEvent, SpoolFull
from tests.unit.client_kit import NOW_S, finding, problem, rig, until


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in events]


async def test_track_queues_and_flush_sends_one_batch_with_pinned_time() -> None:
    """Tracked events wait in memory; flush() sends them as one batch, event_time pinned."""
    r = rig()
    client = r.client()
    await client.track("start_bot", user={"telegram_id": 42}, context={"start_param": "lp-1"})
    await client.track({"event": "onboarding_language", "user": {"telegram_id": 42}})
    assert client.queued == 2 and r.gateway.requests == []
    results = await client.flush()
    assert [r.status for r in results] == ["queued", "queued"]
    [batch] = r.gateway.batches
    assert batch[0] == {
        "event": "start_bot",
        "user": {"telegram_id": 42},
        "context": {"start_param": "lp-1"},
        "event_time": int(NOW_S),
    }
    assert batch[1]["event_time"] == int(NOW_S)
    assert "event_id" not in batch[0]  # the plan's template names it: startbot_42
    await client.aclose()


async def test_a_full_batch_is_sent_in_the_background() -> None:
    """The Nth tracked event wakes the flusher; no flush() call is needed."""
    r = rig()
    async with r.client(batch_events=3) as client:
        for n in range(3):
            await client.track("start_bot", event_id=f"e{n}")
        await until(lambda: len(r.gateway.batches) == 1)
        assert _ids(r.gateway.batches[0]) == ["e0", "e1", "e2"]


async def test_the_oldest_event_goes_after_the_flush_interval() -> None:
    """A lone event is sent once it has waited flush_interval_s (simulated time)."""
    r = rig()
    async with r.client(flush_interval_s=5.0) as client:
        await client.track("start_bot", event_id="e0")
        await until(lambda: len(r.gateway.batches) == 1)
        assert 5.0 in r.sleep.waits
        assert r.clock() >= NOW_S + 5.0


async def test_a_refused_event_reaches_on_error_and_is_not_spooled() -> None:
    """422 naming one event: on_error gets its ClientError; the others are delivered."""
    r = rig()
    r.gateway.then(422, problem(422, [finding("$.batch[1].properties.language_selected")]))
    async with r.client() as client:
        for n in range(3):
            await client.track("onboarding_language", event_id=f"e{n}")
        await client.flush()
        assert client.spooled == 0
    [error] = r.errors
    assert isinstance(error, ClientError)
    assert (error.status, _ids(list(error.events))) == (422, ["e1"])
    assert [f.path for f in error.findings] == ["$.properties.language_selected"]
    assert _ids(r.gateway.delivered) == ["e0", "e2"]


async def test_send_now_returns_the_gateways_answer() -> None:
    """Direct mode waits for the 202 and returns the event's status."""
    r = rig()
    async with r.client() as client:
        first = await client.send_now("start_bot", event_id="startbot_42")
        again = await client.send_now("start_bot", event_id="startbot_42")
    assert (first.status, again.status) == ("queued", "duplicate")
    assert first.event_id == "startbot_42"


async def test_send_now_raises_client_error_and_spools_nothing() -> None:
    """A permanent refusal raises with the findings, relative to the event."""
    r = rig()
    r.gateway.then(422, problem(422, [finding("$.batch[0].properties.language_selected")]))
    async with r.client() as client:
        with pytest.raises(ClientError) as caught:
            await client.send_now("onboarding_language", user={"telegram_id": 42})
        assert client.spooled == 0
    assert [f.path for f in caught.value.findings] == ["$.properties.language_selected"]
    assert caught.value.events[0]["event"] == "onboarding_language"
    assert r.errors == []  # raised to the caller, not also handed to on_error


async def test_send_now_spools_when_the_gateway_stays_down() -> None:
    """Unreachable through every retry: the answer is 'spooled' and the event waits."""
    r = rig()
    r.gateway.down = True
    client = r.client()
    result = await client.send_now("start_bot", event_id="e0")
    assert (result.status, result.event_id) == ("spooled", "e0")
    assert client.spooled == 1
    assert len(r.gateway.requests) == 3  # the policy's three tries
    r.gateway.down = False
    await client.aclose()
    assert _ids(r.gateway.delivered) == ["e0"]


async def test_outage_spools_and_replays_in_order_when_the_gateway_is_back() -> None:
    """Events tracked during an outage queue behind the spooled ones; order is kept."""
    r = rig()
    r.gateway.down = True
    async with r.client() as client:
        for n in range(3):
            await client.track("start_bot", event_id=f"e{n}")
        await client.flush()
        assert client.spooled == 3
        for n in range(3, 5):
            await client.track("start_bot", event_id=f"e{n}")
        await client.flush()
        assert client.spooled == 5
        r.gateway.down = False
        await client.flush()
        assert client.spooled == 0
    assert _ids(r.gateway.delivered) == ["e0", "e1", "e2", "e3", "e4"]
    assert r.errors == []


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_busy_gateway_answers_are_spooled_too(status: int) -> None:
    """429, 5xx and 503 after the last try spool the events instead of dropping them."""
    r = rig()
    for _ in range(3):
        r.gateway.then(status)
    async with r.client() as client:
        await client.track("start_bot", event_id="e0")
        await client.flush()
        assert client.spooled == 1
    assert _ids(r.gateway.delivered) == ["e0"]


async def test_the_spool_is_replayed_in_the_background() -> None:
    """Without any flush() call the spool is retried every replay_interval_s."""
    r = rig()
    r.gateway.down = True
    async with r.client(replay_interval_s=30.0) as client:
        await client.track("start_bot", event_id="e0")
        await client.flush()
        r.gateway.down = False
        await until(lambda: client.spooled == 0)
        assert 30.0 in r.sleep.waits
    assert _ids(r.gateway.delivered) == ["e0"]


async def test_a_long_retry_after_delays_the_replay() -> None:
    """Retry-After beyond what a call waits: the spool waits that long before replaying."""
    r = rig()
    r.gateway.then(503, None, **{"Retry-After": "600"})
    async with r.client(replay_interval_s=30.0) as client:
        await client.track("start_bot", event_id="e0")
        await client.flush()
        assert client.spooled == 1
        await until(lambda: client.spooled == 0)
        assert 600.0 in r.sleep.waits
        assert r.clock() >= NOW_S + 600


async def test_the_file_spool_survives_a_restart_and_replays_on_start(tmp_path: Path) -> None:
    """Spooled to disk by one client, sent in order by the next one as it starts."""
    r = rig()
    r.gateway.down = True
    async with r.client(spool_dir=tmp_path) as client:
        for n in range(3):
            await client.track("start_bot", event_id=f"e{n}")
    assert r.gateway.delivered == [] and r.errors == []
    r.gateway.down = False
    async with r.client(spool_dir=tmp_path) as client:
        assert client.spooled == 3
        await until(lambda: client.spooled == 0)
    assert _ids(r.gateway.delivered) == ["e0", "e1", "e2"]


async def test_aclose_flushes_what_is_queued() -> None:
    """Graceful shutdown sends everything still in memory."""
    r = rig()
    async with r.client() as client:
        await client.track("start_bot", event_id="e0")
        await client.track("start_bot", event_id="e1")
    assert _ids(r.gateway.delivered) == ["e0", "e1"]


async def test_a_memory_spool_reports_its_events_as_lost_at_close() -> None:
    """Without spool_dir, events still undelivered at close reach on_error as EventsLost."""
    r = rig()
    r.gateway.down = True
    async with r.client() as client:
        await client.track("start_bot", event_id="e0")
    [lost] = r.errors
    assert isinstance(lost, EventsLost)
    assert _ids(list(lost.events)) == ["e0"]


async def test_track_refuses_when_memory_and_spool_are_full() -> None:
    """Bounded: a full spool keeps events in memory; a full memory refuses new events."""
    r = rig()
    r.gateway.down = True
    async with r.client(spool_max_events=2, batch_events=2, max_pending=2) as client:
        for n in range(2):
            await client.track("start_bot", event_id=f"e{n}")
        await client.flush()
        for n in range(2, 4):
            await client.track("start_bot", event_id=f"e{n}")
        await client.flush()
        assert (client.spooled, client.queued) == (2, 2)
        with pytest.raises(SpoolFull, match="2 events wait in memory and 2 in the spool"):
            await client.track("start_bot", event_id="e4")
        r.gateway.down = False
        await client.flush()
    assert _ids(r.gateway.delivered) == ["e0", "e1", "e2", "e3"]


async def test_auto_event_id_fills_only_missing_ids() -> None:
    """auto_event_id=True sets new_id() where the caller gave none."""
    r = rig()
    async with r.client(auto_event_id=True, new_id=lambda: "uuid-1") as client:
        await client.track("start_bot")
        await client.track("start_bot", event_id="mine")
    assert _ids(r.gateway.delivered) == ["uuid-1", "mine"]


async def test_a_bad_event_fails_at_the_call_and_queues_nothing() -> None:
    """InvalidEvent is raised by track(), never later in a background flush."""
    r = rig()
    async with r.client() as client:
        with pytest.raises(InvalidEvent):
            await client.track("expense_logged", properties={"amount": math.nan})
        assert client.queued == 0


async def test_gateway_warnings_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    """A warning the gateway repeats for every event is logged once per rule and path."""
    r = rig()
    warning = finding("$.batch[0].context.app", "app_data_fallback", "warning")

    def warn(events: list[dict[str, Any]]) -> httpx.Response:
        results = [{"status": "queued", "warnings": [warning]} for _ in events]
        return httpx.Response(202, json={"results": results})

    r.gateway.script.extend([warn, warn])
    caplog.set_level(logging.WARNING, logger="capigate.client")
    async with r.client() as client:
        await client.send_now("start_bot", event_id="e0")
        result = await client.send_now("start_bot", event_id="e1")
    assert result.warnings[0].path == "$.context.app"
    logged = [m for m in caplog.messages if "app_data_fallback" in m]
    assert len(logged) == 1


async def test_a_closed_client_refuses_events() -> None:
    """After aclose(), track() raises instead of queueing into nowhere."""
    r = rig()
    client = r.client()
    await client.aclose()
    await client.aclose()  # twice is fine
    with pytest.raises(Exception, match="closed"):
        await client.track("start_bot")
