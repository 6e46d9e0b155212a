"""A derived event, and the ingest item it becomes (so it takes the same path as sent events).

The item names a plan key and no ``event_id``: the plan's template makes the id
(``retention30_{user_id}``, ``dropoff_{session_id}``, ...), so the id of a derived event is
deterministic, and a source that sends the same event itself (a backfill) produces the same
id: the store's dedup on (pixel, event_name, event_id) keeps one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from capigate.lifecycle.state import UserState

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class DerivedEvent:
    """An event a rule emits: its plan key, time, properties and extra (hashed) user fields."""

    plan_key: str
    event_time: int
    properties: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    user: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    session_id: str | None = None  # context.session_id (Drop_Off's event_id template)


def to_item(
    event: DerivedEvent, state: UserState, base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ingest item for ``event`` about the user of ``state``.

    ``base`` is the activity item that caused it, if any: its ``user`` (match keys such as IP,
    user agent, fbp) and ``context`` (app data, test_event_code) ride along.
    """
    user = dict(_mapping(base, "user"))
    context = dict(_mapping(base, "context"))
    for name, value in (("telegram_id", state.telegram_id), ("user_id", state.user_id)):
        if value is not None:
            user[name] = value
    user.update(event.user)
    if event.session_id is not None:
        context["session_id"] = event.session_id
    if state.test_event_code and "test_event_code" not in context:
        context["test_event_code"] = state.test_event_code
    item: dict[str, Any] = {"event": event.plan_key, "event_time": event.event_time}
    item["user"] = user
    item["properties"] = dict(event.properties)
    if context:
        item["context"] = context
    return item


def _mapping(item: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    value = item.get(name) if item is not None else None
    return value if isinstance(value, Mapping) else _EMPTY
