"""Examples for the OpenAPI document: one or more for every request body and response."""

from __future__ import annotations

from typing import Any

from capigate.web.problems import PROBLEM_MEDIA_TYPE, TITLES, TYPE_PREFIX
from capigate.web.schemas import IngestResponse

_CTA = {
    "event": "cta_click",
    "event_id": "cta_s-81f2",
    "event_time": 1763800000,
    "user": {"email": "alice@example.com", "fbclid": "IwAR2F4-dbP0l7Mn"},
    "properties": {"button_id": "open_tg", "utm_source": "fb"},
    "context": {"page_url": "https://example.com/?utm_source=fb", "session_id": "s-81f2"},
}
_SUBSCRIBE = {
    "event": "subscribe",
    "user": {"telegram_id": "279058397", "phone": "+998 90 123 45 67"},
    "properties": {
        "transaction_id": "tx-1001",
        "value": 49000,
        "currency": "UZS",
        "subscription_plan": "monthly",
    },
}

INGEST_REQUEST: dict[str, Any] = {
    "single": {"summary": "One event from the landing page", "value": _CTA},
    "batch": {"summary": "A batch (up to 1,000 events)", "value": {"batch": [_CTA, _SUBSCRIBE]}},
}

INGEST_ACCEPTED: dict[str, Any] = {
    "queued": {
        "summary": "Stored, waiting for delivery",
        "value": {
            "results": [
                {
                    "index": 0,
                    "status": "queued",
                    "event_id": "cta_s-81f2",
                    "event_name": "Lead",
                    "warnings": [],
                }
            ]
        },
    },
    "duplicate": {
        "summary": "Seen within the dedup window: not stored again",
        "value": {
            "results": [
                {
                    "index": 0,
                    "status": "duplicate",
                    "event_id": "cta_s-81f2",
                    "event_name": "Lead",
                    "warnings": [],
                }
            ]
        },
    },
}


def problem(status: int, kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    """One example problem document as an OpenAPI ``examples`` entry."""
    value = {
        "type": TYPE_PREFIX + kind,
        "title": TITLES[kind],
        "status": status,
        "detail": detail,
        **extra,
    }
    return {kind: {"summary": TITLES[kind], "value": value}}


def problem_response(description: str, *examples: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI response entry whose body is a problem document."""
    merged: dict[str, Any] = {}
    for example in examples:
        merged.update(example)
    return {
        "description": description,
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/ProblemDocument"},
                "examples": merged,
            }
        },
    }


INVALID_EVENTS = problem(
    422,
    "invalid-events",
    "1 error(s) found; nothing was stored. Fix every listed field and resend.",
    errors=[
        {
            "path": "$.batch[2].user.email",
            "rule": "email_format",
            "severity": "error",
            "message": "not an email address",
        }
    ],
)
UNKNOWN_EVENT = problem(
    422,
    "unknown-event",
    "Unknown event key; valid keys: landing_view, cta_click, start_bot.",
    errors=[
        {
            "path": "$.event",
            "rule": "unknown_event",
            "severity": "error",
            "message": "'cta_clik' is not a key of the tracking plan",
        }
    ],
    valid_keys=["landing_view", "cta_click", "start_bot"],
)

HEALTH = {"ok": {"summary": "Process up", "value": {"status": "ok"}}}
READY = {
    "ready": {
        "summary": "Ready (sandbox mode)",
        "value": {
            "status": "ready",
            "sandbox": True,
            "store": "ok",
            "outbox_depth": 12,
            "outbox_high_water": 1000000,
            "reasons": ["sandbox mode: no Meta access token, events go to /__emulator__"],
        },
    }
}
NOT_READY = {
    "not_ready": {
        "summary": "Outbox above its high-water mark",
        "value": {
            "status": "not_ready",
            "sandbox": False,
            "store": "ok",
            "outbox_depth": 1000002,
            "outbox_high_water": 1000000,
            "reasons": ["outbox depth 1000002 is above the high-water mark 1000000"],
        },
    }
}
METRICS = (
    "# HELP capigate_ingest_events_total Events accepted at ingest, by status.\n"
    "# TYPE capigate_ingest_events_total counter\n"
    'capigate_ingest_events_total{source="website",status="queued"} 42\n'
    "# HELP capigate_outbox_depth Events waiting for delivery (queued, retry, leased).\n"
    "# TYPE capigate_outbox_depth gauge\n"
    "capigate_outbox_depth 12\n"
)

INGEST_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {
        "model": IngestResponse,
        "description": "Every event is durably stored (queued) or was a duplicate.",
        "content": {"application/json": {"examples": INGEST_ACCEPTED}},
    },
    400: problem_response(
        "Malformed JSON.", problem(400, "malformed-json", "The body is not valid JSON.")
    ),
    401: problem_response(
        "Missing or unknown key.",
        problem(401, "unauthorized", "unknown key: no source has this key"),
    ),
    403: problem_response(
        "Wrong origin, event not allowed, or identity claimed without initData.",
        problem(403, "forbidden", "source 'web': Origin is not in its allowlist"),
    ),
    413: problem_response(
        "Body over the size limit.",
        problem(413, "payload-too-large", "The body exceeds the limit of 2000000 bytes."),
    ),
    422: problem_response(
        "Invalid events (nothing stored) or an unknown event key.",
        INVALID_EVENTS,
        UNKNOWN_EVENT,
    ),
    429: problem_response(
        "Browser key over its per-IP rate (see Retry-After).",
        problem(429, "rate-limited", "Too many events from this IP; retry in 2 s."),
    ),
    503: problem_response(
        "Outbox above its high-water mark or store unavailable (see Retry-After).",
        problem(503, "backpressure", "The outbox holds 1000002 events; retry later."),
    ),
}
INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/IngestEvent"},
                        {"$ref": "#/components/schemas/IngestBatch"},
                    ]
                },
                "examples": INGEST_REQUEST,
            }
        },
    }
}
