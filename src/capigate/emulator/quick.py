"""A quick look at a request's events that vouches for the common case: valid, nothing to warn.

``rules.check_event`` runs every check of spec §12 in order and words each refusal and warning;
it costs tens of microseconds per event. ``vouches`` answers one question for a whole request:
would those checks pass every event without a warning? When it cannot tell (an unusual key, a
type or a value that needs a closer look, an action source with rules of its own) it answers
no, and the full checks run, so it may be stricter than they are, never looser.
tests/unit/test_emulator_quick.py holds the two to that on generated and realistic events.

It is quick because it looks at columns, not events: each key's values across the request are
taken as one column (``None`` where an event has no such key) and tested together, with the
loops in C: types as a set, distinct names, URLs and addresses once each, times by their
extremes, hashed values and click ids in one pass over their join.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Sequence
from itertools import chain, repeat
from typing import Any, Final

from capigate.emulator import custom_data, schema, user_data
from capigate.emulator.config import EVENT_TIME_LIMIT_S, EmulatorConfig

SHA256_HEX_CHARS: Final = 64
_HEX_DIGITS: Final = b"0123456789abcdef"
# user_data.CLICK_ID_RE, once per line: a newline is whitespace, so \S+ cannot run past it.
_CLICK_ID_LINES: Final = re.compile(r"(?:fb\.\d\.\d{13}\.\S+\n)*")
_URL_SCHEMES: Final = ("http://", "https://")
_NONE: Final[type] = type(None)
_STRINGS: Final = frozenset[type]({str, _NONE})
# Top-level keys the quick look knows and the exact types it takes for them (None: absent).
# Keys with checks of their own (LDU, original_event_data, enums, app_data's source) and
# sources with rules of their own are left to the full checks.
_EVENT_TYPES: Final[dict[str, frozenset[type]]] = {
    "event_name": frozenset({str}),
    "event_time": frozenset({int}),
    "action_source": frozenset({str}),
    "user_data": frozenset({dict}),
    "custom_data": frozenset({dict, _NONE}),
    "event_source_url": _STRINGS,
    "event_id": frozenset({str, int, _NONE}),
    "opt_out": frozenset({bool, _NONE}),
    "referrer_url": _STRINGS,
    "attribution_data": frozenset({dict, _NONE}),
    "advanced_measurement_table": _STRINGS,
    **dict.fromkeys(
        ("data_processing_options", "data_processing_options_country",
         "data_processing_options_state", "messaging_channel", "customer_segmentation",
         "original_event_data", "app_data"),
        frozenset({_NONE}),
    ),
}  # fmt: skip
_ALWAYS_READ: Final = frozenset(schema.REQUIRED) | {"custom_data", "event_source_url"}
_QUICK_SOURCES: Final = schema.ACTION_SOURCES - {"app", "business_messaging"}
# user_data keys by the checks they get. madid and anon_id (a warning outside app events) and
# unknown keys are left to the full checks; the free keys get none.
_PLAIN_KEYS: Final = user_data.NEVER_HASHED_KEYS - user_data.APP_ONLY_KEYS
_CLICK_KEYS: Final = frozenset({"fbc", "fbp"})
_USER_KEYS: Final = user_data.HASHED_KEYS | _PLAIN_KEYS | user_data.FREE_KEYS
# A present key outside every "too broad" combination (spec §3.3) makes the information enough.
_BROAD_KEYS: Final = frozenset().union(*user_data.TOO_BROAD)
_NUMBERS: Final = frozenset({int, float, _NONE})
_CUSTOM_ENUMS: Final = {
    "delivery_category": custom_data.DELIVERY_CATEGORIES,
    "content_type": custom_data.CONTENT_TYPES,
    "customer_segmentation": schema.CUSTOMER_SEGMENTS,
}
_CUSTOM_TYPES: Final = {
    "value": _NUMBERS,
    "predicted_ltv": _NUMBERS,
    "net_revenue": _NUMBERS,
    "currency": _STRINGS,
    "content_ids": frozenset({list, _NONE}),
    "contents": frozenset({list, _NONE}),
    **dict.fromkeys(_CUSTOM_ENUMS, _STRINGS),
}


def vouches(events: Sequence[Any], config: EmulatorConfig, now_s: float) -> bool:
    """Whether the full checks would pass every event of ``events`` without a warning."""
    if not events:
        return True
    if not _types(events) <= {dict}:
        return False
    keys = set(chain.from_iterable(events))
    if not keys <= _EVENT_TYPES.keys():
        return False
    columns = {key: _column(events, key) for key in keys | _ALWAYS_READ}
    if not all(_types(columns[key]) <= _EVENT_TYPES[key] for key in columns):
        return False  # a required key that is absent shows as None, which they do not take
    names, sources = set(columns["event_name"]), set(columns["action_source"])
    uds = columns["user_data"]
    return (
        all(_name_ok(name, config) for name in names)
        and sources <= _QUICK_SOURCES
        and _times_ok(columns["event_time"], sources, config, now_s)
        and ("website" not in sources or _website_ok(columns["event_source_url"], uds, config))
        and _user_data_ok(uds)
        and _custom_data_ok(columns["event_name"], columns["custom_data"], config)
    )


def _name_ok(name: str, config: EmulatorConfig) -> bool:
    limit = config.max_event_name_chars
    return bool(name) and not name.isspace() and (limit is None or len(name) <= limit)


def _times_ok(times: list[int], sources: set[str], config: EmulatorConfig, now_s: float) -> bool:
    """The time window (§12.4): the oldest and the newest event decide."""
    if "physical_store" in sources:
        if len(sources) > 1:
            return False
        max_age_s = config.physical_store_max_age_s
    else:
        max_age_s = config.max_age_s
    oldest, newest = min(times), max(times)
    if oldest < -EVENT_TIME_LIMIT_S or newest > EVENT_TIME_LIMIT_S:
        return False
    return not (now_s - oldest > max_age_s or newest - now_s > config.future_skew_s)


def _website_ok(urls: list[str | None], uds: list[dict[str, Any]], config: EmulatorConfig) -> bool:
    """Website rules (§12.5), held to by every event of the request, whatever its source."""
    for url in set(urls):
        if url:
            if not url.startswith(_URL_SCHEMES):
                return False
        elif config.website_requires_source_url:
            return False
    return not config.website_requires_user_agent or all(_column(uds, "client_user_agent"))


def _user_data_ok(uds: list[dict[str, Any]]) -> bool:
    """Customer information (§12.6) given as strings; null and "" count as absent."""
    keys = set(chain.from_iterable(uds))
    if not keys <= _USER_KEYS:
        return False
    columns = {key: _column(uds, key) for key in keys}
    if not all(_types(column) <= _STRINGS for column in columns.values()):
        return False
    strong = [columns[key] for key in keys - _BROAD_KEYS]
    if not strong or not all(map(any, zip(*strong, strict=True))):
        return False  # some event has no key that is enough on its own
    hashed = _present(columns, keys & user_data.HASHED_KEYS)
    plain = _present(columns, keys & _PLAIN_KEYS)
    clicks = _present(columns, keys & _CLICK_KEYS)
    addresses = set(_present(columns, keys & {"client_ip_address"}))
    return (
        set(map(len, hashed)) <= {SHA256_HEX_CHARS}
        and SHA256_HEX_CHARS not in set(map(len, plain))
        and _lowercase_hex("".join(hashed))
        and _click_ids_ok(clicks)
        and all(_is_ip(address) for address in addresses)
    )


def _click_ids_ok(clicks: list[str]) -> bool:
    """Each value matches user_data.CLICK_ID_RE: one regex over them all, a line each."""
    lines = "\n".join(clicks) + "\n"
    return lines.count("\n") == len(clicks) and _CLICK_ID_LINES.fullmatch(lines) is not None


def _custom_data_ok(
    names: list[str], cds: list[dict[str, Any] | None], config: EmulatorConfig
) -> bool:
    """Business data (§12.7); keys the full checks do not know always pass."""
    purchases = [cd for name, cd in zip(names, cds, strict=True) if name == "Purchase"]
    if not all(cd and _purchase_ok(cd, config) for cd in purchases):
        return False
    given: list[dict[str, Any]] = list(filter(None, cds))
    keys = set(chain.from_iterable(given)) & _CUSTOM_TYPES.keys()
    columns = {key: _column(given, key) for key in keys | {"value", "currency"}}
    if not all(_types(columns[key]) <= _CUSTOM_TYPES[key] for key in keys):
        return False
    currencies = set(columns["currency"]) - {None}
    if not all(code.upper() in custom_data.CURRENCIES for code in currencies):
        return False
    for key, allowed in _CUSTOM_ENUMS.items():
        if key in keys and not set(columns[key]) - {None} <= allowed:
            return False
    if not _contents_ok(list(chain.from_iterable(filter(None, columns.get("contents", ()))))):
        return False
    pairs = zip(columns["value"], columns["currency"], strict=True)
    return not config.value_requires_currency or all(
        value is None or currency is not None for value, currency in pairs
    )


def _purchase_ok(cd: dict[str, Any], config: EmulatorConfig) -> bool:
    return cd.get("value") is not None and (
        cd.get("currency") is not None or not config.purchase_requires_currency
    )


def _contents_ok(items: list[Any]) -> bool:
    """Every contents item an object with an id, a known delivery category, numbers."""
    if not _types(items) <= {dict}:
        return False
    ids = _column(items, "id")
    if None in ids or "" in ids:
        return False
    categories = _column(items, "delivery_category")
    return (
        _types(categories) <= _STRINGS
        and set(categories) - {None} <= custom_data.DELIVERY_CATEGORIES
        and _types(_column(items, "quantity")) <= _NUMBERS
        and _types(_column(items, "item_price")) <= _NUMBERS
    )


# --- columns -----------------------------------------------------------------------------


def _column(objects: Iterable[dict[str, Any]], key: str) -> list[Any]:
    """Each object's value of ``key``; None where it has none."""
    return list(map(dict.get, objects, repeat(key)))  # methodcaller("get", key) is 3x slower


def _present(columns: dict[str, list[Any]], keys: Iterable[str]) -> list[Any]:
    """The values of ``keys`` that count as given: neither null nor empty."""
    return list(filter(None, chain.from_iterable(columns[key] for key in keys)))


def _types(values: Iterable[Any]) -> set[type]:
    return set(map(type, values))


def _lowercase_hex(text: str) -> bool:
    """Whether every character is one of 0-9a-f (bytes.translate beats a regex by 5x here)."""
    return text.isascii() and not text.encode().translate(None, _HEX_DIGITS)


def _is_ip(value: str) -> bool:
    """Whether ``value`` parses as IPv4 or IPv6 (only IPv6 has colons)."""
    family = socket.AF_INET6 if ":" in value else socket.AF_INET
    try:
        socket.inet_pton(family, value)
    except (OSError, ValueError):  # ValueError: an embedded NUL
        return False
    return True
