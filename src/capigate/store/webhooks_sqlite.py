"""Payment webhooks on SQLite: the ``WebhookStore`` part of ``SQLiteStore``.

A claim or release is one job on the writer thread, inside ``BEGIN IMMEDIATE``: no other
writer (in this process or another) runs between its check and its writes. Reads go to the
reader.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

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

if TYPE_CHECKING:
    from capigate.store.sqlite_threads import Reader, Writer

Q = queries("sqlite")


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


class SQLiteWebhooks:
    """Mixin for ``SQLiteStore``: webhook operations over its writer and reader threads."""

    if TYPE_CHECKING:
        _writer: Writer
        _reader: Reader

    async def load_subscription(self, user_key: str) -> SubscriptionState | None:
        """The user's subscription, or ``None``."""
        params = {"user_key": user_key}
        row = await self._reader.run(partial(_fetchone, Q["get_subscription"], params))
        return None if row is None else state_from_row(row)

    async def payment_record(self, provider: str, transaction_id: str) -> PaymentRecord | None:
        """The record of this transaction, or ``None``."""
        params = {"provider": provider, "transaction_id": transaction_id}
        row = await self._reader.run(partial(_fetchone, Q["get_payment"], params))
        return None if row is None else record_from_row(row, orjson.loads)

    async def claim_payment(
        self, record: PaymentRecord, state: SubscriptionState, *, expected_version: int
    ) -> Claim:
        """Record ``record`` as pending and save ``state``, unless taken or in conflict."""
        saved = state_params(state, expected_version=expected_version, now_s=record.created_at)
        return await self._writer.run(partial(_claim, record_params(record, _dump), saved))

    async def release_payment(
        self, record: PaymentRecord, *, previous: SubscriptionState | None, claimed_version: int
    ) -> bool:
        """Forget a pending claim; restore ``previous`` if the state is still the claimed one."""
        restore = None
        if previous is not None:
            when = record.created_at
            restore = state_params(previous, expected_version=claimed_version, now_s=when)
        job = partial(_release, key_params(record), record.user_key, claimed_version, restore)
        return await self._writer.run(job)

    async def complete_payment(self, provider: str, transaction_id: str, *, now_s: float) -> None:
        """Mark a pending transaction done."""
        params = {"provider": provider, "transaction_id": transaction_id, "now": now_s}
        await self._writer.run(partial(_rowcount, Q["complete_payment"], params))

    async def remember_signature(self, key: str, *, expires_at_s: float, now_s: float) -> bool:
        """Keep ``key``; ``False`` while it is kept and unexpired."""
        params = {"key": key, "expires_at": expires_at_s, "now": now_s}
        return (
            await self._writer.run(partial(_fetchone, Q["remember_signature"], params)) is not None
        )

    async def forget_signature(self, key: str) -> None:
        """Drop ``key``."""
        await self._writer.run(partial(_rowcount, Q["forget_signature"], {"key": key}))

    async def purge_signatures(self, *, now_s: float) -> int:
        """Forget expired signatures, a bounded batch per transaction."""
        params = {"now": now_s, "limit": PURGE_BATCH_SIGNATURES}
        total = 0
        while True:
            freed = await self._writer.run(partial(_rowcount, Q["purge_signatures"], params))
            total += freed
            if freed < PURGE_BATCH_SIGNATURES:
                return total


def _claim(record: dict[str, Any], state: dict[str, Any], conn: sqlite3.Connection) -> Claim:
    if conn.execute(Q["get_payment"], record).fetchone() is not None:
        return "taken"
    query = Q["insert_subscription"] if state["expected"] == 0 else Q["update_subscription"]
    if conn.execute(query, state).fetchone() is None:
        return "conflict"  # nothing was written: the state is the first statement to change
    conn.execute(Q["insert_payment"], record)
    return "claimed"


def _release(
    key: dict[str, str],
    user_key: str,
    claimed_version: int,
    restore: dict[str, Any] | None,
    conn: sqlite3.Connection,
) -> bool:
    conn.execute(Q["delete_pending_payment"], key)
    if restore is None:
        params = {"user_key": user_key, "expected": claimed_version}
        return conn.execute(Q["delete_subscription"], params).fetchone() is not None
    return conn.execute(Q["update_subscription"], restore).fetchone() is not None


def _fetchone(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(query, params).fetchone()
    return row


def _rowcount(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> int:
    return conn.execute(query, params).rowcount
