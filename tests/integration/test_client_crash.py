"""A client process that dies without closing keeps its spooled events; the next one sends
them, in order, to the real gateway."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from capigate.client import AsyncCapigate, RetryPolicy
from capigate.clock import FrozenClock
from capigate.settings import Settings
from capigate.sources import Source, SourceKind, hash_key
from capigate.store import InMemoryStore
from capigate.web.app import create_app

NOW_S = 1_763_800_000.0
KEY = "sk_bot_0123456789abcdef"

CRASHING_BOT = textwrap.dedent(
    """
    import asyncio, os, sys
    from capigate.client import AsyncCapigate, RetryPolicy

    async def main():
        client = AsyncCapigate(
            "sk_bot_0123456789abcdef", base_url=sys.argv[2], spool_dir=sys.argv[1],
            retry=RetryPolicy(attempts=1), clock=lambda: 1_763_800_000.0,
        )
        for n in range(5):
            await client.track("start_bot", user={"telegram_id": str(n)})
        await client.flush()  # the port refuses: the events go to the spool
        print(client.spooled, flush=True)
        os._exit(1)  # die at once: no aclose, no flush, the spool file is not closed

    asyncio.run(main())
    """
)


@pytest.fixture
def crashed_spool(tmp_path: Path) -> Path:
    """A spool directory left by a bot process that died right after spooling 5 events."""
    refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refusing.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{refusing.getsockname()[1]}"
    try:
        crashed = subprocess.run(
            [sys.executable, "-c", CRASHING_BOT, str(tmp_path), url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        refusing.close()
    assert (crashed.returncode, crashed.stdout.strip()) == (1, "5"), crashed.stderr
    return tmp_path


async def test_spooled_events_survive_a_crash_and_are_replayed_in_order(
    crashed_spool: Path,
) -> None:
    """Spool written, process killed, spool reopened: every event reaches the gateway once."""
    clock = FrozenClock(NOW_S)
    store = InMemoryStore(clock=clock)
    bot = Source("bot", SourceKind.SERVER, (hash_key(KEY),), channel="bot")
    app = create_app(Settings(sources=(bot,)), store=store, clock=clock)
    async with app.router.lifespan_context(app):
        client = AsyncCapigate(
            KEY,
            base_url="http://gateway",
            transport=httpx.ASGITransport(app=app),
            spool_dir=crashed_spool,
            clock=clock,
            retry=RetryPolicy(attempts=1),
        )
        async with client:
            assert client.spooled == 5
            await client.flush()
            assert client.spooled == 0
    stored = sorted(await store.list_events(), key=lambda e: e.id)
    assert [e.event_id for e in stored] == [f"startbot_{n}" for n in range(5)]
    assert {e.event_time for e in stored} == {int(NOW_S)}  # the time pinned before the crash
