"""RFC 9457 problem documents: every refusal the API gives, as ``application/problem+json``.

Each document has ``type`` (a stable URN per kind of problem), ``title``, ``status``, ``detail``
and, when events were checked, ``errors``: one entry per finding with its JSONPath into the
request body and its rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from capigate.findings import Finding
from capigate.web.answer import Answer

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:capigate:problem:"

TITLES: Mapping[str, str] = {
    "malformed-json": "Malformed JSON",
    "invalid-request": "Invalid request",
    "invalid-events": "Invalid events",
    "unknown-event": "Unknown event key",
    "payload-too-large": "Payload too large",
    "unauthorized": "Missing or unknown key",
    "forbidden": "Not allowed",
    "rate-limited": "Too many requests",
    "backpressure": "Outbox full",
    "store-unavailable": "Store unavailable",
    "not-found": "Not found",
    "bad-signature": "Bad webhook signature",
    "replayed-signature": "Webhook already received",
    "method-not-allowed": "Method not allowed",
    "internal-error": "Internal error",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One refusal; ``kind`` is a key of ``TITLES`` and the tail of the ``type`` URN."""

    status: int
    kind: str
    detail: str
    errors: Sequence[Finding] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)
    retry_after_s: int | None = None

    def document(self) -> dict[str, Any]:
        """The JSON object of RFC 9457 with capigate's ``errors`` extension."""
        doc: dict[str, Any] = {
            "type": TYPE_PREFIX + self.kind,
            "title": TITLES[self.kind],
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            doc["errors"] = [finding_dict(f) for f in self.errors]
        doc.update(self.extensions)
        return doc

    def response(self, headers: Mapping[str, str] | None = None) -> Response:
        """The HTTP response carrying this problem."""
        return self.answer(headers).response()

    def answer(self, headers: Mapping[str, str] | None = None) -> Answer:
        """The problem as plain values (``Retry-After`` and the 401 challenge included)."""
        all_headers = dict(headers or {})
        if self.retry_after_s is not None:
            all_headers["Retry-After"] = str(self.retry_after_s)
        if self.status == 401:
            all_headers.setdefault("WWW-Authenticate", 'Bearer realm="capigate"')
        return Answer(self.status, orjson.dumps(self.document()), PROBLEM_MEDIA_TYPE, all_headers)


class Refused(Exception):
    """Carries a problem document out of the request pipeline."""

    def __init__(self, problem: Problem, reason: str) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.reason = reason


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A finding as the API shows it (``spec`` only when known)."""
    entry = {
        "path": finding.path,
        "rule": finding.rule,
        "severity": finding.severity.value,
        "message": finding.message,
    }
    if finding.spec:
        entry["spec"] = finding.spec
    return entry


def invalid_events(findings: Iterable[Finding], valid_keys: Sequence[str] | None) -> Problem:
    """422 listing every finding; names the valid event keys when one was unknown."""
    errors = list(findings)
    count = sum(1 for f in errors if f.is_error)
    detail = f"{count} error(s) found; nothing was stored. Fix every listed field and resend."
    if valid_keys is None:
        return Problem(422, "invalid-events", detail, errors)
    detail = f"Unknown event key; valid keys: {', '.join(valid_keys)}. {detail}"
    return Problem(422, "unknown-event", detail, errors, {"valid_keys": list(valid_keys)})


def too_large(limit_bytes: int) -> Problem:
    """413 naming the limit."""
    return Problem(413, "payload-too-large", f"The body exceeds the limit of {limit_bytes} bytes.")


def malformed_json(reason: str) -> Problem:
    """400 with the parser's reason (a position, never the body's content)."""
    return Problem(400, "malformed-json", f"The body is not valid JSON: {reason}.")
