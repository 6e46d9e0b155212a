"""Shared helpers for the emulator tests: a valid event, an in-process client, a post helper."""

from __future__ import annotations

import copy
import hashlib
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from capigate.clock import FrozenClock
from capigate.emulator import EmulatorConfig, create_app
from capigate.emulator.app import EmulatorApp

NOW_S = 1_763_800_000
PIXEL = "1234567890"
GRAPH = f"/v25.0/{PIXEL}/events"


def sha(value: str) -> str:
    """Lowercase hex SHA-256, as Meta wants hashed customer information."""
    return hashlib.sha256(value.encode()).hexdigest()


VALID_EVENT: dict[str, Any] = {
    "event_name": "Lead",
    "event_time": NOW_S - 60,
    "action_source": "website",
    "event_source_url": "https://example.com/landing",
    "event_id": "lead-1",
    "user_data": {
        "em": [sha("joe@example.com")],
        "ph": sha("16505551212"),
        "client_ip_address": "203.0.113.7",
        "client_user_agent": "Mozilla/5.0",
        "fbp": "fb.1.1596403881668.1116446470",
    },
    "custom_data": {"value": 9.99, "currency": "USD"},
}


def event(**overrides: Any) -> dict[str, Any]:
    """A copy of an event Meta accepts, with top-level keys replaced (None deletes a key)."""
    result = copy.deepcopy(VALID_EVENT)
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def with_user_data(**overrides: Any) -> dict[str, Any]:
    """A valid event whose user_data keys are replaced (None deletes a key)."""
    result = event()
    for key, value in overrides.items():
        if value is None:
            result["user_data"].pop(key, None)
        else:
            result["user_data"][key] = value
    return result


def make_app(config: EmulatorConfig | None = None, clock: FrozenClock | None = None) -> EmulatorApp:
    """An emulator on a frozen clock with seeded trace ids and a sleep that only records."""
    clock = clock or FrozenClock(NOW_S)
    return create_app(config, clock=clock, rng=random.Random(7), sleep=RecordingSleep())


class RecordingSleep:
    """An injectable sleep that returns at once and remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@asynccontextmanager
async def client_for(
    app: Any, base_url: str = "http://graph.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to ``app`` in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


async def post_events(
    client: httpx.AsyncClient,
    events: list[Any],
    *,
    path: str = GRAPH,
    token: str | None = "test-token",
    **params: Any,
) -> httpx.Response:
    """POST a JSON body the way the Node SDK and most integrations do."""
    body: dict[str, Any] = {"data": events, **params}
    if token is not None:
        body["access_token"] = token
    return await client.post(path, json=body)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph error answer."""
    body = response.json()
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    return error
