"""The emulator over real HTTP under uvicorn: answers, dropped connections, delays, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from capigate.clock import FrozenClock
from capigate.emulator import create_app
from capigate.emulator.connection import RememberServerSend
from tests.servers import serving
from tests.unit.emulator_kit import GRAPH, NOW_S, event

START_TIMEOUT_S = 10.0


@pytest.fixture
def emulator_url() -> Iterator[str]:
    """A standalone emulator on a frozen clock, as ``capigate emulator`` serves it."""
    with serving(create_app(clock=FrozenClock(NOW_S))) as url:
        yield url


def post(url: str, events: list[Any], read_timeout_s: float = 5.0) -> httpx.Response:
    """POST a JSON Graph body to the standalone emulator."""
    body = {"data": events, "access_token": "tok"}
    return httpx.post(url + GRAPH, json=body, timeout=httpx.Timeout(5.0, read=read_timeout_s))


def test_accepts_json_and_form_over_http(emulator_url: str) -> None:
    """Both body encodings work over a socket and are recorded."""
    as_json = post(emulator_url, [event()])
    as_form = httpx.post(emulator_url + GRAPH,
                         data={"data": json.dumps([event()]), "access_token": "tok"})  # fmt: skip
    recorded = httpx.get(emulator_url + "/__emulator__/events").json()
    assert (as_json.status_code, as_form.status_code) == (200, 200)
    assert as_json.json()["events_received"] == 1
    assert recorded["requests"] == 2
    assert len(recorded["events"]) == 2


def test_rejection_over_http(emulator_url: str) -> None:
    """A bad event answers Meta's envelope over a socket."""
    response = post(emulator_url, [event(event_time=NOW_S - 8 * 86_400)])
    assert response.status_code == 400
    assert response.json()["error"]["error_subcode"] == 2804003


def test_dropped_connection_sends_nothing(emulator_url: str) -> None:
    """Standalone, a dropped connection closes the socket before any byte of an answer."""
    httpx.post(emulator_url + "/__emulator__/faults", json={"drop_connection": True})
    with pytest.raises(httpx.TransportError) as caught:
        post(emulator_url, [event()])
    assert not isinstance(caught.value, httpx.TimeoutException)
    log = httpx.get(emulator_url + "/__emulator__/requests").json()["requests"]
    assert log[-1]["dropped"] is True
    assert post(emulator_url, [event()]).status_code == 200


def test_dropped_connection_when_mounted() -> None:
    """Mounted in another app, a dropped connection is still a transport error for the client."""
    parent = Starlette(routes=[Mount("/__emulator__", app=create_app(clock=FrozenClock(NOW_S)))])
    with serving(parent) as url:
        httpx.post(url + "/__emulator__/faults", json={"drop_connection": True})
        with pytest.raises(httpx.TransportError) as caught:
            httpx.post(url + "/__emulator__" + GRAPH, json={"data": [event()]}, timeout=5)
        assert not isinstance(caught.value, httpx.TimeoutException)
        after = httpx.post(url + "/__emulator__" + GRAPH,
                           json={"data": [event()], "access_token": "t"})  # fmt: skip
    assert after.status_code == 200


def test_dropped_connection_when_mounted_behind_remember_server_send() -> None:
    """With the outer app wrapped in RememberServerSend, the mounted drop is clean too."""
    parent = Starlette(routes=[Mount("/__emulator__", app=create_app(clock=FrozenClock(NOW_S)))])
    with serving(RememberServerSend(parent)) as url:
        httpx.post(url + "/__emulator__/faults", json={"drop_connection": True})
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            httpx.post(url + "/__emulator__" + GRAPH, json={"data": [event()]}, timeout=5)
        log = httpx.get(url + "/__emulator__/requests").json()["requests"]
    assert log[-1]["dropped"] is True


def test_delay_longer_than_client_timeout(emulator_url: str) -> None:
    """A delay fault makes a client with a shorter timeout give up (ReadTimeout)."""
    httpx.post(emulator_url + "/__emulator__/faults", json={"delay_s": 0.6})
    with pytest.raises(httpx.ReadTimeout):
        post(emulator_url, [event()], read_timeout_s=0.15)


def test_delay_shorter_than_client_timeout(emulator_url: str) -> None:
    """A short delay only slows the answer down."""
    httpx.post(emulator_url + "/__emulator__/faults", json={"delay_s": 0.1})
    started = time.monotonic()
    response = post(emulator_url, [event()])
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.1


def test_concurrent_requests_are_all_recorded(emulator_url: str) -> None:
    """Forty concurrent batches are all answered and all recorded, none lost or doubled."""

    async def send_all() -> list[int]:
        async with httpx.AsyncClient(base_url=emulator_url, timeout=10) as client:
            bodies = [{"data": [event(event_id=f"{i}-{j}") for j in range(25)],
                       "access_token": "tok"} for i in range(40)]  # fmt: skip
            responses = await asyncio.gather(*(client.post(GRAPH, json=b) for b in bodies))
        return [r.json()["events_received"] for r in responses]

    received = asyncio.run(send_all())
    recorded = httpx.get(emulator_url + "/__emulator__/events").json()
    assert received == [25] * 40
    assert recorded["requests"] == 40
    assert len({e["event_id"] for e in recorded["events"]}) == 1_000


def test_cli_serves_the_emulator() -> None:
    """``capigate emulator --port N`` answers Graph requests and its control endpoints."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CAPIGATE_EMULATOR_ACCESS_TOKENS": "cli-token"}
    command = [sys.executable, "-m", "capigate", "emulator", "--port", str(port), "--seed", "1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url + "/__emulator__/events", process)
        body = {"data": [_now_event()], "access_token": "cli-token"}
        accepted = httpx.post(url + GRAPH, json=body)
        refused = httpx.post(url + GRAPH, json={**body, "access_token": "other"})
    finally:
        process.terminate()
        process.communicate(timeout=START_TIMEOUT_S)
    assert accepted.status_code == 200, accepted.text
    assert refused.json()["error"]["code"] == 190


def _now_event() -> dict[str, Any]:
    """The CLI runs on the system clock, so the event must be recent."""
    return event(event_time=int(time.time()) - 5)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            httpx.get(url, timeout=0.5)
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        return
    pytest.fail("capigate emulator did not start in time")
