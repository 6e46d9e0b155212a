"""OpenAPI examples for ``POST /webhooks/{provider}``: the default plan's two providers."""

from __future__ import annotations

from typing import Any

from capigate.web.examples import problem, problem_response

_BILLING = {
    "type": "payment.succeeded",
    "id": "pay_0001",
    "time": 1763800000,
    "amount": 49000,
    "currency": "UZS",
    "plan": "monthly",
    "user": {"telegram_id": "279058397"},
    "payment_method": "uzcard",
}
_ATMOS = {
    "callback": {
        "store_id": "7453",
        "transaction_id": 48151623,
        "transaction_time": "2026-11-22 14:05:10",
        "amount": 4900000,
        "invoice": "sub-279058397-2026-11",
        "sign": "c3fbda537a5453015323d818e08dcac7",  # md5 with the key example-callback-key
    },
    "user": {"telegram_id": "279058397"},
    "plan": "monthly",
}
_APPLIED = {
    "provider": "billing",
    "status": "queued",
    "transaction_id": "pay_0001",
    "event_type": "payment.succeeded",
    "outcome": "subscribe",
    "plan_key": "subscribe",
    "note": "first charge",
    "events": [
        {"status": "queued", "event_id": "sub_pay_0001", "event_name": "Subscribe", "warnings": []}
    ],
}
_DUPLICATE = {
    **_APPLIED,
    "status": "duplicate",
    "note": "this transaction was applied before",
    "events": [],
}
_MISSING = {
    "path": "$.amount",
    "rule": "field_required",
    "severity": "error",
    "message": "the payload has no amount (billing maps amount to it)",
    "spec": "DESIGN Payments (plan webhooks section)",
}

WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object"},
                "examples": {
                    "billing": {"summary": "The billing backend: a charge", "value": _BILLING},
                    "atmos": {"summary": "An Atmos callback, forwarded", "value": _ATMOS},
                },
            }
        },
    }
}

WEBHOOK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Applied and durably stored (or a repeat, or an event type not mapped).",
        "content": {
            "application/json": {
                "examples": {
                    "queued": {"summary": "First charge: Subscribe stored", "value": _APPLIED},
                    "duplicate": {"summary": "The same transaction again", "value": _DUPLICATE},
                }
            }
        },
    },
    400: problem_response(
        "Not JSON.", problem(400, "malformed-json", "the body is not valid JSON: unexpected end")
    ),
    401: problem_response(
        "Missing, malformed, wrong or stale signature.",
        problem(
            401,
            "bad-signature",
            "the signature is 400 s old; the tolerance is 300 s",
            reason="stale",
        ),
    ),
    404: problem_response(
        "Unknown provider.", problem(404, "not-found", "no webhook provider 'stripe' is configured")
    ),
    409: problem_response(
        "This signed request was accepted before.",
        problem(
            409,
            "replayed-signature",
            "this signed request was accepted before; sign each attempt anew (fresh t=)",
        ),
    ),
    422: problem_response(
        "A mapped field is missing or invalid.",
        problem(
            422,
            "invalid-request",
            "1 mapped field(s) missing or invalid; nothing was stored",
            errors=[_MISSING],
        ),
    ),
    503: problem_response(
        "The store is unavailable.",
        problem(503, "store-unavailable", "The store is unavailable; retry later."),
    ),
}
