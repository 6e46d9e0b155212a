"""Dropping a connection without an answer, for the ``drop_connection`` fault.

Under uvicorn (standalone ``capigate emulator``) the socket is aborted before a byte of the
answer is written, so the client sees "server disconnected without sending a response". Anywhere
else (mounted in the gateway, or in-process through ``httpx.ASGITransport``) the answer is broken
off after its status line: a server closes the connection, and an in-process httpx client gets
``DroppedConnection``, a ``httpx.RemoteProtocolError``, just as it would over a socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND_KEY = "capigate.emulator.raw_send"
_MAX_YIELDS = 100


class DroppedConnection(httpx.RemoteProtocolError):
    """The emulator dropped the connection on purpose (a scripted fault)."""


class RememberServerSend:
    """ASGI wrapper for an outer app that mounts the emulator: keeps the server's ``send``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault(RAW_SEND_KEY, send)
        await self.app(scope, receive, send)


async def drop_connection(scope: Scope, send: Send) -> None:
    """Close the client's connection without a complete answer."""
    cycle = _uvicorn_cycle(scope.get(RAW_SEND_KEY))
    if cycle is not None:
        cycle.transport.abort()
        for _ in range(_MAX_YIELDS):  # let uvicorn notice, so it does not try to answer
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1"), (b"connection", b"close")],
        }
    )
    raise DroppedConnection("Server disconnected without sending a complete response.")


def _uvicorn_cycle(raw_send: Any) -> Any:
    """uvicorn's per-request cycle object, when ``raw_send`` is its own ``send`` method."""
    cycle = getattr(raw_send, "__self__", None)
    if cycle is None or not type(cycle).__module__.startswith("uvicorn."):
        return None
    transport = getattr(cycle, "transport", None)
    return cycle if transport is not None and hasattr(transport, "abort") else None
