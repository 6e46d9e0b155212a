"""Who may send events: sources, their keys, and what each kind of key is allowed to do.

A ``server`` source (bot, payment backend) proves itself with a secret key in
``Authorization: Bearer``. A ``browser`` source (landing page, mini app) has a public key
(``X-Capigate-Key`` header or ``key=`` query parameter); because anyone can copy it, it is
limited to website events, to an ``Origin`` allowlist and to a per-IP rate. Keys are kept only
as SHA-256 digests and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from capigate.errors import AuthError
from capigate.ratelimit import TokenBuckets

DEFAULT_BROWSER_RATE_PER_S = 2.0  # events per second per client IP, sustained
DEFAULT_BROWSER_BURST = 20  # events a client IP may send at once
BROWSER_ACTION_SOURCE = "website"


class SourceKind(StrEnum):
    SERVER = "server"
    BROWSER = "browser"


@dataclass(frozen=True, slots=True)
class Source:
    """One configured caller of the ingest API.

    ``channel`` is the name the tracking plan uses for this kind of sender (``website``, ``bot``,
    ``mini_app``, ``server``). ``events`` (plan keys) restricts what it may send; ``None`` allows
    everything the plan allows for the channel. ``request_context`` says the HTTP request comes
    from the user's own browser, so its IP, user agent and cookies describe the user.
    """

    name: str
    kind: SourceKind
    key_digests: tuple[bytes, ...] = ()
    channel: str = ""
    origins: frozenset[str] = frozenset()
    events: frozenset[str] | None = None
    request_context: bool = False
    pixel_id: str | None = None
    test_event_code: str | None = None
    rate_per_s: float = DEFAULT_BROWSER_RATE_PER_S
    rate_burst: int = DEFAULT_BROWSER_BURST
    loopback_only: bool = False

    @property
    def is_browser(self) -> bool:
        return self.kind is SourceKind.BROWSER

    @property
    def keyless(self) -> bool:
        return not self.key_digests


DEV_SOURCE = Source(
    name="dev", kind=SourceKind.SERVER, channel="dev", request_context=True, loopback_only=True
)  # sandbox mode without configured sources: no key, loopback callers only


def hash_key(key: str) -> bytes:
    """The SHA-256 digest under which a key is kept and compared."""
    return hashlib.sha256(key.encode()).digest()


def is_loopback(ip: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback."""
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped.is_loopback
    return addr.is_loopback


class SourceRegistry:
    """Finds the source behind a request and enforces what its kind of key may do."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.sources = tuple(sources)
        self._keyless = next((s for s in self.sources if s.keyless), None)
        self._buckets = {
            s.name: TokenBuckets(s.rate_per_s, s.rate_burst) for s in self.sources if s.is_browser
        }

    def authenticate(
        self, *, bearer: str | None, public_key: str | None, origin: str | None, peer_ip: str | None
    ) -> Source:
        """The source for these credentials, or ``AuthError`` (401 no/unknown key, 403 refused)."""
        key = bearer if bearer is not None else public_key
        if not key:
            return self._keyless_source(peer_ip)
        source = self._match(hash_key(key))
        if source is None:
            raise AuthError("unknown key: no source has this key", status=401)
        if source.is_browser and bearer is not None:
            raise AuthError(
                f"source {source.name!r}: a browser key goes in X-Capigate-Key", status=401
            )
        if not source.is_browser and bearer is None:
            raise AuthError(f"source {source.name!r}: send a server key as Bearer", status=401)
        self._check_origin(source, origin)
        self._check_loopback(source, peer_ip)
        return source

    def rate_limit(self, source: Source, client_ip: str | None, now_s: float, cost: int) -> float:
        """Seconds the caller must wait (0.0 when allowed); only browser sources are limited."""
        buckets = self._buckets.get(source.name)
        if buckets is None:
            return 0.0
        return buckets.take(client_ip or "-", now_s, cost)

    def _match(self, digest: bytes) -> Source | None:
        found: Source | None = None
        for source in self.sources:  # no early exit: the time taken does not depend on the key
            for known in source.key_digests:
                if hmac.compare_digest(known, digest):
                    found = source
        return found

    def _keyless_source(self, peer_ip: str | None) -> Source:
        if self._keyless is None:
            raise AuthError(
                "missing key: send Authorization: Bearer <server key> or X-Capigate-Key", status=401
            )
        self._check_loopback(self._keyless, peer_ip)
        return self._keyless

    @staticmethod
    def _check_origin(source: Source, origin: str | None) -> None:
        if source.is_browser and (origin or "").rstrip("/") not in source.origins:
            raise AuthError(
                f"source {source.name!r}: Origin {origin or '(none)'!r} is not in its allowlist",
                status=403,
            )

    @staticmethod
    def _check_loopback(source: Source, peer_ip: str | None) -> None:
        if source.loopback_only and not is_loopback(peer_ip):
            raise AuthError(
                f"source {source.name!r} accepts requests from loopback only", status=403
            )


def check_event_allowed(source: Source, plan_key: str, action_source: str | None) -> None:
    """``AuthError`` 403 unless ``source`` may send ``plan_key`` with this ``action_source``."""
    if source.events is not None and plan_key not in source.events:
        raise AuthError(f"source {source.name!r} may not send event {plan_key!r}", status=403)
    if source.is_browser and action_source != BROWSER_ACTION_SOURCE:
        raise AuthError(
            f"source {source.name!r} has a browser key: only website events "
            f"(event {plan_key!r} has action_source {action_source!r})",
            status=403,
        )
