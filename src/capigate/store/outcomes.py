"""What happens to leased events after a delivery attempt, shared by the SQL stores.

Each store runs one named statement per outcome (``_change``) and encodes JSON its own way
(``_json``: psycopg's ``Jsonb`` for PostgreSQL, orjson text for SQLite); the outbox-depth gauge
follows every change that moves events into or out of the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capigate.store.depth import DepthGauge


class SQLOutcomes:
    """``ack``, ``schedule_retry``, ``dead_letter``, ``expire``, ``release`` and ``requeue``."""

    _depth: DepthGauge

    async def _change(self, name: str, ids: Sequence[int], **params: Any) -> int:
        raise NotImplementedError

    def _json(self, value: dict[str, Any]) -> Any:
        raise NotImplementedError

    async def ack(
        self, ids: Sequence[int], *, now_s: float, response: dict[str, Any] | None
    ) -> int:
        """Mark leased events delivered with Meta's answer."""
        response_json = None if response is None else self._json(response)
        changed = await self._change("ack", ids, now=now_s, response=response_json)
        self._depth.add(-changed)
        return changed

    async def schedule_retry(
        self, ids: Sequence[int], *, now_s: float, retry_at_s: float, error: dict[str, Any]
    ) -> int:
        """Mark leased events to retry at ``retry_at_s``."""
        return await self._change(
            "schedule_retry", ids, now=now_s, retry_at=retry_at_s, error=self._json(error)
        )

    async def dead_letter(self, ids: Sequence[int], *, now_s: float, error: dict[str, Any]) -> int:
        """Mark leased events dead."""
        changed = await self._change("dead_letter", ids, now=now_s, error=self._json(error))
        self._depth.add(-changed)
        return changed

    async def expire(self, ids: Sequence[int], *, now_s: float, reason: str) -> int:
        """Mark leased events expired with ``reason``."""
        changed = await self._change("expire", ids, now=now_s, reason=reason)
        self._depth.add(-changed)
        return changed

    async def release(self, ids: Sequence[int], *, available_at_s: float | None = None) -> int:
        """Return leased events to the queue without counting an attempt."""
        return await self._change("release", ids, available_at=available_at_s)

    async def requeue(self, ids: Sequence[int], *, now_s: float) -> int:
        """Queue dead events again with their original event_id."""
        changed = await self._change("requeue", ids, now=now_s)
        self._depth.add(changed)
        return changed
