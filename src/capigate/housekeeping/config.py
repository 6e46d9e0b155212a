"""The ``housekeeping:`` section of ``capigate.yaml`` and its ``CAPIGATE_HOUSEKEEPING_*`` overrides.

::

    housekeeping:
      enabled: true        # capigate serve runs the store's purges (one process at a time)
      interval_s: 3600     # how often: dedup keys, landing sessions, webhook signatures
      poll_s: 60           # how often a process checks whether a run is due (and the lease)

The environment wins over the YAML. Pure: parses values handed in, reads no environment itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from capigate.errors import ConfigError

ENV_PREFIX = "CAPIGATE_HOUSEKEEPING_"
DEFAULT_INTERVAL_S = 3600.0  # purges are cheap; hourly keeps every table near its window
DEFAULT_POLL_S = 60.0
MAX_INTERVAL_S = 7 * 86_400.0
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class HousekeepingSettings:
    """Whether and how often ``capigate serve`` purges what the store no longer needs."""

    enabled: bool = True
    interval_s: float = DEFAULT_INTERVAL_S
    poll_s: float = DEFAULT_POLL_S


DEFAULT_HOUSEKEEPING = HousekeepingSettings()


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in (*_TRUE, *_FALSE):
        raise ConfigError(f"{name}: must be true or false")
    return text in _TRUE


def _seconds(low: float, high: float) -> Callable[[str, Any], float]:
    def parse(name: str, value: Any) -> float:
        try:
            number = None if isinstance(value, bool) else float(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(f"{name}: must be seconds from {low:g} to {high:g}")
        return number

    return parse


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "enabled": _flag,
    "interval_s": _seconds(1, MAX_INTERVAL_S),
    "poll_s": _seconds(0.01, 3600),
}


def parse_housekeeping(raw: Any, environ: Mapping[str, str]) -> HousekeepingSettings:
    """``HousekeepingSettings`` from the YAML ``housekeeping:`` mapping (or None) and the env."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError("housekeeping: must be a mapping of housekeeping settings")
    unknown = sorted(set(raw) - set(_PARSERS))
    if unknown:
        raise ConfigError(f"housekeeping.{unknown[0]}: unknown (known: {', '.join(_PARSERS)})")
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = parse(env_name, environ[env_name])
        elif raw.get(key) is not None:
            values[key] = parse(f"housekeeping.{key}", raw[key])
    return HousekeepingSettings(**values)
