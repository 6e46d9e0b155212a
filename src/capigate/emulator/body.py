"""Reading a Graph request: query string plus a JSON, form-encoded or multipart body (spec §1.1).

Graph merges query and body parameters. ``data`` arrives as an array of objects (JSON body),
as a JSON string of that array (form or multipart, Meta's curl example), or as an array of JSON
strings, one per event (the Python SDK's ``list<string>``); all three become a list of objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

import orjson

from capigate.emulator.envelope import Refused, param_error, unreadable_body

Params = dict[str, Any]


def read_params(content_type: str, body: bytes, query: Iterable[tuple[str, str]]) -> Params:
    """Every request parameter, body values overriding query values; ``data`` may repeat."""
    params: Params = {}
    _merge(params, list(query))
    kind = _body_kind(content_type.lower(), body)
    if kind == "json":
        params.update(_json_object(body))
    elif kind == "form":
        _merge(params, _form_pairs(body))
    elif kind == "multipart":
        _merge(params, _multipart_pairs(content_type, body))
    return params


def events_of(params: Params) -> list[Any]:
    """The ``data`` parameter as a list of decoded events (not yet checked to be objects)."""
    if "data" not in params:
        raise Refused(param_error("The parameter $['data'] is required."))
    raw = params["data"]
    if isinstance(raw, _Repeated):
        events: list[Any] = []
        for text in raw:
            decoded = _json_value(text, "$['data']")
            events.extend(decoded if isinstance(decoded, list) else [decoded])
        return [_decode_item(item, i) for i, item in enumerate(events)]
    if isinstance(raw, str):
        raw = _json_value(raw, "$['data']")
    if not isinstance(raw, list):
        raise Refused(param_error("Invalid parameter type for $['data']: expected an array."))
    if str not in set(map(type, raw)):  # no event sent as a JSON string: nothing to decode
        return raw
    return [_decode_item(item, i) for i, item in enumerate(raw)]


class _Repeated(list[str]):
    """A form field sent more than once (``data=<event>&data=<event>``)."""


def _merge(params: Params, pairs: list[tuple[str, str]]) -> None:
    for key, value in pairs:
        name = key.removesuffix("[]")
        if name == "data" and "data" in params and isinstance(params["data"], str):
            params["data"] = _Repeated([params["data"], value])
        elif name == "data" and isinstance(params.get("data"), _Repeated):
            params["data"].append(value)
        else:
            params[name] = value


def _body_kind(content_type: str, body: bytes) -> str:
    if not body.strip():
        return "none"
    if "json" in content_type:
        return "json"
    if content_type.startswith("application/x-www-form-urlencoded"):
        return "form"
    if content_type.startswith("multipart/form-data"):
        return "multipart"
    return "json" if body.lstrip()[:1] == b"{" else "form"


def _json_object(body: bytes) -> Params:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(unreadable_body(f"invalid JSON ({exc})")) from exc
    if not isinstance(value, dict):
        raise Refused(unreadable_body("a JSON body must be an object"))
    return value


def _json_value(text: str, path: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Refused(param_error(f"Invalid JSON in {path}: {exc}")) from exc


def _decode_item(item: Any, index: int) -> Any:
    if isinstance(item, str):
        return _json_value(item, f"$['data'][{index}]")
    return item


def _form_pairs(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(unreadable_body("form data is not UTF-8")) from exc
    return parse_qsl(text, keep_blank_values=True)


def _multipart_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    header = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise Refused(unreadable_body("multipart body without parts"))
    pairs: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            pairs.append((name, payload.decode("utf-8", errors="replace")))
    return pairs
