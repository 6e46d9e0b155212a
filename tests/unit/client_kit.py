"""Fakes for the client's unit tests: a scripted gateway behind httpx.MockTransport, a sleep
that only records, and a client factory wired to them."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from capigate.client import AsyncCapigate, RetryPolicy
from capigate.clock import FrozenClock

NOW_S = 1_763_800_000.0
KEY = "sk_bot_0123456789abcdef"
BASE_URL = "http://gateway.test"

Reply = Callable[[list[dict[str, Any]]], httpx.Response]


@dataclass
class FakeGateway:
    """Answers ingest requests like the gateway: 202 with per-event status, dedup on event_id.

    ``down`` makes every request fail to connect, ``drops`` only the next few; ``script``
    queues answers for the next requests (a status and headers, or a function of the events).
    """

    down: bool = False
    drops: int = 0
    requests: list[httpx.Request] = field(default_factory=list)
    batches: list[list[dict[str, Any]]] = field(default_factory=list)  # bodies it answered 202
    seen: set[str] = field(default_factory=set)
    script: deque[Reply] = field(default_factory=deque)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down or self.drops > 0:
            self.drops -= 1
            raise httpx.ConnectError("connection refused", request=request)
        events = json.loads(request.content)["batch"]
        if self.script:
            return self.script.popleft()(events)
        return self.accept(events)

    def accept(self, events: list[dict[str, Any]]) -> httpx.Response:
        """202 with ``queued``/``duplicate`` per event, as the gateway answers."""
        self.batches.append(events)
        results = []
        for i, item in enumerate(events):
            event_id = item.get("event_id") or f"{item['event']}_{item.get('user', {})}"
            status = "duplicate" if event_id in self.seen else "queued"
            self.seen.add(event_id)
            results.append({"index": i, "status": status, "event_id": event_id,
                            "event_name": item["event"], "warnings": []})  # fmt: skip
        return httpx.Response(202, json={"results": results})

    def then(self, status: int, document: Any = None, **headers: str) -> FakeGateway:
        """Answer the next request with ``status``, a JSON document and headers."""
        self.script.append(lambda _events: httpx.Response(status, json=document, headers=headers))
        return self

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Every event the gateway took, in order."""
        return [item for batch in self.batches for item in batch]


@dataclass
class FakeSleep:
    """Records each wait and moves the clock instead of sleeping (simulated time).

    It still yields to the event loop once, so a background task that waits in a loop lets
    the test run.
    """

    clock: FrozenClock
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


def problem(status: int, errors: list[dict[str, Any]], detail: str = "refused") -> dict[str, Any]:
    """A gateway problem document."""
    kind = {422: "invalid-events", 401: "unauthorized", 403: "forbidden"}.get(status, "other")
    return {"type": f"urn:capigate:problem:{kind}", "title": kind, "status": status,
            "detail": detail, "errors": errors}  # fmt: skip


def finding(path: str, rule: str = "property_required", severity: str = "error") -> dict[str, Any]:
    return {"path": path, "rule": rule, "severity": severity, "message": f"{rule} at {path}"}


@dataclass
class Rig:
    """A client wired to a fake gateway, clock and sleep; ``errors`` collects ``on_error``."""

    gateway: FakeGateway
    clock: FrozenClock
    sleep: FakeSleep
    errors: list[Exception]

    def client(self, **options: Any) -> AsyncCapigate:
        settings: dict[str, Any] = {
            "base_url": BASE_URL,
            "transport": httpx.MockTransport(self.gateway),
            "clock": self.clock,
            "sleep": self.sleep,
            "random": lambda: 0.5,
            "on_error": self.errors.append,
            "retry": RetryPolicy(attempts=3, base_s=1.0, cap_s=8.0),
            "flush_interval_s": 3600.0,
        }
        settings.update(options)
        return AsyncCapigate(KEY, **settings)


def rig() -> Rig:
    clock = FrozenClock(NOW_S)
    return Rig(FakeGateway(), clock, FakeSleep(clock), [])


async def until(condition: Callable[[], bool], rounds: int = 500) -> None:
    """Let the event loop run (no real time passes) until ``condition`` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition did not hold")
