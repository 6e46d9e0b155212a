"""What the HTTP request adds to an event: client IP, user agent, Meta cookies, ``fbc``.

The client IP is the socket's peer, or, when the peer is a configured trusted proxy, the
right-most ``X-Forwarded-For`` address that is not itself a trusted proxy (anything to its
left was written by the client and proves nothing). Values the event already carries win:
enrichment only fills gaps.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FBC_SUBDOMAIN_INDEX = 1  # Meta: use 1 when fbc is generated server-side
MAX_CLICK_AGE_S = 8 * 86_400  # an event_time older than this is not taken as the click time
MAX_COOKIE_CHARS = 512
CLIENT_IP_CACHE_SIZE = 4_096  # (peer, X-Forwarded-For) pairs


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What one HTTP request says about the user behind it."""

    client_ip: str | None = None
    user_agent: str | None = None
    fbp: str | None = None
    fbc: str | None = None


def parse_networks(values: Sequence[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or bare addresses) as networks; ``ValueError`` names the bad entry."""
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or CIDR") from None
    return tuple(networks)


@functools.lru_cache(maxsize=CLIENT_IP_CACHE_SIZE)
def client_ip(
    peer_ip: str | None, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]
) -> str | None:
    """The user's IP: the peer, or through trusted proxies the first untrusted XFF hop.

    Cached: the same peer and header come back on every request of a connection.
    """
    peer = _address(peer_ip)
    if peer is None:
        return None
    if not forwarded_for or not _is_trusted(peer, trusted):
        return str(peer)
    hop = peer
    for entry in reversed(forwarded_for.split(",")):
        address = _address(entry.strip())
        if address is None:
            break  # garbage in the chain: believe only the last proxy that spoke
        hop = address
        if not _is_trusted(address, trusted):
            break
    return str(hop)


def meta_cookies(cookie_header: str | None) -> tuple[str | None, str | None]:
    """``(_fbp, _fbc)`` from a ``Cookie`` header, raw (no decoding), or None when absent."""
    found: dict[str, str] = {}
    for part in (cookie_header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name in ("_fbp", "_fbc") and 0 < len(value) <= MAX_COOKIE_CHARS:
            found.setdefault(name, value.strip('"'))
    return found.get("_fbp"), found.get("_fbc")


def build_fbc(fbclid: str, click_ms: int) -> str:
    """``fb.1.<click time ms>.<fbclid>``, the fbclid exactly as received (case matters)."""
    return f"fb.{FBC_SUBDOMAIN_INDEX}.{click_ms}.{fbclid}"


def fbclid_from_url(url: str) -> str | None:
    """The raw ``fbclid`` query value of ``url`` (not percent-decoded, case kept)."""
    if "fbclid=" not in url:
        return None  # the usual page address: no need to split its query
    _, _, rest = url.partition("?")
    query = rest.partition("#")[0]
    for pair in query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and name == "fbclid" and value:
            return value
    return None


def enrich_item(
    item: dict[str, Any], facts: RequestFacts | None, *, now_s: float
) -> dict[str, Any]:
    """A copy of the ingest ``item`` whose ``user`` gains IP, UA, fbp and fbc where missing."""
    user = item.get("user", {})
    if not isinstance(user, dict):
        return item  # the mapping reports the bad shape
    added: dict[str, str] = {}  # only keys the user lacks (missing or empty), so always a change
    if facts is not None:
        _fill(added, user, "ip", facts.client_ip)
        _fill(added, user, "user_agent", facts.user_agent)
        _fill(added, user, "fbp", facts.fbp)
        _fill(added, user, "fbc", facts.fbc)
    if not (added.get("fbc") or user.get("fbc")):
        fbclid = _fbclid(item, user)
        if fbclid:
            added["fbc"] = build_fbc(fbclid, _click_ms(item.get("event_time"), now_s))
    if not added:
        return item
    return {**item, "user": {**user, **added}}


def _fbclid(item: dict[str, Any], user: dict[str, Any]) -> str | None:
    fbclid = user.get("fbclid")
    if isinstance(fbclid, str) and fbclid.strip():
        return fbclid.strip()
    context = item.get("context")
    page_url = context.get("page_url") if isinstance(context, dict) else None
    return fbclid_from_url(page_url) if isinstance(page_url, str) else None


def _click_ms(event_time: object, now_s: float) -> int:
    """The event's time when plausible (the click was seen then), else now."""
    plausible = (
        isinstance(event_time, int | float)
        and not isinstance(event_time, bool)
        and now_s - MAX_CLICK_AGE_S <= event_time <= now_s + 60
    )
    return int((event_time if plausible else now_s) * 1000)  # type: ignore[operator]


def _fill(added: dict[str, str], user: dict[str, Any], key: str, value: str | None) -> None:
    if value and not user.get(key):
        added[key] = value


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    if value.startswith("["):  # "[2001:db8::1]:443"
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]
) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
