"""The delivery worker: outbox -> Meta, with batching, splitting, retries and per-pixel circuits.

``config`` (settings), ``routing`` (pure: which pixels an event goes to), ``batcher`` (pure:
bisection of a refused batch), ``settle`` (pure: what each event's outcome means),
``circuit`` (per-pixel token circuits), ``loop`` (the async delivery loop) and ``service``
(wiring from ``Settings``). This package module imports nothing so that settings can read
``capigate.worker.config`` without pulling in httpx.
"""

from __future__ import annotations
