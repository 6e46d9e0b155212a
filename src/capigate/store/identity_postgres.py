"""Landing sessions on PostgreSQL: the ``IdentityStore`` part of ``PostgresStore``.

Every operation is one statement: the merge is an ``INSERT ... ON CONFLICT DO UPDATE`` and the
link a conditional ``UPDATE``, so two gateway processes linking one token at once cannot both
win (the second waits for the row lock, then finds it taken).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow

from capigate.attribution.session import LandingSession
from capigate.store.identity import (
    PURGE_BATCH_SESSIONS,
    latest_links,
    queries,
    session_from_row,
    session_params,
)

Q = queries("postgres")
Conn = psycopg.AsyncConnection[DictRow]


class PostgresIdentity:
    """Mixin for ``PostgresStore``: attribution operations over its connection pool."""

    if TYPE_CHECKING:

        def _connection(self) -> AbstractAsyncContextManager[Conn]: ...

    async def save_landing_session(self, session: LandingSession) -> None:
        """Save ``session`` or merge it into the saved one."""
        await self._identity_write(Q["save_landing_session"], session_params(session))

    async def landing_session(self, token: str) -> LandingSession | None:
        """The session saved under ``token``, or ``None``."""
        async with self._connection() as conn:
            cursor = await conn.execute(Q["get_landing_session"], {"token": token})
            row = await cursor.fetchone()
        return None if row is None else session_from_row(row)

    async def link_telegram(self, token: str, telegram_id: str, now_s: float) -> bool:
        """Link ``token``'s session to ``telegram_id`` unless another user holds it."""
        params = {"token": token, "telegram_id": telegram_id, "now": now_s}
        return await self._identity_write(Q["link_telegram"], params) == 1

    async def identities_for(self, telegram_ids: Collection[str]) -> dict[str, LandingSession]:
        """Each user's most recently linked session."""
        if not telegram_ids:
            return {}
        params = {"telegram_ids": sorted(set(telegram_ids))}
        async with self._connection() as conn:
            found = await (await conn.execute(Q["linked_sessions"], params)).fetchall()
        return latest_links([session_from_row(row) for row in found])

    async def purge_landing_sessions(self, *, before_s: float) -> int:
        """Forget sessions last seen before ``before_s``, a bounded batch per transaction."""
        params = {"before": before_s, "limit": PURGE_BATCH_SESSIONS}
        total = 0
        while True:
            freed = await self._identity_write(Q["purge_landing_sessions"], params)
            total += freed
            if freed < PURGE_BATCH_SESSIONS:
                return total

    async def _identity_write(self, query: str, params: dict[str, Any]) -> int:
        async with self._connection() as conn:
            return (await conn.execute(query, params)).rowcount
