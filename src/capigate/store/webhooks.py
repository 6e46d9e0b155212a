"""Payment webhooks in the store (migration 0005): subscriptions, payments, seen signatures.

A payment is applied in two steps so that none is lost or counted twice, even when the same
webhook arrives twice at once or a process dies in between:

1. ``claim_payment`` saves the user's new subscription state (compare-and-set on the version
   the caller read, as the lifecycle state does) and records the transaction as pending with
   what to send, in one transaction. A transaction already recorded is ``taken``; a state
   saved by someone else in between is a ``conflict`` (the caller reads and decides again).
2. The events go through ingest, then ``complete_payment`` marks the transaction done.

A pending transaction found later (a crash between the steps, or a concurrent request) is
finished by sending its recorded events again; ingest's dedup makes that safe. When ingest
refuses the events, ``release_payment`` undoes the claim. Seen signatures are kept until the
signature's timestamp leaves the tolerance window, so a replay within it is recognised by
every process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal, Protocol

from capigate.store import sql
from capigate.webhooks.subscriptions import Status, SubscriptionState

Claim = Literal["claimed", "taken", "conflict"]
JsonCodec = Callable[[Any], Any]
PURGE_BATCH_SIGNATURES = 5_000  # seen signatures deleted per transaction
_STATE_SCALARS = (
    "user_key", "plan", "currency", "started_at", "last_charge_at", "last_transaction_id",
    "charges", "canceled_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    """One provider transaction as applied: what it meant and what was sent for it."""

    provider: str
    transaction_id: str
    user_key: str
    action: str
    outcome: str | None  # capigate.webhooks.config.Outcome, None when nothing is sent
    plan_key: str | None
    properties: Mapping[str, Any] = field(default_factory=dict)  # the sent item's, no PII
    done: bool = False
    created_at: float = 0.0
    completed_at: float | None = None


class WebhookStore(Protocol):
    """The webhook operations every store implements (memory, SQLite, PostgreSQL)."""

    async def load_subscription(self, user_key: str) -> SubscriptionState | None:
        """The user's subscription (with its version), or ``None`` if never saved."""
        ...

    async def payment_record(self, provider: str, transaction_id: str) -> PaymentRecord | None:
        """The record of this transaction, pending or done, or ``None``."""
        ...

    async def claim_payment(
        self, record: PaymentRecord, state: SubscriptionState, *, expected_version: int
    ) -> Claim:
        """Record ``record`` as pending and save ``state`` over ``expected_version``, atomically.

        ``taken``: the transaction is recorded already; ``conflict``: the state's version is no
        longer ``expected_version`` (0: the user must be new). Either way nothing was written.
        """
        ...

    async def release_payment(
        self, record: PaymentRecord, *, previous: SubscriptionState | None, claimed_version: int
    ) -> bool:
        """Forget a pending claim and put ``previous`` back, atomically.

        The state is restored only while it is still the claimed version (else someone built
        on it since); returns whether it was. A done record is never forgotten.
        """
        ...

    async def complete_payment(self, provider: str, transaction_id: str, *, now_s: float) -> None:
        """Mark a pending transaction done."""
        ...

    async def remember_signature(self, key: str, *, expires_at_s: float, now_s: float) -> bool:
        """Keep ``key`` until ``expires_at_s``; ``False`` when it is kept already (a replay)."""
        ...

    async def forget_signature(self, key: str) -> None:
        """Drop ``key``, so that the same signed request may be sent again."""
        ...

    async def purge_signatures(self, *, now_s: float) -> int:
        """Forget signatures that expired at or before ``now_s``; returns how many."""
        ...


@cache
def queries(dialect: str) -> dict[str, str]:
    """The webhook queries for ``dialect`` (``sql/webhooks_<dialect>.sql``)."""
    if dialect not in sql.DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {sql.DIALECTS}")
    text = resources.files(sql.__name__).joinpath(f"webhooks_{dialect}.sql").read_text("utf-8")
    return sql.parse(text)


def state_params(
    state: SubscriptionState, *, expected_version: int, now_s: float
) -> dict[str, Any]:
    """The parameters of ``insert_subscription`` / ``update_subscription``."""
    params: dict[str, Any] = {name: getattr(state, name) for name in _STATE_SCALARS}
    params["status"] = state.status.value
    params["value"] = None if state.value is None else str(state.value)
    params.update(expected=expected_version, version=expected_version + 1, now=now_s)
    return params


def state_from_row(row: Mapping[str, Any] | Any) -> SubscriptionState:
    """A ``SubscriptionState`` from a ``subscriptions`` row (readable by column name)."""
    values = {name: row[name] for name in _STATE_SCALARS}
    value = row["value"]
    return SubscriptionState(
        **values,
        status=Status(row["status"]),
        value=None if value is None else Decimal(value),
        version=int(row["version"]),
    )


def record_params(record: PaymentRecord, dump: JsonCodec) -> dict[str, Any]:
    """The parameters of ``insert_payment``."""
    return {
        "provider": record.provider,
        "transaction_id": record.transaction_id,
        "user_key": record.user_key,
        "action": record.action,
        "outcome": record.outcome,
        "plan_key": record.plan_key,
        "properties": dump(dict(record.properties)),
        "created_at": record.created_at,
    }


def record_from_row(row: Mapping[str, Any] | Any, load: JsonCodec) -> PaymentRecord:
    """A ``PaymentRecord`` from a ``webhook_payments`` row."""
    return PaymentRecord(
        provider=row["provider"],
        transaction_id=row["transaction_id"],
        user_key=row["user_key"],
        action=row["action"],
        outcome=row["outcome"],
        plan_key=row["plan_key"],
        properties=load(row["properties"]),
        done=bool(row["done"]),
        created_at=float(row["created_at"]),
        completed_at=row["completed_at"],
    )


def key_params(record: PaymentRecord) -> dict[str, str]:
    """The primary key of a payment record as query parameters."""
    return {"provider": record.provider, "transaction_id": record.transaction_id}
