"""The emulator's own endpoints, for tests and the dashboard (DESIGN.md "Sandbox mode").

``GET /events`` (``?pixel_id=``, ``?test_event_code=``) answers ``{"requests": <Graph requests
received>, "events": [...]}``; ``DELETE /events`` forgets everything received; ``GET /requests``
lists every Graph request with its status, error and warnings; ``POST /faults`` scripts failures,
``GET /faults`` shows them, ``DELETE /faults`` clears them.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from capigate.emulator import envelope
from capigate.emulator.graph import Emulator
from capigate.errors import ValidationError


class Control:
    """Handlers for the control endpoints of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def events(self, request: Request) -> Response:
        """GET: the recorded events; DELETE: reset the record."""
        state = self.emulator.state
        if request.method == "DELETE":
            state.reset()
            return _json({"requests": 0, "events": []})
        query = request.query_params
        events = state.events(query.get("pixel_id"), query.get("test_event_code"))
        return _json({"requests": state.request_count, "events": events})

    async def requests(self, request: Request) -> Response:
        """GET: every Graph request received, with its answer."""
        del request
        entries = self.emulator.state.requests()
        return _json({"count": self.emulator.state.request_count, "requests": entries})

    async def faults(self, request: Request) -> Response:
        """POST: script a fault or throttle; GET: show them; DELETE: clear them."""
        plan = self.emulator.faults
        if request.method == "DELETE":
            plan.clear()
        elif request.method == "POST":
            try:
                spec = orjson.loads(await request.body())
                if not isinstance(spec, dict):
                    raise ValidationError("faults: the body must be a JSON object")
                plan.add(spec)
            except orjson.JSONDecodeError:
                return _json({"error": "faults: the body must be a JSON object"}, 400)
            except ValidationError as exc:
                return _json({"error": str(exc)}, 400)
        return _json(plan.snapshot())

    async def unknown_path(self, request: Request) -> Response:
        """Any other path: Graph's "Unknown path components" (code 2500)."""
        error = envelope.unknown_path(request.url.path)
        trace_id = envelope.new_trace_id(self.emulator.rng)
        return _json(error.body(trace_id), error.status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
