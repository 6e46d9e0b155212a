"""The webhook signature: HMAC-SHA256 over a timestamp and the raw body, as Stripe signs.

The sender puts ``X-Capigate-Signature: t=<unix seconds>,v1=<hex>`` on every request, where
``hex = HMAC_SHA256(secret, f"{t}." + raw_body)``. Several ``v1=`` entries may be sent (one per
secret while rotating); any that matches is enough. Unknown ``key=value`` entries are ignored, so
a later scheme can be added beside ``v1``.

The receiver checks the signature first (constant-time), then the timestamp: a request signed
more than ``tolerance_s`` away from now is refused as stale (or from the future), so a captured
request can be replayed only within that window, and ``replay_key`` names it for the store's
seen-signature record, which covers exactly that window. Sign every attempt anew: a retry with
a fresh ``t`` is a new request.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Literal

from capigate.errors import AuthError

SIGNATURE_HEADER = "X-Capigate-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300  # seconds a signed request stays acceptable (and remembered)
MAX_HEADER_CHARS = 1_024
MAX_SIGNATURES = 8  # v1 entries per header (secret rotation needs two)
_TIMESTAMP_DIGITS = 12  # Unix seconds fit in 10 digits until the year 2286

Reason = Literal["missing", "malformed", "mismatch", "stale", "future"]


class SignatureError(AuthError):
    """401: the signature is missing, malformed, wrong or outside the time tolerance."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message, status=401)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Verified:
    """A signature that matched: its timestamp and the ``v1`` value that matched."""

    timestamp: int
    signature: str

    def expires_at(self, tolerance_s: float) -> float:
        """When the timestamp check starts refusing this request on its own."""
        return self.timestamp + tolerance_s


def signature_of(body: bytes, secret: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}." + body`` under ``secret``."""
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret, signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: bytes, *, timestamp: int) -> str:
    """The header value a sender puts on ``body`` at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},{SCHEME}={signature_of(body, secret, timestamp)}"


def verify(
    body: bytes,
    header: str | None,
    secret: bytes,
    *,
    now_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> Verified:
    """The matching signature in ``header``; ``SignatureError`` says why there is none."""
    timestamp, candidates = parse_header(header)
    expected = signature_of(body, secret, timestamp)
    matched = None
    for candidate in candidates:  # no early exit: the time taken does not depend on which one
        if hmac.compare_digest(expected, candidate.lower()):
            matched = candidate.lower()
    if matched is None:
        raise SignatureError(
            "mismatch", f"{SIGNATURE_HEADER} does not match the body (HMAC-SHA256 of 't.body')"
        )
    age_s = now_s - timestamp
    if age_s > tolerance_s:
        raise SignatureError(
            "stale", f"the signature is {age_s:.0f} s old; the tolerance is {tolerance_s:g} s"
        )
    if -age_s > tolerance_s:
        raise SignatureError(
            "future",
            f"the signature is {-age_s:.0f} s in the future; the tolerance is {tolerance_s:g} s",
        )
    return Verified(timestamp, matched)


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """The timestamp and the ``v1`` values of a signature header."""
    if header is None or not header.strip():
        raise SignatureError("missing", f"the {SIGNATURE_HEADER} header is missing")
    if len(header) > MAX_HEADER_CHARS:
        raise SignatureError("malformed", f"{SIGNATURE_HEADER} is longer than {MAX_HEADER_CHARS}")
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise _malformed()
        if key == "t":
            timestamps.append(value)
        elif key == SCHEME:
            if not value.isascii():
                raise _malformed()
            candidates.append(value)
    if len(timestamps) != 1 or not _is_timestamp(timestamps[0]):
        raise _malformed()
    if not candidates or len(candidates) > MAX_SIGNATURES:
        raise _malformed()
    return int(timestamps[0]), candidates


def replay_key(provider: str, verified: Verified) -> str:
    """The seen-signature record's key: one per provider and signed request."""
    return f"{provider}:{verified.signature}"


def _is_timestamp(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= _TIMESTAMP_DIGITS


def _malformed() -> SignatureError:
    return SignatureError(
        "malformed", f"{SIGNATURE_HEADER} must look like t=<unix seconds>,{SCHEME}=<hex HMAC>"
    )
