"""Stitching rules: when a /start links to a landing session, and what later events inherit.

Linking: a ``/start <token>`` links the Telegram user to the token's session when the session
was seen within ``link_window_s`` and is not linked to someone else. The first user wins: a
forwarded link must not hand one visitor's ad click to a friend.

Carrying: an event of a linked user gains the session's keys that it lacks, each while fresh:
``fbc``, ``fbp`` and UTMs for ``keys_ttl_s``, IP address and user agent for ``ip_ua_ttl_s``,
measured from the session's last report to the event's time. Keys that belong together move
together: the UTMs only when the event has none of its own, IP and user agent only when it has
neither (a webview's IP next to a desktop browser's user agent would describe nobody). An event
that happened before the landing visit inherits nothing: the click cannot have caused it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from capigate.attribution.config import AttributionSettings
from capigate.attribution.session import UTM_KEYS, LandingSession
from capigate.attribution.token import is_token
from capigate.plan.appdata import build_app_data

CLOCK_SKEW_S = 300  # a bot's clock may run this far behind the gateway's
LANDING_TOKEN = "landing_token"  # context key of landing-page events
START_PARAM = "start_param"  # context key of /start and mini-app events


@dataclass(frozen=True, slots=True)
class Carried:
    """What an event inherits: ingest ``user`` keys and ``properties``."""

    user: Mapping[str, str]
    properties: Mapping[str, str]


NOTHING = Carried({}, {})


def landing_token(item: Mapping[str, Any]) -> str | None:
    """The valid ``context.landing_token`` of a landing-page event, else ``None``."""
    return _context_token(item, LANDING_TOKEN)


def start_token(item: Mapping[str, Any]) -> str | None:
    """The ``context.start_param`` of a /start or mini-app event when it is a link token."""
    return _context_token(item, START_PARAM)


def telegram_id(item: Mapping[str, Any]) -> str | None:
    """``user.telegram_id`` as text (digits), else ``None``."""
    user = item.get("user")
    value = user.get("telegram_id") if isinstance(user, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def link_refusal(
    session: LandingSession | None, user: str, settings: AttributionSettings, now_s: float
) -> str | None:
    """Why ``user`` may not link to ``session`` (``None``: it may)."""
    if session is None:
        return "unknown_token"
    if session.telegram_id not in (None, user):
        return "token_taken"
    if session.telegram_id is None and now_s - session.seen_at > settings.link_window_s:
        return "token_expired"
    return None


def carried(
    session: LandingSession,
    item: Mapping[str, Any],
    settings: AttributionSettings,
    now_s: float,
    *,
    app_event: bool = False,
) -> Carried:
    """What ``item`` inherits from its user's linked ``session``.

    ``app_event`` says the plan may send the item as ``action_source=app``.
    """
    age_s = _event_time(item, now_s) - session.seen_at
    if age_s < -CLOCK_SKEW_S:
        return NOTHING
    user = _mapping(item.get("user"))
    properties = _mapping(item.get("properties"))
    keys: dict[str, str] = {}
    if age_s <= settings.keys_ttl_s:
        for name in ("fbc", "fbp"):
            value = getattr(session, name)
            if name in settings.carry and value and not user.get(name):
                keys[name] = value
    if age_s <= settings.ip_ua_ttl_s and not user.get("ip") and not user.get("user_agent"):
        keys.update(_ip_ua(session, item, settings.carry, app_event=app_event))
    utms: dict[str, str] = {}
    fresh = age_s <= settings.keys_ttl_s and "utm" in settings.carry
    if fresh and not any(properties.get(k) not in (None, "") for k in UTM_KEYS):
        utms = dict(session.utms)
    return Carried(keys, utms)


def apply(item: Mapping[str, Any], carry: Carried, utm_allowed: Collection[str]) -> dict[str, Any]:
    """A copy of ``item`` with ``carry`` filled in; UTMs only those in ``utm_allowed``."""
    out = dict(item)
    if carry.user:
        out["user"] = {**_mapping(item.get("user")), **carry.user}
    utms = {k: v for k, v in carry.properties.items() if k in utm_allowed}
    if utms:
        out["properties"] = {**_mapping(item.get("properties")), **utms}
    return out


def _ip_ua(
    session: LandingSession, item: Mapping[str, Any], carry: Collection[str], *, app_event: bool
) -> dict[str, str]:
    keys = {}
    if "ip" in carry and session.ip:
        keys["ip"] = session.ip
    agent = session.user_agent if "user_agent" in carry else None
    if agent and not (app_event and _makes_app_event(item, agent)):
        keys["user_agent"] = agent
    return keys


def _makes_app_event(item: Mapping[str, Any], user_agent: str) -> bool:
    """Whether the landing page's user agent would describe the device of an app event.

    The mapping builds ``app_data`` from a mobile user agent. The landing browser's agent is a
    match key, not the device a bot event happened on: it must not turn the event into one.
    """
    context = _mapping(item.get("context"))
    own, _ = build_app_data(context, None)
    borrowed, _ = build_app_data(context, user_agent)
    return own is None and borrowed is not None


def _context_token(item: Mapping[str, Any], key: str) -> str | None:
    value = _mapping(item.get("context")).get(key)
    return value if isinstance(value, str) and is_token(value) else None


def _event_time(item: Mapping[str, Any], now_s: float) -> float:
    value = item.get("event_time")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return now_s


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
