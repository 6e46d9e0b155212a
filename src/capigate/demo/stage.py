"""The gateway, its emulator, the delivery worker and the three senders, on one frozen clock.

Everything runs in this process, on one event loop, and talks HTTP through
``httpx.ASGITransport``: the landing page posts with a browser key (its visitor's address in
``X-Forwarded-For``, the gateway trusting loopback as its proxy), the bot and the billing
backend post through ``capigate.client`` with server keys, and the worker sends to the
emulator that sandbox mode mounts at ``/__emulator__``. In-process ASGI rather than uvicorn:
the gateway, worker and emulator must share one ``FrozenClock`` so that a month passes in
seconds and Meta's 7-day window is judged on simulated time, and nothing here needs a socket
(the HTTP layer, routing, auth and bodies, runs all the same). The worker is driven by
``run_once`` at each simulated step instead of its own polling loop, so delivery happens
"as the events happen" in simulated time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from capigate import enrich
from capigate.client import AsyncCapigate, CapigateClientError, EventResult, RetryPolicy
from capigate.clock import FrozenClock
from capigate.demo.journey import Action, Sender
from capigate.demo.people import ORIGIN, Person
from capigate.errors import ConfigError, GatewayError
from capigate.settings import Settings
from capigate.sources import Source, SourceKind, hash_key
from capigate.store import OUTBOX_STATUSES, Store, StoredEvent
from capigate.web.app import EMULATOR_PATH, create_app
from capigate.web.gateway import Gateway
from capigate.worker.config import WorkerSettings
from capigate.worker.loop import DeliveryWorker
from capigate.worker.service import build_clients

BASE_URL = "http://gateway.demo"
LOOPBACK = ("127.0.0.1", 50_000)  # the peer the gateway sees: the demo's reverse proxy
INGEST_PATH = "/api/marketing/meta"
WORKER = WorkerSettings(enabled=False)  # the stage drives its own worker on the frozen clock
MAX_ROUNDS = 1_000  # worker rounds in one step before the stage gives up (a bug, not load)
SENDER_FLUSH_AT = 900  # queued bot or billing items that make the stage flush early
PAGE_EVENTS = 10_000  # stored events read per page for the report


@dataclasses.dataclass(frozen=True, slots=True)
class Keys:
    """This run's source keys (random: nothing outside the process ever needs them)."""

    web: str
    bot: str
    billing: str

    @classmethod
    def fresh(cls) -> Keys:
        """New random keys: a public one for the landing page, secret ones for the servers."""
        return cls(*(f"{kind}_{secrets.token_urlsafe(18)}" for kind in ("pk", "sk", "sk")))


def demo_settings(keys: Keys) -> Settings:
    """Sandbox mode (no Meta token) with the three sources of seed 000's product."""
    sources = (
        Source("landing", SourceKind.BROWSER, (hash_key(keys.web),), channel="website",
               origins=frozenset({ORIGIN}), request_context=True),
        Source("bot", SourceKind.SERVER, (hash_key(keys.bot),), channel="bot"),
        Source("billing", SourceKind.SERVER, (hash_key(keys.billing),), channel="server"),
    )  # fmt: skip
    proxies = enrich.parse_networks(["127.0.0.1/32"])
    return dataclasses.replace(Settings(), sources=sources, trusted_proxies=proxies, worker=WORKER)


class Stage:
    """The running gateway and everything that talks to it; see the module docstring."""

    def __init__(
        self,
        store: Store,
        clock: FrozenClock,
        http: httpx.AsyncClient,
        worker: DeliveryWorker,
        *,
        web_key: str,
    ) -> None:
        self.store = store
        self.clock = clock
        self.http = http
        self.worker = worker
        self.web_key = web_key
        self.duplicates: list[tuple[str, str]] = []  # (event_name, event_id) answered duplicate
        self.refusals: list[str] = []  # what the gateway refused (the demo expects none)
        self.senders: dict[Sender, AsyncCapigate] = {}  # set once the clients are open

    async def post(self, action: Action, person: Person) -> None:
        """Send ``action`` now (the landing page) or queue it in its client (bot, billing)."""
        self.clock.set(max(self.clock(), action.at_s))
        if action.sender is Sender.WEBSITE:
            await self._post_page(action.item, person)
            return
        client = self.senders[action.sender]
        await client.track(action.item)
        if client.queued >= SENDER_FLUSH_AT:
            await self.flush()

    async def flush(self) -> None:
        """Deliver what the bot and billing clients queued, the bot first."""
        for sender in (Sender.BOT, Sender.BILLING):
            self._note(await self.senders[sender].flush())

    async def deliver(self) -> int:
        """Run the worker (and its lifecycle tick) until nothing is due; batches started."""
        started = 0
        for _ in range(MAX_ROUNDS):
            batches = await self.worker.run_once()
            if not batches:
                return started
            started += batches
        raise GatewayError(f"demo: delivery did not settle in {MAX_ROUNDS} worker rounds (a bug)")

    async def fault(self, spec: Mapping[str, Any]) -> None:
        """Script a failure into the emulator (``POST /__emulator__/faults``)."""
        response = await self.http.post(f"{EMULATOR_PATH}/faults", json=dict(spec))
        if response.status_code != 200:
            raise GatewayError(f"demo: the emulator refused a fault: {response.text}")

    async def pending(self) -> list[StoredEvent]:
        """Events still on their way to Meta."""
        found: list[StoredEvent] = []
        for status in OUTBOX_STATUSES:
            found += await self.store.list_events(status=status.value, limit=PAGE_EVENTS)
        return found

    async def records(self) -> list[StoredEvent]:
        """Every stored event, oldest first."""
        found: list[StoredEvent] = []
        before: int | None = None
        while page := await self.store.list_events(limit=PAGE_EVENTS, before_id=before):
            found += page
            before = page[-1].id
        return found[::-1]

    async def received(self) -> tuple[int, list[dict[str, Any]]]:
        """The emulator's record: Graph requests received and the events accepted."""
        response = await self.http.get(f"{EMULATOR_PATH}/events")
        if response.status_code != 200:
            raise GatewayError(f"demo: the emulator's record is unavailable: {response.text}")
        body = response.json()
        return int(body["requests"]), list(body["events"])

    async def graph_log(self) -> list[dict[str, Any]]:
        """The emulator's request log: every Graph request with its answer."""
        response = await self.http.get(f"{EMULATOR_PATH}/requests")
        if response.status_code != 200:
            raise GatewayError(f"demo: the emulator's request log is unavailable: {response.text}")
        entries: list[dict[str, Any]] = response.json()["requests"]
        return entries

    async def _post_page(self, item: dict[str, Any], person: Person) -> None:
        headers = {
            "X-Capigate-Key": self.web_key,
            "Origin": ORIGIN,
            "User-Agent": person.user_agent,
            "X-Forwarded-For": person.ip,
        }
        response = await self.http.post(INGEST_PATH, json=item, headers=headers)
        if response.status_code != 202:
            self.refusals.append(f"{item['event']}: HTTP {response.status_code} {response.text}")
            return
        for result in response.json()["results"]:
            if result["status"] == "duplicate":
                self.duplicates.append((result["event_name"], result["event_id"]))

    def _note(self, results: list[EventResult]) -> None:
        for result in results:
            if result.status == "duplicate" and result.event_name and result.event_id:
                self.duplicates.append((result.event_name, result.event_id))

    def refused(self, error: CapigateClientError) -> None:
        """Note an item the gateway refused (the clients' ``on_error``)."""
        self.refusals.append(str(error))


@asynccontextmanager
async def staged(store: Store, clock: FrozenClock, *, seed: int) -> AsyncIterator[Stage]:
    """The gateway app with its lifespan running, the worker and the senders, ready to play."""
    if sum((await store.stats()).by_status.values()):
        raise ConfigError("the demo needs an empty database: pass a new SQLite file or schema")
    keys = Keys.fresh()
    settings = demo_settings(keys)
    app = create_app(settings, store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=LOOPBACK)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            gateway: Gateway = app.state.gateway
            graph_url = f"{BASE_URL}{EMULATOR_PATH}"
            clients = build_clients(settings, http, graph_url=graph_url, clock=clock)
            worker = DeliveryWorker(
                store,
                clients,
                settings=settings.worker,
                clock=clock,
                rand=random.Random(seed).random,
                worker_id="demo-worker",
                lifecycle=gateway.ingestor.lifecycle,
            )
            stage = Stage(store, clock, http, worker, web_key=keys.web)
            bot, billing = (
                _sender(stage, keys.bot, transport),
                _sender(stage, keys.billing, transport),
            )
            async with bot as bot_client, billing as billing_client:
                stage.senders = {Sender.BOT: bot_client, Sender.BILLING: billing_client}
                yield stage


@asynccontextmanager
async def _sender(
    stage: Stage, key: str, transport: httpx.AsyncBaseTransport
) -> AsyncIterator[AsyncCapigate]:
    """A client that sends only when the stage flushes it: no background timing of its own."""
    client = AsyncCapigate(
        key,
        base_url=BASE_URL,
        transport=transport,
        batch_events=1_000,
        flush_interval_s=10 * 365 * 86_400.0,  # never due by itself: the stage flushes
        max_pending=100_000,
        retry=RetryPolicy(attempts=1),  # no waiting inside a call: a refusal is reported
        on_error=stage.refused,
        clock=stage.clock,
        sleep=_never,
    )
    async with client:
        yield client


async def _never(seconds: float) -> None:
    """The client's sleep: simulated time is the stage's to move, so never wake by itself."""
    del seconds
    await asyncio.Event().wait()
