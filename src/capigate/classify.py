"""What Meta's answer to one Graph request means for the events in it (spec §1.3, §1.4, §8, §9).

Pure: the Meta client hands in what it saw (HTTP status, parsed JSON body, headers, or the
transport error that stopped it) and gets back an ``Outcome``; the retry policy decides what to
do with it. Meta says to branch on the error code, never on the message text or the HTTP status,
so the status only decides when the body carries no Graph error code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final, TypeGuard


class OutcomeKind(StrEnum):
    """What happened to a Graph request, as far as delivery is concerned."""

    DELIVERED = "delivered"  # 2xx: Meta took every event of the request
    TRANSIENT = "transient"  # may pass: retry with backoff
    RATE_LIMITED = "rate_limited"  # throttled: retry after backoff, honouring Meta's hints
    TOKEN = "token"  # the access token is refused: pause the pixel, spend no retries
    PERMANENT = "permanent"  # Meta will refuse the same body again: isolate and dead-letter


_T, _R, _K, _P = (
    OutcomeKind.TRANSIENT,
    OutcomeKind.RATE_LIMITED,
    OutcomeKind.TOKEN,
    OutcomeKind.PERMANENT,
)

# Spec §8 and DESIGN.md "Non-negotiables", written once. Codes not listed fall back on the status.
CODE_OUTCOMES: Final[Mapping[int, OutcomeKind]] = MappingProxyType(
    {
        1: _T,  # API Unknown: "possibly a temporary issue due to downtime"
        2: _T,  # API Service: temporary downtime
        3: _P,  # API Method: capability or permission
        4: _R,  # application request limit
        10: _P,  # permission denied
        17: _R,  # user (ad-account score) request limit
        32: _R,  # page request limit
        100: _P,  # invalid parameter and its CAPI subcodes (§8.1), unless is_transient
        102: _K,  # API session invalid
        104: _K,  # no access token
        190: _K,  # invalid or expired access token
        341: _T,  # application limit reached: "retry later"
        368: _T,  # temporarily blocked for policy violations: retry much later
        613: _R,  # "calls to this api have exceeded the rate limit"
        803: _P,  # object or alias does not exist (a wrong pixel id)
        2635: _P,  # deprecated API version
    }
)
CODE_RANGES: Final[tuple[tuple[range, OutcomeKind], ...]] = (
    (range(200, 300), _P),  # API permission errors (294: needs ads_management)
    (range(80000, 80015), _R),  # business-use-case throttling (80004: ads_management)
)
POLICY_BLOCK_CODE: Final = 368
_USAGE_HEADERS: Final = ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage")
_REGAIN_KEY: Final = "estimated_time_to_regain_access"  # minutes, per Meta's rate-limit docs


@dataclass(frozen=True, slots=True)
class Outcome:
    """Meta's answer, reduced to what delivery needs; never holds the access token.

    ``code``/``subcode``/``message``/``user_title``/``user_msg``/``fbtrace_id`` come from Meta's
    error envelope; ``retry_after_s`` from ``Retry-After`` or the usage headers;
    ``events_received`` and ``messages`` from a success body.
    """

    kind: OutcomeKind
    status: int | None = None
    code: int | None = None
    subcode: int | None = None
    message: str = ""
    user_title: str | None = None
    user_msg: str | None = None
    fbtrace_id: str | None = None
    retry_after_s: float | None = None
    events_received: int | None = None
    messages: tuple[str, ...] = ()

    @property
    def policy_block(self) -> bool:
        """Code 368: Meta blocked the app for a policy violation; retry only much later."""
        return self.code == POLICY_BLOCK_CODE

    @property
    def retryable(self) -> bool:
        """Whether sending the same body again later may succeed."""
        return self.kind in (OutcomeKind.TRANSIENT, OutcomeKind.RATE_LIMITED)


class ProbeVerdict(StrEnum):
    """What a token probe proved."""

    PASSED = "passed"  # Meta got past the token and permission checks
    FAILED = "failed"  # the token (or its access to the pixel) is still refused
    INCONCLUSIVE = "inconclusive"  # Meta could not be asked (network, 5xx, throttling)


def kind_for_code(code: int) -> OutcomeKind | None:
    """The outcome a Graph error code stands for, or None for a code the spec does not list."""
    if code in CODE_OUTCOMES:
        return CODE_OUTCOMES[code]
    for codes, kind in CODE_RANGES:
        if code in codes:
            return kind
    return None


def classify(
    *,
    status: int | None,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    transport_error: str | None = None,
    now_s: float | None = None,
) -> Outcome:
    """Classify one Graph response (or the transport error that replaced it).

    ``body`` is the parsed JSON or None when it was not JSON (an HTML 502 page, say);
    ``now_s`` is needed only to read a ``Retry-After`` given as an HTTP date.
    """
    retry_after = retry_after_s(headers or {}, now_s=now_s)
    if transport_error is not None or status is None:
        message = transport_error or "no HTTP response"
        return Outcome(OutcomeKind.TRANSIENT, message=message, retry_after_s=retry_after)
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return _from_error(status, error, retry_after)
    if 200 <= status < 300:
        return _delivered(status, body)
    message = f"HTTP {status} without a Graph error body"
    return Outcome(
        _kind_for_status(status), status=status, message=message, retry_after_s=retry_after
    )


def check_received(sent: int, outcome: Outcome) -> str | None:
    """Describe a success whose ``events_received`` differs from ``sent``; None when it agrees.

    Outcomes other than DELIVERED have nothing to check.
    """
    if outcome.kind is not OutcomeKind.DELIVERED:
        return None
    if outcome.events_received is None:
        return f"Meta answered {outcome.status} without events_received; {sent} events were sent"
    if outcome.events_received != sent:
        return f"Meta received {outcome.events_received} of {sent} events sent"
    return None


def probe_verdict(outcome: Outcome) -> ProbeVerdict:
    """Judge a token probe (an empty ``data`` batch, see ``MetaClient.probe``).

    The probe passes only when Meta reached body validation (a 2xx or a code-100 rejection of
    the empty batch), which proves both the token and its access to the pixel. Code 100/33
    (no such pixel, or no access) and the permission codes keep delivery paused: resuming
    would only dead-letter every waiting event. A code 100 without a subcode passes: Meta's
    exact answer to an empty batch is not documented, and a probe that can never pass would
    hold delivery until every event expired (a bad ``appsecret_proof`` also answers a bare 100;
    sends then dead-letter with Meta's message).
    """
    if outcome.kind is OutcomeKind.DELIVERED:
        return ProbeVerdict.PASSED
    if outcome.kind is OutcomeKind.TOKEN:
        return ProbeVerdict.FAILED
    if outcome.kind is OutcomeKind.PERMANENT:
        passed = outcome.code == 100 and outcome.subcode != 33
        return ProbeVerdict.PASSED if passed else ProbeVerdict.FAILED
    return ProbeVerdict.INCONCLUSIVE


def retry_after_s(headers: Mapping[str, str], *, now_s: float | None = None) -> float | None:
    """Seconds Meta asks us to wait: the longest of ``Retry-After`` and the usage headers'
    ``estimated_time_to_regain_access`` (given in minutes); None when nothing says so."""
    lowered = {name.lower(): value for name, value in headers.items()}
    waits = [_usage_wait_s(lowered[name]) for name in _USAGE_HEADERS if name in lowered]
    if "retry-after" in lowered:
        waits.append(_parse_retry_after(lowered["retry-after"], now_s))
    known = [wait for wait in waits if wait is not None]
    return max(known) if known else None


def _from_error(status: int, error: Mapping[str, object], retry_after: float | None) -> Outcome:
    code = _as_int(error.get("code"))
    kind = kind_for_code(code) if code is not None else None
    if kind is None:
        kind = _kind_for_status(status)
    if kind is OutcomeKind.PERMANENT and error.get("is_transient") is True:
        kind = OutcomeKind.TRANSIENT
    return Outcome(
        kind,
        status=status,
        code=code,
        subcode=_as_int(error.get("error_subcode")),
        message=_as_str(error.get("message")) or f"HTTP {status} with a Graph error",
        user_title=_as_str(error.get("error_user_title")),
        user_msg=_as_str(error.get("error_user_msg")),
        fbtrace_id=_as_str(error.get("fbtrace_id")),
        retry_after_s=retry_after,
    )


def _delivered(status: int, body: object) -> Outcome:
    fields = body if isinstance(body, Mapping) else {}
    raw_messages = fields.get("messages")
    messages = raw_messages if isinstance(raw_messages, list) else []
    return Outcome(
        OutcomeKind.DELIVERED,
        status=status,
        fbtrace_id=_as_str(fields.get("fbtrace_id")),
        events_received=_as_int(fields.get("events_received")),
        messages=tuple(str(message) for message in messages),
    )


def _kind_for_status(status: int) -> OutcomeKind:
    """The outcome when the body names no known code: the server's fault is worth a retry."""
    if status == 429:
        return OutcomeKind.RATE_LIMITED
    if status >= 500 or status == 408:
        return OutcomeKind.TRANSIENT
    return OutcomeKind.PERMANENT


def _parse_retry_after(value: str, now_s: float | None) -> float | None:
    """``Retry-After`` as delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    try:
        seconds = float(value)
    except ValueError:
        return _seconds_until_date(value, now_s)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until_date(value: str, now_s: float | None) -> float | None:
    if now_s is None:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # HTTP dates are GMT
    return max(0.0, moment.timestamp() - now_s)


def _usage_wait_s(raw: str) -> float | None:
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [m for m in _numbers_under(usage, _REGAIN_KEY) if m > 0]
    return max(minutes) * 60.0 if minutes else None


def _numbers_under(node: object, key: str) -> Iterator[float]:
    """Every number stored under ``key`` anywhere in a JSON document."""
    if isinstance(node, Mapping):
        for name, value in node.items():
            if name == key and _is_number(value):
                yield float(value)
            else:
                yield from _numbers_under(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _numbers_under(item, key)


def _is_number(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
