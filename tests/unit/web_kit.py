"""Helpers for the in-process web tests: settings, sources, a client on the memory store."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from capigate.clock import FrozenClock
from capigate.secret import Secret
from capigate.settings import Pixel, Settings
from capigate.sources import DEV_SOURCE, Source, SourceKind, hash_key
from capigate.store import InMemoryStore, Store
from capigate.web.app import create_app

NOW_S = 1_763_800_000.0
PIXEL_ID = "1234567890"
BOT_KEY = "sk_bot_0123456789abcdef"
PAY_KEY = "sk_pay_0123456789abcdef"
WEB_KEY = "pk_web_0123456789abcdef"
ORIGIN = "https://example.com"
PUBLIC_IP = "203.0.113.50"
INGEST = "/api/marketing/meta"

BOT = Source("bot", SourceKind.SERVER, (hash_key(BOT_KEY),), channel="bot")
PAY = Source("pay", SourceKind.SERVER, (hash_key(PAY_KEY),), channel="server")
WEB = Source(
    "web",
    SourceKind.BROWSER,
    (hash_key(WEB_KEY),),
    channel="website",
    origins=frozenset({ORIGIN}),
    request_context=True,
    rate_per_s=1.0,
    rate_burst=5,
)


def sandbox_settings(**changes: Any) -> Settings:
    """Sandbox mode with the keyless dev source."""
    return dataclasses.replace(Settings(sources=(DEV_SOURCE,)), **changes)


def live_settings(**changes: Any) -> Settings:
    """A live pixel (token set) with bot, payment and website sources."""
    base = Settings(
        pixels=(Pixel(PIXEL_ID, Secret("EAAB-test"), "CAPIGATE_META_ACCESS_TOKEN"),),
        sources=(BOT, PAY, WEB),
    )
    return dataclasses.replace(base, **changes)


@dataclasses.dataclass
class Harness:
    """A running app, its client, its store and its clock."""

    app: FastAPI
    client: httpx.AsyncClient
    store: Store
    clock: FrozenClock

    async def stored(self) -> list[Any]:
        return await self.store.list_events()


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    peer: str = "127.0.0.1",
    store: Store | None = None,
    clock: FrozenClock | None = None,
) -> AsyncIterator[Harness]:
    """The app with its lifespan run, reached through ASGI from ``peer``."""
    clock = clock or FrozenClock(NOW_S)
    store = store or InMemoryStore(clock=clock)
    app = create_app(settings, store=store, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield Harness(app, client, store, clock)


def web_event(session: str = "s-81f2", **extra: Any) -> dict[str, Any]:
    """A landing-page CTA click (plan key cta_click -> Lead)."""
    return {
        "event": "cta_click",
        "event_time": int(NOW_S) - 60,
        "user": {"email": "alice@example.com"},
        "properties": {"button_id": "open_tg"},
        "context": {"session_id": session, "page_url": f"{ORIGIN}/lp"},
        **extra,
    }


def bot_event(telegram_id: str = "279058397", **extra: Any) -> dict[str, Any]:
    """A Telegram /start (plan key start_bot -> Start_Bot)."""
    return {
        "event": "start_bot",
        "event_time": int(NOW_S) - 60,
        "user": {"telegram_id": telegram_id, "phone": "+998 90 123 45 67"},
        "properties": {"language": "uz"},
        **extra,
    }


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def browser(key: str = WEB_KEY, origin: str = ORIGIN) -> dict[str, str]:
    return {"X-Capigate-Key": key, "Origin": origin, "User-Agent": "Mozilla/5.0 (X11)"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of ``response``, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["type"].startswith("urn:capigate:problem:")
    return document
