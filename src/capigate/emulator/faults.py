"""Scripted failures: the next N requests fail a given way, or a throttling window refuses all.

``POST /__emulator__/faults`` takes ``{"count": N, "code": 2, "status": 500, "delay_s": 0.5,
"drop_connection": false, "retry_after_s": 5, "headers": {...}, "pixel_id": "..."}`` (queued,
first in first out) and/or ``{"throttle": {"duration_s": 30, "code": 80004, ...}}`` (a window on
the injected clock). Defaults follow spec §8-9: codes 1/2 answer HTTP 500, throttling codes are
``is_transient``, 80004 carries ``X-Business-Use-Case-Usage`` with
``estimated_time_to_regain_access`` (minutes).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from capigate.clock import Clock
from capigate.emulator.envelope import GraphError
from capigate.errors import ValidationError

TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, *range(80000, 80015)})
MESSAGES = {
    1: "An unknown error occurred",
    2: "An unexpected error has occurred. Please retry your request later.",
    4: "(#4) Application request limit reached",
    10: "(#10) Application does not have permission for this action",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    100: "Invalid parameter",
    102: "Session key invalid or no longer valid",
    104: "An access token is required to request this resource.",
    190: "Invalid OAuth access token - Cannot parse access token",
    200: "(#200) Permissions error",
    341: "(#341) Application limit reached",
    368: "The action attempted has been deemed abusive or is otherwise disallowed",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    803: "(#803) Some of the aliases you requested do not exist",
    2635: "(#2635) You are calling a deprecated version of the Ads API.",
}
THROTTLE_SUBCODES = {17: 2446079, 80004: 2446079, 613: 1487742}


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted failure, applied to the next ``count`` matching requests."""

    count: int = 1
    code: int | None = None
    subcode: int | None = None
    status: int | None = None
    is_transient: bool | None = None
    message: str | None = None
    type: str = "OAuthException"
    error_user_title: str | None = None
    error_user_msg: str | None = None
    delay_s: float = 0.0
    drop_connection: bool = False
    retry_after_s: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # a raw non-JSON body (a proxy's 502 page) instead of Graph's error
    pixel_id: str | None = None

    def does_something(self) -> bool:
        """Whether the fault fails, delays or drops (a fault with none of these is a mistake)."""
        return self.error() is not None or self.delay_s > 0 or self.drop_connection

    def label(self) -> str:
        """A short description for the request log: ``fault code=2 status=500 delay_s=1``."""
        error = self.error()
        parts = ["fault"]
        if error is not None:
            parts.append(f"code={error.code} status={error.status}")
        if self.delay_s:
            parts.append(f"delay_s={self.delay_s}")
        if self.drop_connection:
            parts.append("drop_connection")
        return " ".join(parts)

    def error(self) -> GraphError | None:
        """The Graph error this fault answers with; None for a delay-only fault."""
        if self.code is None and self.status is None and self.body is None:
            return None
        status = self.status or (500 if self.code in (1, 2) else 400)
        code = self.code if self.code is not None else (2 if status >= 500 else 100)
        headers = dict(self.headers)
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(math.ceil(self.retry_after_s))
        return GraphError(
            status,
            code,
            self.message or _message(code),
            type=self.type,
            subcode=self.subcode,
            is_transient=_transient(code) if self.is_transient is None else self.is_transient,
            user_title=self.error_user_title,
            user_msg=self.error_user_msg,
            headers=headers,
        )


@dataclass(frozen=True, slots=True)
class Throttle:
    """A window during which every (matching) request is refused as throttled."""

    until_s: float
    code: int = 80004
    subcode: int | None = None
    status: int = 400
    usage_header: bool = True
    retry_after_header: bool = False
    message: str | None = None
    pixel_id: str | None = None

    def error(self, now_s: float, pixel_id: str) -> GraphError:
        """The throttling answer, its headers telling how long is left."""
        remaining_s = max(0.0, self.until_s - now_s)
        headers: dict[str, str] = {}
        if self.usage_header:
            usage = [
                {
                    "type": "ads_management",
                    "call_count": 100,
                    "total_cputime": 100,
                    "total_time": 100,
                    "estimated_time_to_regain_access": math.ceil(remaining_s / 60),
                }
            ]
            headers["X-Business-Use-Case-Usage"] = orjson.dumps({pixel_id: usage}).decode()
        if self.retry_after_header:
            headers["Retry-After"] = str(math.ceil(remaining_s))
        subcode = self.subcode if self.subcode is not None else THROTTLE_SUBCODES.get(self.code)
        return GraphError(
            self.status,
            self.code,
            self.message or _message(self.code),
            subcode=subcode,
            is_transient=True,
            headers=headers,
        )


@dataclass(frozen=True, slots=True)
class Action:
    """What to do with one request before (or instead of) answering it normally."""

    delay_s: float = 0.0
    drop_connection: bool = False
    error: GraphError | None = None
    raw_body: str | None = None
    label: str = ""


NO_ACTION = Action()


class FaultPlan:
    """The queue of scripted faults and the throttle window; safe to share between threads."""

    def __init__(self, clock: Clock, throttle_status: int = 400) -> None:
        self._clock = clock
        self._throttle_status = throttle_status
        self._lock = threading.Lock()
        self._queue: deque[list[Any]] = deque()  # [fault, remaining count]
        self._throttle: Throttle | None = None

    def add(self, spec: Mapping[str, Any]) -> None:
        """Queue a fault and/or open a throttle window from the JSON body of POST /faults."""
        spec = dict(spec)
        throttle = spec.pop("throttle", None)
        fault = _parse(Fault, spec) if spec else None
        window = self._parse_throttle(throttle) if throttle is not None else None
        if fault is None and window is None:
            raise ValidationError("faults: send a fault (count, code, ...) or a throttle")
        if fault is not None and not fault.does_something():
            raise ValidationError("faults: a fault needs code, status, delay_s or drop_connection")
        with self._lock:
            if fault is not None:
                self._queue.append([fault, fault.count])
            if window is not None:
                self._throttle = window

    def clear(self) -> None:
        """Forget every queued fault and the throttle window."""
        with self._lock:
            self._queue.clear()
            self._throttle = None

    def next_for(self, pixel_id: str) -> Action | None:
        """Consume the fault that applies to this request, if any."""
        with self._lock:
            for index, entry in enumerate(self._queue):
                fault: Fault = entry[0]
                if fault.pixel_id in (None, pixel_id):
                    entry[1] -= 1
                    if entry[1] <= 0:
                        del self._queue[index]
                    return Action(
                        fault.delay_s,
                        fault.drop_connection,
                        fault.error(),
                        fault.body,
                        label=fault.label(),
                    )
            return self._throttled(pixel_id)

    def snapshot(self) -> dict[str, Any]:
        """The queued faults (with what is left of their count) and the throttle window."""
        with self._lock:
            faults = [{**asdict(f), "remaining": left} for f, left in self._queue]
            throttle = asdict(self._throttle) if self._throttle else None
        return {"faults": faults, "throttle": throttle}

    def _throttled(self, pixel_id: str) -> Action | None:
        window = self._throttle
        if window is None:
            return None
        now_s = self._clock()
        if now_s >= window.until_s:
            self._throttle = None
            return None
        if window.pixel_id not in (None, pixel_id):
            return None
        return Action(error=window.error(now_s, pixel_id), label=f"throttle code={window.code}")

    def _parse_throttle(self, spec: Any) -> Throttle:
        if not isinstance(spec, dict):
            raise ValidationError("faults: throttle must be an object")
        spec = {"status": self._throttle_status, **spec}
        duration_s = spec.pop("duration_s", None)
        if not isinstance(duration_s, int | float) or duration_s <= 0:
            raise ValidationError("faults: throttle.duration_s must be a positive number")
        throttle: Throttle = _parse(Throttle, {**spec, "until_s": self._clock() + duration_s})
        return throttle


def _parse(cls: type[Any], spec: dict[str, Any]) -> Any:
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValidationError(f"faults: unknown key(s) {', '.join(unknown)}")
    if "pixel_id" in spec and spec["pixel_id"] is not None:
        spec["pixel_id"] = str(spec["pixel_id"])
    try:
        value = cls(**spec)
    except TypeError as exc:
        raise ValidationError(f"faults: {exc}") from exc
    _check_types(value)
    return value


def _check_types(value: Any) -> None:
    count = getattr(value, "count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValidationError("faults: count must be a positive integer")
    status = getattr(value, "status", None)
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise ValidationError("faults: status must be an HTTP status code")
    delay_s = getattr(value, "delay_s", 0.0)
    if not isinstance(delay_s, int | float) or delay_s < 0:
        raise ValidationError("faults: delay_s must be a number >= 0")
    headers = getattr(value, "headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValidationError("faults: headers must map names to strings")


def _message(code: int) -> str:
    if 80000 <= code <= 80014:
        return (
            f"(#{code}) There have been too many calls to this ad-account. Wait a bit and try "
            "again. For more info, please refer to "
            "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
        )
    return MESSAGES.get(code, f"(#{code}) Error")


def _transient(code: int) -> bool:
    return code in TRANSIENT_CODES
