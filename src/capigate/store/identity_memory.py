"""Landing sessions in memory: the ``IdentityStore`` part of ``InMemoryStore``.

Each method runs without awaiting, so on one event loop every merge and link is atomic, like
the SQL stores' statements.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from capigate.attribution.session import LandingSession, merged
from capigate.store.identity import latest_links


class MemoryIdentity:
    """Mixin for ``InMemoryStore``: attribution operations over ``self._sessions``."""

    if TYPE_CHECKING:
        _sessions: dict[str, LandingSession]

        def _record(self, name: str, **arguments: Any) -> None: ...

    async def save_landing_session(self, session: LandingSession) -> None:
        """Save ``session`` or merge it into the saved one."""
        self._record("save_landing_session", session=session)
        saved = self._sessions.get(session.token)
        self._sessions[session.token] = session if saved is None else merged(saved, session)

    async def landing_session(self, token: str) -> LandingSession | None:
        """The session saved under ``token``, or ``None``."""
        self._record("landing_session", token=token)
        return self._sessions.get(token)

    async def link_telegram(self, token: str, telegram_id: str, now_s: float) -> bool:
        """Link ``token``'s session to ``telegram_id`` unless another user holds it."""
        self._record("link_telegram", token=token, telegram_id=telegram_id, now_s=now_s)
        saved = self._sessions.get(token)
        if saved is None or saved.telegram_id not in (None, telegram_id):
            return False
        linked_at = now_s if saved.linked_at is None else saved.linked_at
        self._sessions[token] = dataclasses.replace(
            saved, telegram_id=telegram_id, linked_at=linked_at
        )
        return True

    async def identities_for(self, telegram_ids: Collection[str]) -> dict[str, LandingSession]:
        """Each user's most recently linked session."""
        wanted = set(telegram_ids)
        self._record("identities_for", telegram_ids=sorted(wanted))
        linked = [s for s in self._sessions.values() if s.telegram_id in wanted]
        return latest_links(sorted(linked, key=lambda s: (s.linked_at or 0.0, s.token)))

    async def purge_landing_sessions(self, *, before_s: float) -> int:
        """Forget sessions last seen before ``before_s``."""
        self._record("purge_landing_sessions", before_s=before_s)
        old = [token for token, s in self._sessions.items() if s.seen_at < before_s]
        for token in old:
            del self._sessions[token]
        return len(old)
