"""Plain ingest POSTs go straight to the endpoint, past FastAPI's per-request machinery.

FastAPI's stack (error, telemetry, body-limit and exception middleware, the exit stack, route
matching, the request-response wrapper) costs a single-event request about a quarter of its
CPU, and the ingest endpoint uses none of it: it reads its own body and answers problem
documents itself. So a POST to the ingest path that needs nothing from the stack is served
directly: no CORS to apply (no ``Origin`` header, or no browser sources), no root path, and
FastAPI's OpenTelemetry instrumentation off. What the stack does for this route is done here
too: ``request.app`` is the app, and a crash answers the app's 500 problem and propagates to
the server, as Starlette's error middleware does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from capigate.web import api

_ErrorHandler = Callable[[Request, Exception], Awaitable[Response]]


def takes(scope: Scope, *, cors: bool) -> bool:
    """Whether this HTTP request is a plain ingest POST that the endpoint can serve alone."""
    return (
        scope["method"] == "POST"
        and scope["path"] == api.INGEST_PATH
        and not scope.get("root_path")
        and not (cors and any(name == b"origin" for name, _ in scope["headers"]))
    )


async def serve(app: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the ingest endpoint for a request that ``takes`` accepted."""
    scope["app"] = app
    try:
        answer = await api.answer(app.state.gateway, scope, receive)
    except Exception as exc:
        handler = app.exception_handlers.get(Exception)
        if handler is not None:
            request = Request(scope, receive)
            failure = await cast(_ErrorHandler, handler)(request, exc)
            await failure(scope, receive, send)
        raise
    await answer.send(send)


def telemetry_enabled(app: FastAPI) -> bool:
    """Whether FastAPI's native OpenTelemetry instrumentation records this app's requests (a
    provider is configured); then every request keeps the full stack, spans and all."""
    native = getattr(app, "_native_telemetry", None)  # FastAPI >= 0.160; none before
    return native is not None and bool(native.enabled())
