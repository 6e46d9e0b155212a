"""Landing sessions and their Telegram users in the store (migration 0004): protocol and rows.

A landing page reports a session under its link token (``save_landing_session``, merged into
what was saved before); a /start links a Telegram user to it (``link_telegram``, the first
user wins); later events of that user read its latest linked session (``identities_for``).
Every implementation merges and links with the same rules as ``capigate.attribution.session``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Protocol

from capigate.attribution.session import UTM_KEYS, LandingSession
from capigate.store import sql

PURGE_BATCH_SESSIONS = 5_000  # sessions deleted per transaction, so a purge never blocks long
_SCALARS = ("token", "fbc", "fbp", "ip", "user_agent", "page_url", "created_at", "seen_at")


class IdentityStore(Protocol):
    """The attribution operations every store implements (memory, SQLite, PostgreSQL)."""

    async def save_landing_session(self, session: LandingSession) -> None:
        """Save ``session``, or merge it into the saved one with the same token.

        Newer values win, missing ones erase nothing, the UTMs are replaced as one set, and
        ``seen_at`` keeps the latest report. A session linked to a Telegram user never changes.
        """
        ...

    async def landing_session(self, token: str) -> LandingSession | None:
        """The session saved under ``token``, or ``None``."""
        ...

    async def link_telegram(self, token: str, telegram_id: str, now_s: float) -> bool:
        """Link ``token``'s session to ``telegram_id`` unless another user holds it.

        True when the session is linked to ``telegram_id`` afterwards; a repeated link keeps
        the first ``linked_at``. False for an unknown token or one linked to someone else.
        """
        ...

    async def identities_for(self, telegram_ids: Collection[str]) -> dict[str, LandingSession]:
        """Each user's most recently linked session; users without one are left out."""
        ...

    async def purge_landing_sessions(self, *, before_s: float) -> int:
        """Forget sessions last seen before ``before_s``; returns how many."""
        ...


@cache
def queries(dialect: str) -> dict[str, str]:
    """The identity queries for ``dialect`` (``sql/identity_<dialect>.sql``)."""
    if dialect not in sql.DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {sql.DIALECTS}")
    text = resources.files(sql.__name__).joinpath(f"identity_{dialect}.sql").read_text("utf-8")
    return sql.parse(text)


def session_params(session: LandingSession) -> dict[str, Any]:
    """The parameters of ``save_landing_session``."""
    params: dict[str, Any] = {name: getattr(session, name) for name in _SCALARS}
    params.update({key: session.utms.get(key) for key in UTM_KEYS})
    params["has_utms"] = bool(session.utms)
    return params


def session_from_row(row: Mapping[str, Any] | Any) -> LandingSession:
    """A ``LandingSession`` from a ``landing_sessions`` row (readable by column name)."""
    utms = {key: row[key] for key in UTM_KEYS if row[key] is not None}
    return LandingSession(
        **{name: row[name] for name in _SCALARS},
        utms=MappingProxyType(utms),
        telegram_id=row["telegram_id"],
        linked_at=row["linked_at"],
    )


def latest_links(sessions: list[LandingSession]) -> dict[str, LandingSession]:
    """Per Telegram user, the session linked last (``sessions`` oldest link first)."""
    return {s.telegram_id: s for s in sessions if s.telegram_id is not None}
