"""The worker inside ``capigate serve``: delivers to the mounted emulator, reports in /readyz."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from capigate.errors import ConfigError
from capigate.settings import Settings
from capigate.store import InMemoryStore, Status
from capigate.store.circuits import PixelCircuit
from capigate.worker.config import WorkerSettings
from capigate.worker.service import delivery_clients
from tests.unit.web_kit import INGEST, NOW_S, live_settings, running, sandbox_settings, web_event

QUICK = WorkerSettings(poll_interval_s=0.01)


async def _until(condition: Callable[[], Awaitable[bool]], timeout_s: float = 5.0) -> None:
    """Wait (bounded) for the background worker to make ``condition`` true."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the worker did not get there in time")


async def test_serve_delivers_to_the_mounted_emulator_in_sandbox_mode() -> None:
    """An ingested event reaches /__emulator__/events once the flush interval has passed."""
    async with running(sandbox_settings(worker=QUICK)) as h:
        response = await h.client.post(INGEST, json=web_event("s-1"))
        assert response.status_code == 202, response.text
        h.clock.advance(QUICK.flush_interval_s)

        async def delivered() -> bool:
            return any(e.status is Status.DELIVERED for e in await h.stored())

        await _until(delivered)
        recorded = (await h.client.get("/__emulator__/events")).json()
        assert [e["event_id"] for e in recorded["events"]] == ["cta_s-1"]
        metrics = (await h.client.get("/metrics")).text
        assert 'capigate_delivery_events_total{pixel="100000000000001",result="delivered"} 1' in (
            metrics
        )
        ready = (await h.client.get("/readyz")).json()
        assert ready["delivery"]["worker"]["running"] is True
        assert ready["delivery"]["worker"]["events"] == {"100000000000001": {"delivered": 1}}
        assert ready["delivery"]["paused_pixels"] == []


async def test_readyz_says_why_delivery_to_a_pixel_is_paused() -> None:
    """A circuit saved by any worker shows in /readyz with its reason; the gateway stays ready."""
    store = InMemoryStore()
    reason = "access token refused: Invalid OAuth access token (code 190)"
    await store.save_circuit(
        PixelCircuit("1234567890", "open", reason, NOW_S, NOW_S + 30, 0, NOW_S)
    )
    async with running(live_settings(worker=dataclasses.replace(QUICK, enabled=False)),
                       store=store) as h:  # fmt: skip
        response = await h.client.get("/readyz")
    report = response.json()
    assert response.status_code == 200 and report["status"] == "ready"
    assert report["reasons"] == [f"delivery to pixel 1234567890 is paused: {reason}"]
    [paused] = report["delivery"]["paused_pixels"]
    assert (paused["pixel_id"], paused["next_probe_at"]) == ("1234567890", NOW_S + 30)
    assert "worker" not in report["delivery"]


async def test_worker_enabled_false_leaves_delivery_to_capigate_worker() -> None:
    """With worker.enabled false, serve stores events and sends nothing."""
    async with running(sandbox_settings(worker=WorkerSettings(enabled=False))) as h:
        await h.client.post(INGEST, json=web_event("s-2"))
        h.clock.advance(5)
        assert [e.status for e in await h.stored()] == [Status.QUEUED]
        assert h.app.state.gateway.worker is None


async def test_a_standalone_worker_in_sandbox_mode_needs_an_emulator_url() -> None:
    """Sandbox mode without CAPIGATE_GRAPH_URL and without serve's emulator: a clear error."""
    with pytest.raises(ConfigError, match="CAPIGATE_GRAPH_URL"):
        async with delivery_clients(Settings()):
            pass


async def test_sandbox_mode_with_a_graph_url_posts_there_with_a_placeholder_token() -> None:
    """CAPIGATE_GRAPH_URL in sandbox mode points every pixel's client at that emulator."""
    settings = Settings(graph_url="http://127.0.0.1:8099")
    async with delivery_clients(settings) as clients:
        [client] = clients.values()
        assert client.events_url("100000000000001").startswith("http://127.0.0.1:8099/v25.0/")
