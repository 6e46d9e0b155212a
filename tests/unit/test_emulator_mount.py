"""Mounted in a parent app at /__emulator__ (sandbox mode), Graph and control paths both work."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tests.unit.emulator_kit import client_for, event, make_app, post_events


async def _healthz(request: Request) -> PlainTextResponse:
    del request
    return PlainTextResponse("ok")


def gateway() -> Starlette:
    """A stand-in for the gateway: its own route plus the emulator mounted at /__emulator__."""
    return Starlette(routes=[Route("/healthz", _healthz), Mount("/__emulator__", app=make_app())])


async def test_graph_edge_under_the_mount() -> None:
    """POST /__emulator__/v25.0/{pixel}/events is the Graph edge; events show at /events."""
    async with client_for(gateway()) as client:
        response = await post_events(client, [event()], path="/__emulator__/v25.0/42/events")
        recorded = (await client.get("/__emulator__/events")).json()
        health = await client.get("/healthz")
    assert response.status_code == 200, response.text
    assert recorded["requests"] == 1
    assert recorded["events"][0]["pixel_id"] == "42"
    assert health.text == "ok"


async def test_control_endpoints_under_the_mount() -> None:
    """Faults, requests and reset answer at /__emulator__/faults, /requests, /events."""
    async with client_for(gateway()) as client:
        scripted = await client.post("/__emulator__/faults", json={"code": 2})
        failed = await post_events(client, [event()], path="/__emulator__/v25.0/42/events")
        log = (await client.get("/__emulator__/requests")).json()
        reset = await client.delete("/__emulator__/events")
    assert scripted.status_code == 200
    assert failed.status_code == 500
    assert log["requests"][0]["path"] == "/__emulator__/v25.0/42/events"
    assert reset.json() == {"requests": 0, "events": []}


async def test_standalone_serves_control_endpoints_at_both_paths() -> None:
    """Standalone, /__emulator__/events and /events are the same record."""
    async with client_for(make_app()) as client:
        await post_events(client, [event()])
        prefixed = (await client.get("/__emulator__/events")).json()
        bare = (await client.get("/events")).json()
    assert prefixed == bare
    assert prefixed["requests"] == 1


async def test_dropped_connection_under_the_mount() -> None:
    """Mounted, a dropped connection still reaches an in-process client as a transport error."""
    async with client_for(gateway()) as client:
        await client.post("/__emulator__/faults", json={"drop_connection": True})
        with pytest.raises(httpx.RemoteProtocolError):
            await post_events(client, [event()], path="/__emulator__/v25.0/42/events")


async def test_unknown_path_under_the_mount() -> None:
    """An unknown path inside the mount answers Graph's code 2500, not the parent's 404."""
    async with client_for(gateway()) as client:
        response = await client.get("/__emulator__/v25.0/42")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500
