"""Payment webhooks in memory: the ``WebhookStore`` part of ``InMemoryStore``.

Each method runs without awaiting, so on one event loop every claim and release is atomic,
like the SQL stores' transactions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from capigate.store.webhooks import Claim, PaymentRecord
from capigate.webhooks.subscriptions import SubscriptionState

_PaymentKey = tuple[str, str]


@dataclass(slots=True)
class WebhookTables:
    """The memory store's webhook tables."""

    subscriptions: dict[str, SubscriptionState] = field(default_factory=dict)
    payments: dict[_PaymentKey, PaymentRecord] = field(default_factory=dict)
    signatures: dict[str, float] = field(default_factory=dict)  # key -> expires at


class MemoryWebhooks:
    """Mixin for ``InMemoryStore``: webhook operations over ``self._webhooks``."""

    if TYPE_CHECKING:
        _webhooks: WebhookTables

        def _record(self, name: str, **arguments: Any) -> None: ...

    async def load_subscription(self, user_key: str) -> SubscriptionState | None:
        """The user's subscription, or ``None``."""
        self._record("load_subscription", user_key=user_key)
        return self._webhooks.subscriptions.get(user_key)

    async def payment_record(self, provider: str, transaction_id: str) -> PaymentRecord | None:
        """The record of this transaction, or ``None``."""
        self._record("payment_record", provider=provider, transaction_id=transaction_id)
        return self._webhooks.payments.get((provider, transaction_id))

    async def claim_payment(
        self, record: PaymentRecord, state: SubscriptionState, *, expected_version: int
    ) -> Claim:
        """Record ``record`` as pending and save ``state``, unless taken or in conflict."""
        self._record("claim_payment", record=record, state=state, expected=expected_version)
        tables = self._webhooks
        key = (record.provider, record.transaction_id)
        if key in tables.payments:
            return "taken"
        saved = tables.subscriptions.get(state.user_key)
        if (saved.version if saved else 0) != expected_version:
            return "conflict"
        tables.subscriptions[state.user_key] = dataclasses.replace(
            state, version=expected_version + 1
        )
        tables.payments[key] = dataclasses.replace(record, done=False, completed_at=None)
        return "claimed"

    async def release_payment(
        self, record: PaymentRecord, *, previous: SubscriptionState | None, claimed_version: int
    ) -> bool:
        """Forget a pending claim; restore ``previous`` if the state is still the claimed one."""
        self._record("release_payment", record=record, previous=previous)
        tables = self._webhooks
        key = (record.provider, record.transaction_id)
        held = tables.payments.get(key)
        if held is not None and not held.done:
            del tables.payments[key]
        saved = tables.subscriptions.get(record.user_key)
        if saved is None or saved.version != claimed_version:
            return False
        if previous is None:
            del tables.subscriptions[record.user_key]
        else:
            restored = dataclasses.replace(previous, version=claimed_version + 1)
            tables.subscriptions[record.user_key] = restored
        return True

    async def complete_payment(self, provider: str, transaction_id: str, *, now_s: float) -> None:
        """Mark a pending transaction done."""
        self._record("complete_payment", provider=provider, transaction_id=transaction_id)
        held = self._webhooks.payments.get((provider, transaction_id))
        if held is not None and not held.done:
            done = dataclasses.replace(held, done=True, completed_at=now_s)
            self._webhooks.payments[(provider, transaction_id)] = done

    async def remember_signature(self, key: str, *, expires_at_s: float, now_s: float) -> bool:
        """Keep ``key``; ``False`` while it is kept and unexpired."""
        self._record("remember_signature", key=key, expires_at_s=expires_at_s)
        kept = self._webhooks.signatures.get(key)
        if kept is not None and kept > now_s:
            return False
        self._webhooks.signatures[key] = expires_at_s
        return True

    async def forget_signature(self, key: str) -> None:
        """Drop ``key``."""
        self._record("forget_signature", key=key)
        self._webhooks.signatures.pop(key, None)

    async def purge_signatures(self, *, now_s: float) -> int:
        """Forget signatures expired at or before ``now_s``."""
        self._record("purge_signatures", now_s=now_s)
        old = [key for key, at in self._webhooks.signatures.items() if at <= now_s]
        for key in old:
            del self._webhooks.signatures[key]
        return len(old)
