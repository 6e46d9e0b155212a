"""Payment webhooks on PostgreSQL: the ``WebhookStore`` part of ``PostgresStore``.

A claim is one transaction that inserts the payment first: a concurrent claim of the same
transaction waits for that row's lock, then finds it taken. When the state's compare-and-set
then fails, the transaction is rolled back, so nothing of a conflicting claim stays.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from capigate.store.webhooks import (
    PURGE_BATCH_SIGNATURES,
    Claim,
    PaymentRecord,
    key_params,
    queries,
    record_from_row,
    record_params,
    state_from_row,
    state_params,
)
from capigate.webhooks.subscriptions import SubscriptionState

Q = queries("postgres")
Conn = psycopg.AsyncConnection[DictRow]


def _identity(value: Any) -> Any:
    return value  # psycopg already decoded JSONB


class PostgresWebhooks:
    """Mixin for ``PostgresStore``: webhook operations over its connection pool."""

    if TYPE_CHECKING:

        def _connection(self) -> AbstractAsyncContextManager[Conn]: ...

    async def load_subscription(self, user_key: str) -> SubscriptionState | None:
        """The user's subscription, or ``None``."""
        row = await self._webhook_row(Q["get_subscription"], {"user_key": user_key})
        return None if row is None else state_from_row(row)

    async def payment_record(self, provider: str, transaction_id: str) -> PaymentRecord | None:
        """The record of this transaction, or ``None``."""
        params = {"provider": provider, "transaction_id": transaction_id}
        row = await self._webhook_row(Q["get_payment"], params)
        return None if row is None else record_from_row(row, _identity)

    async def claim_payment(
        self, record: PaymentRecord, state: SubscriptionState, *, expected_version: int
    ) -> Claim:
        """Record ``record`` as pending and save ``state``, unless taken or in conflict."""
        payment = record_params(record, Jsonb)
        saved = state_params(state, expected_version=expected_version, now_s=record.created_at)
        query = Q["insert_subscription"] if expected_version == 0 else Q["update_subscription"]
        claim: Claim = "claimed"
        async with self._connection() as conn, conn.transaction() as tx:
            if await (await conn.execute(Q["insert_payment"], payment)).fetchone() is None:
                claim = "taken"
            elif await (await conn.execute(query, saved)).fetchone() is None:
                claim = "conflict"
                raise psycopg.Rollback(tx)  # undo the payment row inserted above
        return claim

    async def release_payment(
        self, record: PaymentRecord, *, previous: SubscriptionState | None, claimed_version: int
    ) -> bool:
        """Forget a pending claim; restore ``previous`` if the state is still the claimed one."""
        if previous is None:
            query = Q["delete_subscription"]
            params: dict[str, Any] = {"user_key": record.user_key, "expected": claimed_version}
        else:
            query = Q["update_subscription"]
            when = record.created_at
            params = state_params(previous, expected_version=claimed_version, now_s=when)
        async with self._connection() as conn, conn.transaction():
            await conn.execute(Q["delete_pending_payment"], key_params(record))
            return await (await conn.execute(query, params)).fetchone() is not None

    async def complete_payment(self, provider: str, transaction_id: str, *, now_s: float) -> None:
        """Mark a pending transaction done."""
        params = {"provider": provider, "transaction_id": transaction_id, "now": now_s}
        async with self._connection() as conn:
            await conn.execute(Q["complete_payment"], params)

    async def remember_signature(self, key: str, *, expires_at_s: float, now_s: float) -> bool:
        """Keep ``key``; ``False`` while it is kept and unexpired."""
        params = {"key": key, "expires_at": expires_at_s, "now": now_s}
        return await self._webhook_row(Q["remember_signature"], params) is not None

    async def forget_signature(self, key: str) -> None:
        """Drop ``key``."""
        async with self._connection() as conn:
            await conn.execute(Q["forget_signature"], {"key": key})

    async def purge_signatures(self, *, now_s: float) -> int:
        """Forget expired signatures, a bounded batch per transaction."""
        params = {"now": now_s, "limit": PURGE_BATCH_SIGNATURES}
        total = 0
        while True:
            async with self._connection() as conn:
                freed = (await conn.execute(Q["purge_signatures"], params)).rowcount
            total += freed
            if freed < PURGE_BATCH_SIGNATURES:
                return total

    async def _webhook_row(self, query: str, params: dict[str, Any]) -> DictRow | None:
        async with self._connection() as conn:
            return await (await conn.execute(query, params)).fetchone()
