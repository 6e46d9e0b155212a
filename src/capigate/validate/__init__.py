"""Validation of events and requests against Meta's rules, on Meta's wire shape.

Input is the plain JSON Meta receives (``user_data`` already hashed). Validation is pure: the
caller passes ``now_s``, nothing is read or written. Each problem is a
:class:`~capigate.findings.Finding` whose ``rule`` is a slug of :data:`RULES`, the catalogue that
docs and the dashboard list. An event with an ERROR finding would make Meta reject its whole
request; WARNINGs are sent.

Decisions on the spec's UNCERTAIN points: malformed ``fbc``/``fbp`` are warnings (Meta drops the
value, not the event); ``value`` without ``currency`` is a warning (2804023 is disputed); numeric
strings are accepted for ``value`` and left as they are; unknown ``user_data`` keys and request
keys are warnings, unknown event keys are errors (Meta's "Unexpected key").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capigate.findings import Finding
from capigate.validate.event import ACTION_SOURCES, EVENT_KEYS, check_event
from capigate.validate.messaging import OFFICIAL_MESSAGING_NAMES
from capigate.validate.names import STANDARD_EVENT_NAMES
from capigate.validate.options import DEFAULT_OPTIONS, ValidationOptions
from capigate.validate.request import MAX_EVENTS_PER_REQUEST, check_body, find_duplicates
from capigate.validate.rules import RULES, Rule, found, kind

__all__ = [
    "ACTION_SOURCES",
    "EVENT_KEYS",
    "MAX_EVENTS_PER_REQUEST",
    "OFFICIAL_MESSAGING_NAMES",
    "RULES",
    "STANDARD_EVENT_NAMES",
    "EventCheck",
    "RequestCheck",
    "Rule",
    "ValidationOptions",
    "validate_event",
    "validate_request",
]


@dataclass(frozen=True, slots=True)
class EventCheck:
    """The outcome for one event: the corrected copy Meta should get, and every finding."""

    event: dict[str, Any]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings do not stop an event)."""
        return not any(finding.is_error for finding in self.findings)


@dataclass(frozen=True, slots=True)
class RequestCheck:
    """The outcome for a request body: its own findings and one EventCheck per event."""

    body: dict[str, Any]
    findings: tuple[Finding, ...]
    events: tuple[EventCheck, ...]

    @property
    def ok(self) -> bool:
        """True when Meta would accept the request: no error anywhere in it."""
        return not any(f.is_error for f in self.findings) and all(e.ok for e in self.events)

    @property
    def rejected(self) -> tuple[int, ...]:
        """Indexes in ``data`` of the events with an error (what to split out of a batch)."""
        return tuple(i for i, check in enumerate(self.events) if not check.ok)

    def all_findings(self) -> tuple[Finding, ...]:
        """Request findings, then each event's findings with paths under ``$.data[i]``."""
        nested = (f.under(f"$.data[{i}]") for i, e in enumerate(self.events) for f in e.findings)
        return (*self.findings, *nested)


def validate_event(
    event: Mapping[str, Any], *, now_s: float, options: ValidationOptions | None = None
) -> EventCheck:
    """Check one server event as Meta receives it, at Unix time ``now_s``.

    The returned ``event`` is a shallow copy; the only correction is an ``event_time`` given in
    milliseconds, converted to seconds (with a warning).
    """
    return _check_event(event, now_s, options or DEFAULT_OPTIONS)


def validate_request(
    body: Mapping[str, Any], *, now_s: float, options: ValidationOptions | None = None
) -> RequestCheck:
    """Check a whole request body: top-level keys, ``data`` (1 to 1,000 events), every event."""
    return _check_request(body, now_s, options or DEFAULT_OPTIONS)


def _check_event(event: object, now_s: float, options: ValidationOptions) -> EventCheck:
    if not isinstance(event, Mapping):
        message = f"Each event must be an object, not {kind(event)}."
        return EventCheck({}, (found("event_not_object", "$", message),))
    copy = dict(event)
    findings: list[Finding] = []
    check_event(copy, now_s, options, findings)
    return EventCheck(copy, tuple(findings))


def _check_request(body: object, now_s: float, options: ValidationOptions) -> RequestCheck:
    if not isinstance(body, Mapping):
        message = f"The request body must be a JSON object, not {kind(body)}."
        return RequestCheck({}, (found("body_not_object", "$", message),), ())
    findings: list[Finding] = []
    data = check_body(body, findings)
    if data is None:
        return RequestCheck(dict(body), tuple(findings), ())
    checks = tuple(_check_event(event, now_s, options) for event in data)
    findings.extend(find_duplicates([check.event for check in checks]))
    # A non-object event stays as it was in the corrected body; its check says why it is wrong.
    events = [c.event if isinstance(e, Mapping) else e for c, e in zip(checks, data, strict=True)]
    return RequestCheck({**body, "data": events}, tuple(findings), checks)
