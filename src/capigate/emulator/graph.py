"""The fake ``POST /{version}/{pixel_id}/events`` edge: faults, auth, body, rules, record."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from capigate.clock import Clock
from capigate.emulator import envelope
from capigate.emulator.auth import check_auth
from capigate.emulator.body import events_of, read_params
from capigate.emulator.config import EmulatorConfig
from capigate.emulator.connection import drop_connection
from capigate.emulator.envelope import Refused, new_trace_id
from capigate.emulator.faults import NO_ACTION, Action, FaultPlan
from capigate.emulator.rules import check_events
from capigate.emulator.state import EmulatorState

Sleep = Callable[[float], Awaitable[None]]
VERSION_RE = re.compile(r"v\d+\.\d+")
MAX_WARNINGS_PER_REQUEST = 50


class Emulator:
    """Configuration, state and fault plan behind the app (``app.state.emulator``)."""

    def __init__(
        self, config: EmulatorConfig, *, clock: Clock, rng: random.Random, sleep: Sleep
    ) -> None:
        self.config = config
        self.clock = clock
        self.rng = rng
        self.sleep = sleep
        self.state = EmulatorState(
            dedup_window_s=config.dedup_window_s,
            max_events=config.max_recorded_events,
            max_requests=config.max_recorded_requests,
        )
        self.faults = FaultPlan(clock, config.throttle_status)


class GraphEdge:
    """ASGI endpoint for the events edge (raw ASGI so that it can drop the connection)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        version, pixel_id = request.path_params["version"], request.path_params["pixel_id"]
        if VERSION_RE.fullmatch(version):
            action = self.emulator.faults.next_for(pixel_id) or NO_ACTION
        else:
            action = Action(error=envelope.unknown_path(request.url.path))
        if action.delay_s:
            await self.emulator.sleep(action.delay_s)
        log: dict[str, Any] = {
            "received_at": self.emulator.clock(),
            "method": request.method,
            "path": request.url.path,
            "pixel_id": pixel_id,
            "fault": action.label or None,
        }
        if action.drop_connection:
            self._record(log, status=None, dropped=True)
            await request.body()  # read it all, so closing does not reset the socket early
            await drop_connection(scope, send)
            return
        response = await self._respond(request, version, pixel_id, action, log)
        await response(scope, receive, send)

    async def _respond(
        self, request: Request, version: str, pixel_id: str, action: Action, log: dict[str, Any]
    ) -> Response:
        if action.error is not None and action.raw_body is not None:
            self._record(log, status=action.error.status)
            headers = dict(action.error.headers)
            return Response(action.raw_body, action.error.status, headers, media_type="text/html")
        trace_id = new_trace_id(self.emulator.rng)
        warnings: list[str] = []
        try:
            if action.error is not None:
                raise Refused(action.error)
            received = await self._accept(request, version, pixel_id, log, warnings)
        except Refused as refused:
            error = refused.error
            self._record(log, status=error.status, error=error.summary(), fbtrace_id=trace_id,
                         warnings=warnings[:MAX_WARNINGS_PER_REQUEST])  # fmt: skip
            headers = {**error.headers, "x-fb-trace-id": trace_id}
            return _json(error.body(trace_id), error.status, headers)
        self._record(log, status=200, fbtrace_id=trace_id,
                     warnings=warnings[:MAX_WARNINGS_PER_REQUEST])  # fmt: skip
        body = {"events_received": received, "messages": [], "fbtrace_id": trace_id}
        return _json(body, 200, {"x-fb-trace-id": trace_id})

    async def _accept(
        self, request: Request, version: str, pixel_id: str, log: dict[str, Any],
        warnings: list[str],
    ) -> int:  # fmt: skip
        """Check the request in spec §12 order and record its events; return how many."""
        config = self.emulator.config
        if request.method != "POST":
            raise Refused(envelope.unsupported_method(request.method, config.non_post_status))
        content_type = request.headers.get("content-type", "")
        query = request.query_params.multi_items()
        params = read_params(content_type, await request.body(), query)
        check_auth(params, pixel_id, version, config)
        events = events_of(params)
        code = params.get("test_event_code")
        log.update(events=len(events), test_event_code=None if code is None else str(code))
        if len(events) > config.max_events:
            raise Refused(envelope.too_many_events(len(events), config.max_events))
        if not events:
            raise Refused(envelope.param_error("The parameter $['data'] must not be empty."))
        now_s = log["received_at"]
        check_events(events, pixel_id, config, now_s, warnings)
        flags = self.emulator.state.accept(pixel_id, log["test_event_code"], events, now_s)
        log["deduplicated"] = sum(flags)
        return len(events)

    def _record(self, log: dict[str, Any], **outcome: Any) -> None:
        defaults: dict[str, Any] = {"events": None, "test_event_code": None, "deduplicated": 0,
                                    "error": None, "warnings": [], "dropped": False,
                                    "fbtrace_id": None}  # fmt: skip
        self.emulator.state.record_request({**defaults, **log, **outcome})


def _json(body: Any, status: int, headers: dict[str, str]) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
