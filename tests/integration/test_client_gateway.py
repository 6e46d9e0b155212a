"""capigate.client against the REAL gateway app: in-process (ASGI, memory store) and once over
real HTTP (uvicorn on a loopback port, SQLite store, settings from the example's README)."""

from __future__ import annotations

import dataclasses
import socket
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from capigate import settings as settings_module
from capigate.client import AsyncCapigate, Capigate, ClientError, RetryPolicy
from capigate.clock import FrozenClock
from capigate.settings import Settings
from capigate.sources import Source, SourceKind, hash_key
from capigate.store import InMemoryStore, Store, StoredEvent
from capigate.web.app import create_app
from tests.unit.example_bot import load_tracking

NOW_S = 1_763_800_000.0
KEY = "sk_bot_0123456789abcdef"
BOT = Source("bot", SourceKind.SERVER, (hash_key(KEY),), channel="bot")
START_TIMEOUT_S = 10.0
tracking = load_tracking()


class Switch(httpx.AsyncBaseTransport):
    """Passes requests to the gateway, or refuses to connect while ``down``."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.down = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)


@dataclasses.dataclass
class Running:
    store: Store
    clock: FrozenClock
    switch: Switch
    errors: list[Exception]

    def client(self, key: str = KEY, **options: Any) -> AsyncCapigate:
        """A client whose background timers never fire within a test (explicit flushes only)
        and whose retries do not wait."""
        settings: dict[str, Any] = {
            "base_url": "http://gateway",
            "transport": self.switch,
            "clock": self.clock,
            "on_error": self.errors.append,
            "retry": RetryPolicy(attempts=2, base_s=0.0, cap_s=0.0),
            "flush_interval_s": 3600.0,
            "replay_interval_s": 3600.0,
        }
        settings.update(options)
        return AsyncCapigate(key, **settings)

    async def stored(self) -> list[StoredEvent]:
        return sorted(await self.store.list_events(limit=1000), key=lambda e: e.id)


@asynccontextmanager
async def gateway() -> AsyncIterator[Running]:
    """The gateway app (sandbox, one bot source) on a memory store and a frozen clock."""
    clock = FrozenClock(NOW_S)
    store = InMemoryStore(clock=clock)
    app = create_app(Settings(sources=(BOT,)), store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 40000))
        yield Running(store, clock, Switch(transport), [])


async def test_queued_then_duplicate() -> None:
    """The gateway's per-event statuses come back: a resent /start is a duplicate."""
    async with gateway() as gw, gw.client() as client:
        first = await client.send_now("start_bot", user={"telegram_id": "42"})
        again = await client.send_now("start_bot", user={"telegram_id": "42"})
        await client.track("start_bot", user={"telegram_id": "43"})
        await client.track("start_bot", user={"telegram_id": "42"})
        batched = await client.flush()
    assert (first.status, first.event_id, first.event_name) == (
        "queued",
        "startbot_42",
        "Start_Bot",
    )
    assert again.status == "duplicate"
    assert [(r.status, r.event_id) for r in batched] == [
        ("queued", "startbot_43"),
        ("duplicate", "startbot_42"),
    ]
    assert [e.event_id for e in await gw.stored()] == ["startbot_42", "startbot_43"]


async def test_a_refused_event_is_isolated_and_the_rest_stored() -> None:
    """The gateway refuses a batch whole; the client resends the good events without the bad."""
    async with gateway() as gw, gw.client() as client:
        await client.track("start_bot", user={"telegram_id": "1"})
        await client.track("onboarding_language", user={"telegram_id": "1"})  # no language
        await client.track("start_bot", user={"telegram_id": "2"})
        await client.flush()
        assert client.spooled == 0
    [error] = gw.errors
    assert isinstance(error, ClientError)
    assert error.status == 422
    assert [f.path for f in error.findings if f.severity == "error"] == [
        "$.properties.language_selected"
    ]
    assert [e.event_id for e in await gw.stored()] == ["startbot_1", "startbot_2"]


async def test_a_wrong_key_is_a_client_error() -> None:
    """401 from the gateway raises at once, with its problem type."""
    async with gateway() as gw, gw.client(key="sk_wrong_key_0000000000") as client:
        with pytest.raises(ClientError) as caught:
            await client.send_now("start_bot", user={"telegram_id": "42"})
    assert (caught.value.status, caught.value.kind) == (401, "unauthorized")


async def test_outage_spooled_and_replayed_in_order() -> None:
    """While the gateway is unreachable events are spooled; they reach it in order later."""
    async with gateway() as gw, gw.client() as client:
        gw.switch.down = True
        for n in range(5):
            await client.track("start_bot", user={"telegram_id": str(n)})
        await client.flush()
        assert client.spooled == 5
        gw.switch.down = False
        results = await client.flush()
    assert [r.status for r in results] == ["queued"] * 5
    assert [e.event_id for e in await gw.stored()] == [f"startbot_{n}" for n in range(5)]


async def test_the_example_bots_items_are_accepted() -> None:
    """/start with a token, the five onboarding steps and a first expense: all queued, with
    seed 000's event ids and the name and phone hashed."""
    telegram_id = 279058397
    items = [
        tracking.start_bot(telegram_id, tracking.start_token("lp-81f2"), language="uz"),
        tracking.onboarding("language", telegram_id, "uz"),
        tracking.onboarding("name", telegram_id, "Ali Valiyev"),
        tracking.onboarding("phone", telegram_id, "+998 90 123 45 67"),
        tracking.onboarding("currency", telegram_id, "uzs"),
        tracking.onboarding("capital", telegram_id, "1 000 000"),
    ]
    expense = tracking.parse_expense("25000 food")
    items += tracking.expense_events(telegram_id, expense, first=True, activity=False)
    async with gateway() as gw, gw.client() as client:
        for item in items:
            await client.track(item)
        results = await client.flush()
    assert gw.errors == []
    assert [r.status for r in results] == ["queued"] * len(items)
    ts = int(NOW_S)
    stored = await gw.stored()
    assert [e.event_id for e in stored] == [
        f"startbot_{telegram_id}",
        f"onboard_lang_{telegram_id}_{ts}",
        f"onboard_name_{telegram_id}_{ts}",
        f"onboard_phone_{telegram_id}_{ts}",
        f"onboard_currency_{telegram_id}_{ts}",
        f"onboard_capital_{telegram_id}_{ts}",
        f"firstentry_{telegram_id}",
    ]
    by_id = {e.event_id: e.payload for e in stored}
    name = by_id[f"onboard_name_{telegram_id}_{ts}"]["user_data"]
    phone = by_id[f"onboard_phone_{telegram_id}_{ts}"]["user_data"]
    assert _hashed(name["fn"]) and _hashed(name["ln"]) and _hashed(phone["ph"])
    entry = by_id[f"firstentry_{telegram_id}"]["custom_data"]
    assert (entry["amount"], entry["category_assigned"]) == (25000.0, "food")


def _hashed(value: Any) -> bool:
    text = value[0] if isinstance(value, list) else value
    return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)


# --- over real HTTP ----------------------------------------------------------------------

README_CONFIG = """
sources:
  - name: bot
    kind: server
    channel: bot
    key_env: CAPIGATE_BOT_KEY
"""


@contextmanager
def serving(sock: socket.socket, settings: Settings) -> Iterator[None]:
    """The gateway app under uvicorn on ``sock`` (lifespan on: it opens the SQLite store)."""
    config = uvicorn.Config(create_app(settings), log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)


def test_over_http_spool_on_disk_then_replay_to_a_real_gateway(tmp_path: Path) -> None:
    """Sync client, real sockets: the port refuses, events go to the file spool; the gateway
    starts on that port (SQLite, the README's source config); the next client replays them."""
    (tmp_path / "capigate.yaml").write_text(textwrap.dedent(README_CONFIG))
    env = {"CAPIGATE_BOT_KEY": KEY, "CAPIGATE_DB": f"sqlite:///{tmp_path / 'gateway.db'}"}
    settings = settings_module.load(config_path=str(tmp_path / "capigate.yaml"), environ=env)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # reserved, not listening yet: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    options: dict[str, Any] = {
        "base_url": url,
        "spool_dir": tmp_path / "spool",
        "retry": RetryPolicy(attempts=2, base_s=0.01, cap_s=0.02),
        "replay_interval_s": 3600.0,
    }
    with Capigate(KEY, **options) as client:
        for n in range(3):
            client.track("start_bot", user={"telegram_id": str(n)}, context={"start_param": "t"})
        client.flush()
        assert client.spooled == 3
    try:
        with serving(sock, settings), Capigate(KEY, **options) as client:
            client.flush()  # the replay began as the client started; this waits for it
            assert client.spooled == 0
            resent = [client.send_now("start_bot", user={"telegram_id": str(n)}) for n in range(3)]
    finally:
        sock.close()
    assert [(r.status, r.event_id) for r in resent] == [
        ("duplicate", f"startbot_{n}") for n in range(3)
    ]
