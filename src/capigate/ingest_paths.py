"""Where a field of the Meta event came from in the ingest item, so 422s name the caller's field.

The pipeline reports paths into Meta's event (``$.user_data.em[1]``); the caller sent
``$.user.email[1]``. The table inverts the plan's user mapping; fields without a home in the
item (``app_data``, built by the gateway) point at the context they were built from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from capigate.plan.userdata import USER_KEYS

_USER_HOME: Mapping[str, str] = MappingProxyType(
    {
        **{meta: f"user.{item}" for item, meta in USER_KEYS.items() if item != meta},
        "external_id": "user.external_id",
    }
)
_TOP_HOME: Mapping[str, str] = MappingProxyType(
    {
        "event_name": "$.event",
        "event_time": "$.event_time",
        "event_id": "$.event_id",
        "action_source": "$.action_source",
        "event_source_url": "$.context.page_url",
        "referrer_url": "$.context.referrer",
        "custom_data": "$.properties",
        "user_data": "$.user",
        "app_data": "$.context.app",
    }
)
_HEAD = re.compile(r"\$\.([A-Za-z_][A-Za-z0-9_]*)(.*)", re.DOTALL)
_USER_KEY = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)(.*)", re.DOTALL)


def request_path(meta_path: str) -> str:
    """The ingest-item JSONPath for a JSONPath into the Meta event (unknown ones unchanged)."""
    match = _HEAD.fullmatch(meta_path)
    if match is None:
        return meta_path
    top, rest = match.groups()
    home = _TOP_HOME.get(top)
    if home is None:
        return meta_path
    if top == "user_data":
        return _user_path(rest)
    if top == "app_data":
        return home
    return home + rest


def _user_path(rest: str) -> str:
    match = _USER_KEY.fullmatch(rest)
    if match is None:
        return "$.user" + rest
    key, tail = match.groups()
    return "$." + _USER_HOME.get(key, f"user.{key}") + tail
