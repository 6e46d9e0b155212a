"""What the client sends and what the gateway answers: ingest items and per-event results.

An item has the gateway's ingest shape (DESIGN.md "Contract")::

    {"event": "start_bot", "event_time": 1763800000,
     "user": {"telegram_id": "42"}, "context": {"start_param": "lp-81f2"}}

The client pins ``event_time`` when it queues an item, so a resend hours later (from the
spool) keeps the moment the user acted, and plan ids built from it (``onboard_lang_{user_id}_
{ts}``) come out the same on every resend: the gateway answers ``duplicate`` instead of
counting twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Required, TypedDict, Unpack

from capigate.client.errors import InvalidEvent

Status = Literal["queued", "duplicate", "spooled"]
SECTIONS = ("user", "properties", "context")


class Event(TypedDict, total=False):
    """One ingest item: a tracking-plan key (``event``) and what describes it."""

    event: Required[str]
    event_id: str
    event_time: int | float
    action_source: str
    user: dict[str, Any]
    properties: dict[str, Any]
    context: dict[str, Any]


class EventFields(TypedDict, total=False):
    """The keyword fields of ``event()``, ``track()`` and ``send_now()``."""

    event_id: str | None
    event_time: float | None
    action_source: str | None
    user: Mapping[str, Any] | None
    properties: Mapping[str, Any] | None
    context: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding of the gateway: a JSONPath, its rule, ``error`` or ``warning``, a message."""

    path: str
    rule: str
    severity: str
    message: str
    spec: str | None = None

    @classmethod
    def from_json(cls, data: object) -> Finding:
        """A finding from the gateway's JSON; odd shapes become a readable finding anyway."""
        d = data if isinstance(data, Mapping) else {}
        spec = d.get("spec")
        return cls(
            path=str(d.get("path", "$")),
            rule=str(d.get("rule", "unknown")),
            severity=str(d.get("severity", "error")),
            message=str(d.get("message", data if not d else "")),
            spec=spec if isinstance(spec, str) else None,
        )


@dataclass(frozen=True, slots=True)
class EventResult:
    """The gateway's answer for one event, or ``spooled`` when it waits in the local spool."""

    status: Status
    event_id: str | None = None
    event_name: str | None = None
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Pending:
    """One encoded event waiting to be sent; ``seq`` is its spool row when it came from one."""

    data: bytes
    seq: int | None = None


def event(name: str, **fields: Unpack[EventFields]) -> Event:
    """An ingest item for plan key ``name``; ``None`` and empty fields are left out.

    ``event("start_bot", user={"telegram_id": 42}, context={"start_param": "lp-81f2"})``.
    Raises ``InvalidEvent`` on a shape the gateway could never take.
    """
    item: dict[str, Any] = {"event": name}
    for key, given in fields.items():
        value = _without_nones(given) if key in SECTIONS else given
        if value is not None and value != {}:
            item[key] = value
    return checked(item)


def prepared(
    event_or_name: str | Mapping[str, Any],
    fields: EventFields,
    *,
    now_s: float,
    new_id: Callable[[], str] | None,
) -> Event:
    """The item ``track``/``send_now`` queue: built (or checked) and stamped."""
    if isinstance(event_or_name, str):
        item = event(event_or_name, **fields)
    elif isinstance(event_or_name, Mapping) and not fields:
        item = checked(event_or_name)
    else:
        raise TypeError("pass a plan key with keyword fields, or one Event mapping alone")
    return stamped(item, now_s=now_s, new_id=new_id)


def checked(item: Mapping[str, Any]) -> Event:
    """``item`` as an ``Event`` after checking what the client itself relies on."""
    name = item.get("event")
    if not isinstance(name, str) or not name.strip():
        raise InvalidEvent("event: must be a non-empty string (a tracking-plan key)")
    for section in SECTIONS:
        if section in item and not isinstance(item[section], Mapping):
            kind = type(item[section]).__name__
            raise InvalidEvent(f"{section}: must be an object (a mapping), not {kind}")
    event_time = item.get("event_time")
    if event_time is not None and not _is_number(event_time):
        raise InvalidEvent("event_time: must be Unix seconds (a number)")
    event_id = item.get("event_id")
    if event_id is not None and (not isinstance(event_id, str) or not event_id.strip()):
        raise InvalidEvent("event_id: must be a non-empty string")
    out: Event = {**item}  # type: ignore[typeddict-item]
    return out


def stamped(item: Event, *, now_s: float, new_id: Callable[[], str] | None = None) -> Event:
    """``item`` with ``event_time`` pinned to ``now_s`` and, with ``new_id``, an ``event_id``."""
    out = Event(**item)
    out.setdefault("event_time", int(now_s))
    if new_id is not None:
        out.setdefault("event_id", new_id())
    return out


def encode(item: Event) -> bytes:
    """Compact UTF-8 JSON of ``item``; raises ``InvalidEvent`` when it is not plain JSON."""
    try:
        text = json.dumps(item, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"event {item.get('event')!r} is not plain JSON: {exc}") from None
    return text.encode()


def decode(data: bytes) -> Event:
    """The item that ``encode`` wrote."""
    item: Event = json.loads(data)
    return item


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _without_nones(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return value
