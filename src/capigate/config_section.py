"""One section of ``capigate.yaml`` plus its ``CAPIGATE_<SECTION>_<KEY>`` overrides.

A section module names its keys and one ``Parser`` per key; ``parse_section`` reads the YAML
mapping and the environment (the environment wins) and refuses unknown keys. The parsers here
cover the common value kinds. Pure: parses values handed in, reads no environment of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from capigate.errors import ConfigError

Parser = Callable[[str, Any], Any]
"""Turns a raw value into a setting; the first argument names the setting in errors."""

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def parse_section(
    section: str, raw: Any, environ: Mapping[str, str], parsers: Mapping[str, Parser]
) -> dict[str, Any]:
    """The keys of ``section`` that are set, parsed: ``raw`` is its YAML mapping (or None)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{section}: must be a mapping of {section} settings")
    unknown = sorted(set(raw) - set(parsers))
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}: unknown (known: {', '.join(parsers)})")
    prefix = f"CAPIGATE_{section.upper()}_"
    values: dict[str, Any] = {}
    for key, parse in parsers.items():
        env_name = prefix + key.upper()
        if env_name in environ:
            values[key] = parse(env_name, environ[env_name])
        elif raw.get(key) is not None:
            values[key] = parse(f"{section}.{key}", raw[key])
    return values


def flag(name: str, value: Any) -> bool:
    """A YAML bool, or one of 1/true/yes/on and 0/false/no/off in any case."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in (*_TRUE, *_FALSE):
        raise ConfigError(f"{name}: must be true or false")
    return text in _TRUE


def number(low: float, high: float, *, noun: str = "a number") -> Callable[[str, Any], float]:
    """A parser for a number from ``low`` to ``high``; ``noun`` names the kind in its error."""

    def parse(name: str, value: Any) -> float:
        try:
            result = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            result = None
        if result is None or not low <= result <= high:
            raise ConfigError(f"{name}: must be {noun} from {low:g} to {high:g}")
        return result

    return parse


def whole(low: int, high: int, *, noun: str = "a whole number") -> Callable[[str, Any], int]:
    """A parser for a whole number from ``low`` to ``high``; ``noun`` names the kind in errors."""

    def parse(name: str, value: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool | float) or not text.isdigit() or not low <= int(text) <= high:
            raise ConfigError(f"{name}: must be {noun} from {low} to {high}")
        return int(text)

    return parse
