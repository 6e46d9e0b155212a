"""``Capigate``: the same client for synchronous code (Django, Flask, scripts, sync bots).

It runs one ``AsyncCapigate`` on an event loop in a daemon thread of its own, so batching,
retries, the spool and the background flush behave exactly as in async code. ``on_error``
is called on that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar, Unpack

from capigate.client.core import AsyncCapigate
from capigate.client.events import EventFields, EventResult

T = TypeVar("T")


class Capigate:
    """A thread-safe synchronous client; takes ``AsyncCapigate``'s arguments. Use ``with``."""

    def __init__(self, api_key: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="capigate-client", daemon=True
        )
        self._thread.start()
        try:
            self._client = self._call(_started(api_key, options))
        except BaseException:
            self._stop_loop()
            raise

    def __enter__(self) -> Capigate:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def queued(self) -> int:
        """Events in memory, not yet sent."""
        return self._client.queued

    @property
    def spooled(self) -> int:
        """Events in the spool, waiting for the gateway."""
        return self._client.spooled

    def track(self, event: str | Mapping[str, Any], **fields: Unpack[EventFields]) -> None:
        """Queue one event; see ``AsyncCapigate.track``."""
        self._call(self._client.track(event, **fields))

    def send_now(
        self, event: str | Mapping[str, Any], **fields: Unpack[EventFields]
    ) -> EventResult:
        """Send one event and wait for the answer; see ``AsyncCapigate.send_now``."""
        return self._call(self._client.send_now(event, **fields))

    def flush(self) -> list[EventResult]:
        """Send what is queued and replay the spool; see ``AsyncCapigate.flush``."""
        return self._call(self._client.flush())

    def close(self) -> None:
        """Flush, then stop the client and its thread. Safe to call twice."""
        if self._loop.is_closed():
            return
        try:
            self._call(self._client.aclose())
        finally:
            self._stop_loop()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("the capigate client is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


async def _started(api_key: str, options: dict[str, Any]) -> AsyncCapigate:
    client = AsyncCapigate(api_key, **options)
    await client.start()
    return client
