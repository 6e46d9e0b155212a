"""The ``housekeeping:`` section of ``capigate.yaml`` and its ``CAPIGATE_HOUSEKEEPING_*`` overrides.

::

    housekeeping:
      enabled: true        # capigate serve runs the store's purges (one process at a time)
      interval_s: 3600     # how often: dedup keys, landing sessions, webhook signatures
      poll_s: 60           # how often a process checks whether a run is due (and the lease)

The environment wins over the YAML. Pure: parses values handed in, reads no environment itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capigate.config_section import Parser, flag, number, parse_section

DEFAULT_INTERVAL_S = 3600.0  # purges are cheap; hourly keeps every table near its window
DEFAULT_POLL_S = 60.0
MAX_INTERVAL_S = 7 * 86_400.0


@dataclass(frozen=True, slots=True)
class HousekeepingSettings:
    """Whether and how often ``capigate serve`` purges what the store no longer needs."""

    enabled: bool = True
    interval_s: float = DEFAULT_INTERVAL_S
    poll_s: float = DEFAULT_POLL_S


DEFAULT_HOUSEKEEPING = HousekeepingSettings()


_PARSERS: dict[str, Parser] = {
    "enabled": flag,
    "interval_s": number(1, MAX_INTERVAL_S, noun="seconds"),
    "poll_s": number(0.01, 3600, noun="seconds"),
}


def parse_housekeeping(raw: Any, environ: Mapping[str, str]) -> HousekeepingSettings:
    """``HousekeepingSettings`` from the YAML ``housekeeping:`` mapping (or None) and the env."""
    return HousekeepingSettings(**parse_section("housekeeping", raw, environ, _PARSERS))
