"""The ``attribution:`` section of ``capigate.yaml`` and its ``CAPIGATE_ATTRIBUTION_*`` overrides.

::

    attribution:
      enabled: true              # save landing sessions, link /start tokens, stitch events
      link_window_s: 604800      # a /start links to a session seen at most this long ago (7 d)
      keys_ttl_s: 7776000        # fbc, fbp and UTMs carry over this long (90 d, the _fbc cookie)
      ip_ua_ttl_s: 604800        # IP address and user agent carry over this long (7 d)
      carry: [fbc, fbp, utm, ip, user_agent]   # which keys carry over at all

Ages count from the last time the landing page reported the session. Every key may also be set
as ``CAPIGATE_ATTRIBUTION_<KEY>`` (``carry`` comma-separated); the environment wins. Pure:
parses values handed in, reads no environment of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from capigate.config_section import Parser, flag, parse_section, whole
from capigate.errors import ConfigError

DAY_S = 86_400
CARRY_KEYS: Final = ("fbc", "fbp", "utm", "ip", "user_agent")
MAX_TTL_S = 400 * DAY_S  # Meta ignores click ids older than its attribution windows anyway


@dataclass(frozen=True, slots=True)
class AttributionSettings:
    """How landing sessions link to Telegram users and which of their keys carry over."""

    enabled: bool = True
    link_window_s: int = 7 * DAY_S
    keys_ttl_s: int = 90 * DAY_S
    ip_ua_ttl_s: int = 7 * DAY_S
    carry: frozenset[str] = frozenset(CARRY_KEYS)

    @property
    def retention_s(self) -> int:
        """How long a session is worth keeping: after this, nothing of it carries or links."""
        return max(self.link_window_s, self.keys_ttl_s, self.ip_ua_ttl_s)


def _carry(name: str, value: Any) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{name}: must be a list of {', '.join(CARRY_KEYS)}")
    chosen = frozenset(v.strip() for v in items if v.strip())
    unknown = sorted(chosen - set(CARRY_KEYS))
    if unknown:
        raise ConfigError(f"{name}: {unknown[0]!r} is not one of {', '.join(CARRY_KEYS)}")
    return chosen


_seconds = whole(0, MAX_TTL_S, noun="whole seconds")
_PARSERS: dict[str, Parser] = {
    "enabled": flag,
    "link_window_s": _seconds,
    "keys_ttl_s": _seconds,
    "ip_ua_ttl_s": _seconds,
    "carry": _carry,
}


def parse_attribution(raw: Any, environ: Mapping[str, str]) -> AttributionSettings:
    """``AttributionSettings`` from the YAML ``attribution:`` mapping (or None) and the env."""
    return AttributionSettings(**parse_section("attribution", raw, environ, _PARSERS))
