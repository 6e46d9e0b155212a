"""A landing session: what the landing page knew about a visitor, saved under a link token.

Only what Meta matches on and may receive unhashed is kept: ``fbc``, ``fbp``, the client IP
address and user agent (Meta forbids hashing these), the UTMs, and the page's address without
its query string or fragment (a query string can carry anything, e-mail addresses included).
Each value is checked as the pipeline would check it; one that is malformed or oversized is
not kept, so it cannot spread to the user's later events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from capigate.errors import InvalidField
from capigate.normalize.identifiers import validate_raw

UTM_KEYS: Final = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
MAX_VALUE_CHARS = 512  # longer UTMs or user agents are junk, not attribution
_RAW_KEYS = {"fbc": "fbc", "fbp": "fbp", "ip": "client_ip_address"}
_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LandingSession:
    """One landing-page visit under its token; ``telegram_id`` is set once a /start linked it.

    ``created_at`` is the first report of the session, ``seen_at`` the latest (Unix seconds,
    the gateway's clock); ``linked_at`` is when the Telegram user was linked.
    """

    token: str
    fbc: str | None = None
    fbp: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    utms: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    page_url: str | None = None
    created_at: float = 0.0
    seen_at: float = 0.0
    telegram_id: str | None = None
    linked_at: float | None = None


def from_item(item: Mapping[str, Any], token: str, now_s: float) -> LandingSession:
    """The session an (enriched) ingest item reports for ``token`` at ``now_s``."""
    user = _mapping(item.get("user"))
    properties = _mapping(item.get("properties"))
    context = _mapping(item.get("context"))
    utms = {key: text for key in UTM_KEYS if (text := _text(properties.get(key))) is not None}
    return LandingSession(
        token=token,
        fbc=_raw("fbc", user.get("fbc")),
        fbp=_raw("fbp", user.get("fbp")),
        ip=_raw("ip", user.get("ip")),
        user_agent=_text(user.get("user_agent")),
        utms=MappingProxyType(utms),
        page_url=_page(context.get("page_url")),
        created_at=now_s,
        seen_at=now_s,
    )


def merged(old: LandingSession, new: LandingSession) -> LandingSession:
    """``old`` updated by a later report ``new``: newer values win, missing ones do not erase.

    A linked session no longer changes: a token seen in the wild cannot rewrite the keys of
    the user it was linked to.
    """
    if old.telegram_id is not None:
        return old
    return replace(
        old,
        fbc=new.fbc or old.fbc,
        fbp=new.fbp or old.fbp,
        ip=new.ip or old.ip,
        user_agent=new.user_agent or old.user_agent,
        utms=new.utms or old.utms,
        page_url=new.page_url or old.page_url,
        seen_at=max(old.seen_at, new.seen_at),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= MAX_VALUE_CHARS else None


def _raw(key: str, value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return validate_raw(_RAW_KEYS[key], text)
    except InvalidField:
        return None


def _page(value: object) -> str | None:
    text = _text(value)
    if text is None or not text.startswith(("https://", "http://")):
        return None
    return text.split("#", 1)[0].split("?", 1)[0]
