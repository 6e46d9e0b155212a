"""The emulator as a Starlette app: Meta's events edge plus the control endpoints.

Standalone, Graph is at ``/{version}/{pixel_id}/events`` and the control endpoints at
``/__emulator__/events`` (``/faults``, ``/requests``). Mounted by the gateway at
``/__emulator__``, the same app answers ``/__emulator__/{version}/{pixel_id}/events`` and
``/__emulator__/events``: control routes exist both at the app's root and under
``/__emulator__``, so either way of addressing works.
"""

from __future__ import annotations

import asyncio
import random

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from capigate.clock import Clock, system_clock
from capigate.emulator.config import EmulatorConfig
from capigate.emulator.connection import RAW_SEND_KEY
from capigate.emulator.control import Control
from capigate.emulator.graph import Emulator, GraphEdge, Sleep

CONTROL_PREFIXES = ("", "/__emulator__")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class EmulatorApp(Starlette):
    """A Starlette app that remembers the server's own ``send`` (to drop connections).

    Mounted inside another app it sees that app's wrapped ``send``; wrap the outer app in
    ``connection.RememberServerSend`` to keep dropped connections clean there too.
    """

    emulator: Emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault(RAW_SEND_KEY, send)
        await super().__call__(scope, receive, send)


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Clock = system_clock,
    rng: random.Random | None = None,
    sleep: Sleep = asyncio.sleep,
) -> EmulatorApp:
    """Build an emulator; ``clock``, ``rng`` (trace ids) and ``sleep`` (delays) are injectable."""
    emulator = Emulator(
        config or EmulatorConfig(), clock=clock, rng=rng or random.Random(), sleep=sleep
    )
    control = Control(emulator)
    routes = [Route("/{version}/{pixel_id}/events", GraphEdge(emulator))]
    for prefix in CONTROL_PREFIXES:
        routes += [
            Route(f"{prefix}/events", control.events, methods=["GET", "DELETE"]),
            Route(f"{prefix}/requests", control.requests, methods=["GET"]),
            Route(f"{prefix}/faults", control.faults, methods=["GET", "POST", "DELETE"]),
        ]
    routes.append(Route("/{path:path}", control.unknown_path, methods=ALL_METHODS))
    app = EmulatorApp(routes=routes)
    app.emulator = emulator
    app.state.emulator = emulator
    return app
