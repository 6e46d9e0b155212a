"""A decided payment as the ingest item that goes through the tracking plan like any other.

The item is DESIGN.md's ingest shape: the plan key as ``event``, the payment's time, the
provider's user fields as ``user`` (``telegram_id`` becomes ``external_id`` in the plan
mapping, and identity stitching adds the user's landing-page keys), and as ``properties`` the
decision's facts (``transaction_id``, ``value``, ``currency``, plans) over the provider's
pass-through ``properties`` and the payment's ``reason``. Those two are read from the payload
every time, never from the store: a reason may be free text a user typed. The event_id comes
from the plan's template
(``sub_{transaction_id}``), so the same payment always yields the same event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capigate.webhooks.mapping import Payment


def to_item(payment: Payment, plan_key: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The ingest item for ``payment`` sent as ``plan_key`` with the decided ``properties``."""
    return {
        "event": plan_key,
        "event_time": payment.event_time,
        "user": dict(payment.user),
        "properties": {**payment.properties, **_reason(payment), **properties},
    }


def _reason(payment: Payment) -> dict[str, str]:
    return {"reason": payment.reason} if payment.reason else {}
