"""An HTTP answer as plain values: sent straight to ASGI, or wrapped in a starlette Response.

The ingest route answers every request with one of these; the direct path (``web.direct``)
sends it as two ASGI messages without building a Response and its header list each time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from starlette.responses import Response
from starlette.types import Send

JSON = "application/json"


class Answer(NamedTuple):
    """Status, body, media type and any extra headers of one response."""

    status: int
    content: bytes
    media_type: str = JSON
    headers: Mapping[str, str] | None = None

    def response(self) -> Response:
        """The same answer as a starlette Response (for FastAPI's stack)."""
        return Response(self.content, self.status, self.headers, self.media_type)

    async def send(self, send: Send, after: Iterable[tuple[bytes, bytes]] = ()) -> None:
        """Send it as ``http.response.start`` and ``http.response.body``, with the headers a
        starlette Response would give (the extra ones, ``content-length``, ``content-type``),
        then the raw headers ``after`` (what a middleware would have appended)."""
        raw = (
            [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()]
            if self.headers
            else []
        )
        raw.append((b"content-length", b"%d" % len(self.content)))
        raw.append((b"content-type", self.media_type.encode("latin-1")))
        raw.extend(after)
        await send({"type": "http.response.start", "status": self.status, "headers": raw})
        await send({"type": "http.response.body", "body": self.content})
