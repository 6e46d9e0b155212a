"""Landing sessions on SQLite: the ``IdentityStore`` part of ``SQLiteStore``.

Writes (save, link, purge) are jobs on the writer thread, each one statement; reads go to the
reader. The merge and the first-user-wins link are decided inside those statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from capigate.attribution.session import LandingSession
from capigate.store.identity import (
    PURGE_BATCH_SESSIONS,
    latest_links,
    queries,
    session_from_row,
    session_params,
)

if TYPE_CHECKING:
    from capigate.store.sqlite_threads import Reader, Writer

Q = queries("sqlite")


class SQLiteIdentity:
    """Mixin for ``SQLiteStore``: attribution operations over its writer and reader threads."""

    if TYPE_CHECKING:
        _writer: Writer
        _reader: Reader

    async def save_landing_session(self, session: LandingSession) -> None:
        """Save ``session`` or merge it into the saved one."""
        params = session_params(session)
        await self._writer.run(partial(_rowcount, Q["save_landing_session"], params))

    async def landing_session(self, token: str) -> LandingSession | None:
        """The session saved under ``token``, or ``None``."""
        found = await self._reader.run(
            partial(_fetchall, Q["get_landing_session"], {"token": token})
        )
        return session_from_row(found[0]) if found else None

    async def link_telegram(self, token: str, telegram_id: str, now_s: float) -> bool:
        """Link ``token``'s session to ``telegram_id`` unless another user holds it."""
        params = {"token": token, "telegram_id": telegram_id, "now": now_s}
        return await self._writer.run(partial(_rowcount, Q["link_telegram"], params)) == 1

    async def identities_for(self, telegram_ids: Collection[str]) -> dict[str, LandingSession]:
        """Each user's most recently linked session."""
        if not telegram_ids:
            return {}
        params = {"telegram_ids": orjson.dumps(sorted(set(telegram_ids))).decode()}
        found = await self._reader.run(partial(_fetchall, Q["linked_sessions"], params))
        return latest_links([session_from_row(row) for row in found])

    async def purge_landing_sessions(self, *, before_s: float) -> int:
        """Forget sessions last seen before ``before_s``, a bounded batch per transaction."""
        params = {"before": before_s, "limit": PURGE_BATCH_SESSIONS}
        total = 0
        while True:
            freed = await self._writer.run(partial(_rowcount, Q["purge_landing_sessions"], params))
            total += freed
            if freed < PURGE_BATCH_SESSIONS:
                return total


def _rowcount(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> int:
    return conn.execute(query, params).rowcount


def _fetchall(query: str, params: dict[str, Any], conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(query, params).fetchall()
