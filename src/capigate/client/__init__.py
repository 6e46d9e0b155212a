"""A Python client of the capigate gateway for bots and backends: ``capigate.client``.

::

    from capigate.client import AsyncCapigate

    async with AsyncCapigate(KEY, base_url="https://capigate.example.com",
                             spool_dir="/var/lib/mybot/capigate") as capigate:
        await capigate.track("start_bot", user={"telegram_id": 42},
                             context={"start_param": token})

``Capigate`` is the same client for synchronous code. The package needs only httpx and the
standard library and imports nothing else of capigate, so it can be vendored into a bot.
"""

from __future__ import annotations

from capigate.client.backoff import RetryPolicy
from capigate.client.core import AsyncCapigate
from capigate.client.errors import (
    CapigateClientError,
    ClientError,
    EventsLost,
    InvalidEvent,
    SpoolFull,
)
from capigate.client.events import Event, EventFields, EventResult, Finding, event
from capigate.client.spool import FileSpool, MemorySpool
from capigate.client.sync import Capigate

__all__ = [
    "AsyncCapigate",
    "Capigate",
    "CapigateClientError",
    "ClientError",
    "Event",
    "EventFields",
    "EventResult",
    "EventsLost",
    "FileSpool",
    "Finding",
    "InvalidEvent",
    "MemorySpool",
    "RetryPolicy",
    "SpoolFull",
    "event",
]
