"""The ingest request body: read it within the size limit, parse it, find its events.

Size is checked twice: the declared ``Content-Length`` first, then the bytes actually streamed
(a chunked or lying client cannot get past the limit). Any refusal is a ``Refused`` carrying
its problem document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope

from capigate.findings import error
from capigate.web.problems import Problem, Refused, malformed_json, too_large
from capigate.web.schemas import MAX_BATCH_EVENTS


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by (lower-case) name, each decoded once; the first of repeats."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in found:
            found[key] = value.decode("latin-1")
    return found


def header_values(scope: Scope, name: str) -> list[str]:
    """Every value of the header ``name`` (lower-case), in order."""
    raw = name.encode("latin-1")
    return [value.decode("latin-1") for key, value in scope["headers"] if key == raw]


async def read_body(receive: Receive, limit: int, headers: Mapping[str, str]) -> bytes:
    """The raw body, at most ``limit`` bytes (413 otherwise); only identity encoding.
    ``headers`` are the request's by lower-case name (``header_map`` or starlette's)."""
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise Refused(
            malformed_json("Content-Encoding is not supported; send plain JSON"), "malformed_json"
        )
    declared = headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(too_large(limit), "too_large")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:  # Request.stream(), without an async generator per request
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise Refused(too_large(limit), "too_large")
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse(body: bytes) -> Any:
    """The JSON document of ``body`` (400 when empty or not JSON)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = "the body is empty" if not body.strip() else exc.msg
        raise Refused(malformed_json(reason), "malformed_json") from None


def items(document: Any) -> tuple[list[Any], str]:
    """The events of a body and their JSONPath prefix: ``([event], "$")`` or the batch."""
    if not isinstance(document, dict):
        raise _invalid_request(
            "$", "body_type", 'the body must be an event object or {"batch": [...]}'
        )
    if "batch" not in document:
        return [document], "$"
    batch = document["batch"]
    extra = sorted(k for k in document if k != "batch")
    if extra:
        raise _invalid_request(f"$.{extra[0]}", "unknown_field", "a batch body has only 'batch'")
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH_EVENTS:
        raise _invalid_request(
            "$.batch", "batch_size", f"batch must be a list of 1 to {MAX_BATCH_EVENTS} events"
        )
    return batch, "$.batch"


def _invalid_request(path: str, rule: str, message: str) -> Refused:
    problem = Problem(422, "invalid-request", message, [error(path, rule, message)])
    return Refused(problem, "invalid")
