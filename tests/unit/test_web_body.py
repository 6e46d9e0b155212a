"""Reading the ingest body: chunks joined, the size limit enforced, a disconnect raised."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from capigate.web import body
from capigate.web.problems import Refused


def _receive(*messages: dict[str, Any]) -> Receive:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


def _chunk(data: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": data, "more_body": more}


async def test_chunks_are_joined_in_order() -> None:
    """A body sent in several messages comes back whole."""
    receive = _receive(_chunk(b'{"a":', True), _chunk(b"", True), _chunk(b"1}", False))
    assert await body.read_body(receive, 100, {}) == b'{"a":1}'


async def test_a_body_past_the_limit_is_refused_while_streaming() -> None:
    """Without a Content-Length, the limit is checked on the bytes as they arrive."""
    receive = _receive(_chunk(b"x" * 60, True), _chunk(b"x" * 60, False))
    with pytest.raises(Refused) as refused:
        await body.read_body(receive, 100, {})
    assert refused.value.problem.status == 413


async def test_a_client_that_leaves_mid_body_raises_client_disconnect() -> None:
    """A disconnect before the last chunk is starlette's ClientDisconnect, as before."""
    receive = _receive(_chunk(b"{", True), {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        await body.read_body(receive, 100, {})


def test_header_map_keeps_the_first_of_repeated_headers() -> None:
    """Header names map to their first value; every value of one name stays readable."""
    headers = [(b"x-forwarded-for", b"10.0.0.1"), (b"x-forwarded-for", b"10.0.0.2")]
    scope = {"headers": [*headers, (b"user-agent", b"caf\xe9")]}
    assert body.header_map(scope) == {"x-forwarded-for": "10.0.0.1", "user-agent": "café"}
    assert body.header_values(scope, "x-forwarded-for") == ["10.0.0.1", "10.0.0.2"]
