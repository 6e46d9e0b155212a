"""The Atmos adapter: an Atmos callback, forwarded by the merchant after it approved the payment.

Atmos calls the merchant before it debits the card (a pre-debit authorization the merchant
must answer, ``reference/sources.md`` §2.2); the gateway never answers that call. Once the
merchant has approved, it forwards the callback to ``/webhooks/<name>`` (signed with the
capigate signature like any webhook), adding whose payment it is and on which plan::

    {"callback": {"store_id": "7453", "transaction_id": 48151623, "invoice": "sub-77123-11",
                  "amount": 4900000, "transaction_time": "2026-11-22 14:05:10", "sign": "..."},
     "user": {"telegram_id": "77123"},
     "plan": "monthly"}

The callback's ``sign`` is checked too: ``md5(store_id + transaction_id + invoice + amount +
api_key)`` in lower-case hex, the values concatenated as their raw JSON text (Atmos may send
numbers quoted or not), ``api_key`` being the separate callback key, not the consumer secret.
That proves the charge itself came from Atmos. Amounts are in tiyin (1 UZS = 100 tiyin).
The callback format is known from third-party code only: confirm it with Atmos before go-live.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding, error
from capigate.webhooks.signature import SignatureError

CALLBACK_KEY = "callback"  # where the forwarded body carries Atmos's callback
SIGN_FIELDS = ("store_id", "transaction_id", "invoice", "amount")  # in signing order
DEFAULT_CALLBACK_KEY_ENV = "CAPIGATE_ATMOS_CALLBACK_KEY"
SPEC = "sources.md §2.2"

# What an ``adapter: atmos`` provider reads unless the plan says otherwise: every body is a
# charge, in tiyin of UZS, for the user the merchant names.
DEFAULTS: Mapping[str, Any] = {
    "action": "charge",
    "fields": {
        "transaction_id": f"{CALLBACK_KEY}.transaction_id",
        "amount": f"{CALLBACK_KEY}.amount",
        "plan": "plan",
    },
    "user": {"telegram_id": "user.telegram_id"},
    "amount_unit": "minor",
    "currency": "UZS",
}


def with_defaults(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A provider entry over :data:`DEFAULTS`; ``fields`` and ``user`` merge key by key."""
    merged = {**DEFAULTS, **entry}
    for key in ("fields", "user"):
        given = entry.get(key)
        if isinstance(given, Mapping):
            merged[key] = {**DEFAULTS[key], **given}
    if "event_type" in entry and "action" not in entry:
        del merged["action"]
    return merged


def callback_sign(callback: Mapping[str, str], api_key: str) -> str:
    """The ``sign`` Atmos puts on a callback whose fields have these raw texts."""
    text = "".join(callback[name] for name in SIGN_FIELDS) + api_key
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def verify_callback(body: bytes, api_key: str) -> list[Finding]:
    """Check the forwarded callback's ``sign``: findings for missing fields (422), or
    ``SignatureError`` (401) when the sign does not match."""
    callback = _raw_callback(body)
    if callback is None:
        return [error(f"$.{CALLBACK_KEY}", "field_required", _callback_problem(), SPEC)]
    texts: dict[str, str] = {}
    findings: list[Finding] = []
    for name in (*SIGN_FIELDS, "sign"):
        value = callback.get(name)
        path = f"$.{CALLBACK_KEY}.{name}"
        if isinstance(value, str) and value:
            texts[name] = value
        elif value is None or value == "":
            findings.append(error(path, "field_required", f"the callback has no {name}", SPEC))
        else:
            findings.append(error(path, "field_type", f"{name} must be a string or number", SPEC))
    if findings:
        return findings
    expected = callback_sign(texts, api_key)
    sign = texts["sign"].lower()
    if not (sign.isascii() and hmac.compare_digest(expected, sign)):
        raise SignatureError("mismatch", "the Atmos callback's sign does not match its fields")
    return []


def _raw_callback(body: bytes) -> dict[str, Any] | None:
    """The callback object with every number kept as its raw JSON text."""
    try:
        document = json.loads(body, parse_int=str, parse_float=str)
    except ValueError:
        return None
    callback = document.get(CALLBACK_KEY) if isinstance(document, dict) else None
    return callback if isinstance(callback, dict) else None


def _callback_problem() -> str:
    return f"the body must carry Atmos's callback object under {CALLBACK_KEY!r}"
