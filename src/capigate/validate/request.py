"""A whole Meta request body (spec §1.2, §12 step 2): ``data`` and the top-level keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.validate.rules import child, found, kind

MAX_EVENTS_PER_REQUEST = 1_000  # "you can send us up to 1,000 events at a time"

REQUEST_STRING_KEYS = frozenset(
    {"test_event_code", "partner_agent", "namespace_id", "upload_id", "upload_tag",
     "upload_source", "access_token", "appsecret_proof"}
)  # fmt: skip
# In the SDK's generated parameter table but undocumented; accepted and not checked.
REQUEST_INTERNAL_KEYS = frozenset({"platforms", "progress", "trace"})
REQUEST_KEYS = REQUEST_STRING_KEYS | REQUEST_INTERNAL_KEYS | {"data"}


def check_body(body: Mapping[str, Any], out: list[Finding]) -> list[Any] | None:
    """Append request-level findings; return ``data`` when it is a list of events to check."""
    for key, value in body.items():
        if key not in REQUEST_KEYS:
            out.append(
                found(
                    "request_unknown_key",
                    child("$", key),
                    f"{key!r} is not a request parameter Meta documents; it is ignored at best. "
                    "Per-event fields belong inside each event of data.",
                )
            )
        elif key in REQUEST_STRING_KEYS and not isinstance(value, str):
            out.append(
                found(
                    "request_field_type",
                    child("$", key),
                    f"{key} must be a string, not {kind(value)}.",
                )
            )
    data = body.get("data")
    if data is None:
        out.append(found("data_missing", "$.data", "The request needs data, an array of events."))
        return None
    if not isinstance(data, list):
        hint = " Decode the form field first." if isinstance(data, str) else ""
        out.append(
            found(
                "data_not_list",
                "$.data",
                f"data must be an array of events, not {kind(data)}.{hint}",
            )
        )
        return None
    if not data:
        out.append(found("data_empty", "$.data", "data is empty; send at least one event."))
    elif len(data) > MAX_EVENTS_PER_REQUEST:
        out.append(
            found(
                "too_many_events",
                "$.data",
                f"data holds {len(data)} events; Meta accepts at most {MAX_EVENTS_PER_REQUEST} "
                "per request. Split it into smaller batches.",
            )
        )
    return data


def find_duplicates(events: list[dict[str, Any]]) -> list[Finding]:
    """Warnings for events that repeat an earlier event's (event_name, event_id)."""
    first_seen: dict[tuple[str, str], int] = {}
    findings: list[Finding] = []
    for i, event in enumerate(events):
        name, event_id = event.get("event_name"), event.get("event_id")
        if not (isinstance(name, str) and isinstance(event_id, str) and event_id):
            continue
        first = first_seen.setdefault((name, event_id), i)
        if first != i:
            findings.append(
                found(
                    "duplicate_event_in_request",
                    f"$.data[{i}].event_id",
                    f"This event repeats $.data[{first}] ({name}, same event_id); Meta keeps "
                    "only the first. Drop the copy or give it its own event_id.",
                )
            )
    return findings
