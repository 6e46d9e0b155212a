"""Scalar checks for the wire parser: each returns the value as the model types it or raises.

``BadValue`` never leaves ``capigate.models``: the parser turns it into a ``Finding``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from capigate.models.event import ActionSource

# isinstance() with tuples: an ``X | Y`` union would be rebuilt on every call.
_STR_INT = (str, int)
_NUMBER = (int, float)
_STR_BOOL = (str, bool)
_SEQUENCE = (list, tuple)

Check = Callable[[Any], Any]  # wire value -> model value, or BadValue
Convert = Callable[[Any], Any]  # model value -> wire value


class BadValue(Exception):
    """A value of the wrong type; ``expected`` completes "must be ..."."""

    def __init__(self, expected: str, rule: str = "type") -> None:
        super().__init__(expected)
        self.expected = expected
        self.rule = rule


def as_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    raise BadValue("a string")


def as_id(v: Any) -> str:
    """Ids are strings on the wire; integer ids are common from clients and are converted."""
    if isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    raise BadValue("a string or an integer id")


def as_str_or_int(v: Any) -> str | int:
    if isinstance(v, _STR_INT) and not isinstance(v, bool):
        return v
    raise BadValue("a string or an integer")


def as_int(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise BadValue("an integer")


def as_seconds(v: Any) -> int:
    """Unix seconds; a fractional float is truncated (the caller warns about it)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, float) and math.isfinite(v):
        return int(v)
    raise BadValue("an integer (Unix seconds)")


def as_number(v: Any) -> float:
    """Money and shares: numbers, or numeric strings as Meta's own examples send them."""
    if isinstance(v, _NUMBER) and not isinstance(v, bool):
        if math.isfinite(v):
            return v
        raise BadValue("a finite number")
    if isinstance(v, str):
        try:
            parsed = float(v)
        except ValueError:
            raise BadValue("a number") from None
        if math.isfinite(parsed):
            return parsed
    raise BadValue("a number")


def as_flag(v: Any) -> bool:
    """Booleans, also written as 0/1 (Meta's app flags are documented as 0/1)."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise BadValue("true/false or 0/1")


def as_str_or_flag(v: Any) -> str | bool:
    if isinstance(v, _STR_BOOL):
        return v
    raise BadValue("a string or true/false")


def as_user_value(v: Any) -> str | tuple[str, ...]:
    if isinstance(v, str):
        return v
    if isinstance(v, _SEQUENCE) and all(isinstance(item, str) for item in v):
        return tuple(v)
    raise BadValue("a string or a list of strings")


_ACTION_SOURCES = {member.value: member for member in ActionSource}
_ACTION_SOURCE_NAMES = ", ".join(_ACTION_SOURCES)


def as_action_source(v: Any) -> ActionSource:
    source = _ACTION_SOURCES.get(v) if isinstance(v, str) else None
    if source is None:
        raise BadValue(f"one of {_ACTION_SOURCE_NAMES}", "action_source_enum")
    return source


# Wire converters: model value -> JSON value, where the two differ.


def flag_to_int(v: bool) -> int:
    """Meta documents app tracking flags as 0/1."""
    return int(v)


def enum_value(v: ActionSource) -> str:
    return v.value


def strings_to_wire(v: str | tuple[str, ...]) -> str | list[str]:
    """A tuple of match-key values becomes a list without empty items."""
    return [item for item in v if item] if isinstance(v, tuple) else v
