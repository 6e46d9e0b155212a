"""Plain ingest POSTs go straight to the endpoint, past FastAPI's per-request machinery.

FastAPI's stack (error, telemetry, body-limit and exception middleware, the exit stack, route
matching, the request-response wrapper) costs a single-event request about a quarter of its
CPU, and the ingest endpoint uses none of it: it reads its own body and answers problem
documents itself. So a POST to the ingest path is served directly, unless a root path is set
or FastAPI's OpenTelemetry instrumentation is on. What the stack does for this route is done
here too: ``request.app`` is the app; with browser sources, the headers Starlette's CORS
middleware adds to a POST's answer (the allowed ``Origin`` mirrored, ``Vary: Origin``); and a
crash answers the app's 500 problem (without CORS headers, as the error middleware sits
outside CORS) and propagates to the server, as Starlette's error middleware does.
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


def takes(scope: Scope) -> bool:
    """Whether this HTTP request is an ingest POST that the endpoint can serve alone."""
    return (
        scope["method"] == "POST"
        and scope["path"] == api.INGEST_PATH
        and not scope.get("root_path")
    )


async def serve(
    app: FastAPI, scope: Scope, receive: Receive, send: Send, *, cors: frozenset[str] | None
) -> None:
    """Run the ingest endpoint for a request that ``takes`` accepted; ``cors`` holds the
    allowed origins when the app has the CORS middleware (``None`` when it has not)."""
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
    await answer.send(send, () if cors is None else cors_headers(scope, cors))


def cors_headers(scope: Scope, origins: frozenset[str]) -> list[tuple[bytes, bytes]]:
    """What ``CORSMiddleware(allow_origins=origins)`` adds to the answer to a (non-preflight)
    request without ``Vary`` or CORS headers of its own: an allowed ``Origin`` mirrored back,
    and ``Vary: Origin`` always."""
    origin = next((value for name, value in scope["headers"] if name == b"origin"), None)
    if origin is not None and origin.decode("latin-1") in origins:
        return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
    return [(b"vary", b"Origin")]


def telemetry_enabled(app: FastAPI) -> bool:
    """Whether FastAPI's native OpenTelemetry instrumentation records this app's requests (a
    provider is configured); then every request keeps the full stack, spans and all."""
    native = getattr(app, "_native_telemetry", None)  # FastAPI >= 0.160; none before
    return native is not None and bool(native.enabled())
