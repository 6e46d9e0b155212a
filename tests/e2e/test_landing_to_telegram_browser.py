"""Landing page -> "Open in Telegram" -> /start -> payment, in Debian's Chromium (Playwright).

The gateway runs under uvicorn on a loopback port in sandbox mode (the emulator mounted, the
delivery worker sending to it) and serves a landing page with /capigate.js, a stub ``fbq`` that
records its calls, and an "Open in Telegram" link. Chromium opens the page with an ``fbclid``
and UTMs and clicks the link; the navigation to t.me is intercepted to read the start token.
Then the bot reports /start with that token and the billing backend a payment, with server
keys. Meta's side (the emulator) must see the bot and payment events with the visit's match
keys, and the Pixel stub must have been given the same event ids as the gateway. Two shorter
visits pin Meta's _fbc cookie rule and a button CTA with ``pixel: false``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.responses import HTMLResponse

from capigate.settings import Settings
from capigate.sources import Source, SourceKind, hash_key
from capigate.store import Store, open_store
from capigate.web.app import create_app
from capigate.worker.config import WorkerSettings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_S = 20.0  # the longest any single step may take
BOT = "capi_demo_bot"
WEB_KEY = "pk_web_e2e_0123456789abcdef"
BOT_KEY = "sk_bot_e2e_0123456789abcdef"
PAY_KEY = "sk_pay_e2e_0123456789abcdef"
FBCLID = "AbC-dEf_GhIjKlMnOpQrStUvWxYz0123456789aBcDeFgHiJkLmNoPq"  # mixed case on purpose
TELEGRAM_ID = "279058397"
PAYMENT = {"transaction_id": "tx-e2e-1", "value": 49000, "currency": "UZS"}
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Budget bot</title>
<script>
  window.fbq = function () { window.recordFbq(Array.prototype.slice.call(arguments)); };
</script>
<script src="/capigate.js"></script>
<script>capigate.init({key: "%(key)s", bot: "%(bot)s"});</script>
</head><body>
<a id="cta" href="https://t.me/%(bot)s" data-capigate-telegram="open_tg">Open in Telegram</a>
<a id="other" href="https://t.me/some_channel">Our channel</a>
</body></html>
"""
BUTTON_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Budget bot</title>
<script>
  window.fbq = function () { window.recordFbq(Array.prototype.slice.call(arguments)); };
</script>
<script src="/capigate.js"></script>
<script>capigate.init({key: "%(key)s", bot: "%(bot)s", pixel: false});</script>
</head><body><button id="cta" data-capigate-telegram="hero_button">Start</button></body></html>
"""
T = TypeVar("T")


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing (apt install chromium); browsers are never downloaded"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(port: int, db: Path) -> Settings:
    web = Source(
        "web",
        SourceKind.BROWSER,
        (hash_key(WEB_KEY),),
        channel="website",
        origins=frozenset({f"http://127.0.0.1:{port}"}),
        request_context=True,
    )
    bot = Source("bot", SourceKind.SERVER, (hash_key(BOT_KEY),), channel="bot")
    pay = Source("pay", SourceKind.SERVER, (hash_key(PAY_KEY),), channel="server")
    worker = WorkerSettings(flush_interval_s=0.05, poll_interval_s=0.05)
    return Settings(db_url=f"sqlite:///{db}", port=port, sources=(web, bot, pay), worker=worker)


@dataclass
class Gateway:
    """The gateway under uvicorn, its base URL and its store."""

    base: str
    store: Store
    http: httpx.AsyncClient

    async def emulated(self) -> list[dict[str, Any]]:
        """What Meta's side (the mounted emulator) received so far."""
        events: list[dict[str, Any]] = (await self.http.get("/__emulator__/events")).json()[
            "events"
        ]
        return events


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """A sandbox gateway on a loopback port that also serves the landing page at /lp."""
    port = _free_port()
    settings = _settings(port, tmp_path / "e2e.db")
    store = open_store(settings.db_url)
    app: FastAPI = create_app(settings, store=store)
    pages = {"/lp": PAGE, "/button": BUTTON_PAGE}
    for path, html in pages.items():
        page = HTMLResponse(html % {"key": WEB_KEY, "bot": BOT})
        app.add_api_route(path, lambda page=page: page, include_in_schema=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await _until(lambda: _ready(server), "uvicorn to start")
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=WAIT_S) as http:
            yield Gateway(base, store, http)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, WAIT_S)
        await store.close()


async def _ready(server: uvicorn.Server) -> bool:
    return server.started


async def _until(check: Callable[[], Awaitable[T]], what: str) -> T:
    """Poll ``check`` until it returns something truthy, at most WAIT_S."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {WAIT_S} s waiting for {what}")
        await asyncio.sleep(0.05)


def _named(events: list[dict[str, Any]], *names: str) -> dict[str, dict[str, Any]] | None:
    found = {e["event_name"]: e for e in events if e["event_name"] in names}
    return found if set(found) == set(names) else None


@dataclass
class Browser:
    """A Chromium context with t.me intercepted and the Pixel stub's calls recorded."""

    context: Any
    telegram: list[str]
    pixel_calls: list[list[Any]]


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, one fresh context; navigations to t.me are answered locally."""
    from playwright.async_api import Route, async_playwright

    executable = _chromium_or_skip()
    seen = Browser(None, [], [])

    async def to_telegram(route: Route) -> None:
        seen.telegram.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<p>Telegram</p>")

    def record_pixel(call: list[Any]) -> None:
        seen.pixel_calls.append(call)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            seen.context = await browser.new_context()
            await seen.context.route(re.compile(r"^https://t\.me/.*"), to_telegram)
            await seen.context.expose_function("recordFbq", record_pixel)
            yield seen
        finally:
            await browser.close()


async def test_landing_click_start_and_payment_reach_meta_stitched(
    gateway: Gateway, chromium: Browser
) -> None:
    """Start_Bot and Subscribe reach the emulator with the visit's fbc, fbp, IP and UA."""
    page = await chromium.context.new_page()
    url = f"{gateway.base}/lp?fbclid={FBCLID}&utm_source=fb&utm_campaign=spring"
    await page.goto(url, timeout=WAIT_S * 1000)
    user_agent: str = await page.evaluate("navigator.userAgent")
    other_href = await page.get_attribute("#other", "href")
    await _until(lambda: _stored(gateway, "ViewContent"), "the landing_view beacon")
    await page.click("#cta", timeout=WAIT_S * 1000)
    await _until(lambda: _true(bool(chromium.telegram)), "the navigation to t.me")
    await _until(lambda: _stored(gateway, "Lead"), "the cta_click beacon")
    fbc, fbp = await _cookie(chromium, gateway, "_fbc"), await _cookie(chromium, gateway, "_fbp")

    link = urlsplit(chromium.telegram[0])
    token = parse_qs(link.query)["start"][0]
    assert (link.netloc, link.path) == ("t.me", f"/{BOT}")
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token)
    assert other_href == "https://t.me/some_channel"  # a link to another chat is left alone
    assert re.fullmatch(rf"fb\.1\.\d{{13}}\.{re.escape(FBCLID)}", fbc or "")
    assert re.fullmatch(r"fb\.1\.\d{13}\.\d{10}", fbp or "")

    await _send(gateway, BOT_KEY, {"event": "start_bot", "user": {"telegram_id": TELEGRAM_ID},
                                   "context": {"start_param": token}})  # fmt: skip
    await _send(gateway, PAY_KEY, {"event": "subscribe", "user": {"telegram_id": TELEGRAM_ID},
                                   "properties": PAYMENT})  # fmt: skip

    names = ("ViewContent", "Lead", "Start_Bot", "Subscribe")
    received = await _until(lambda: _delivered(gateway, names), "delivery to the emulator")
    for name in ("Start_Bot", "Subscribe"):
        user_data = received[name]["user_data"]
        assert user_data["fbc"] == fbc, name  # the fbclid's exact case
        assert user_data["fbp"] == fbp, name
        assert user_data["client_ip_address"] == "127.0.0.1", name
        assert user_data["client_user_agent"] == user_agent, name
        assert received[name]["custom_data"]["utm_source"] == "fb", name
    assert received["ViewContent"]["user_data"]["fbc"] == fbc

    calls = chromium.pixel_calls
    pixel_ids = {call[1]: call[3]["eventID"] for call in calls if call[0] == "track"}
    assert pixel_ids == {
        "ViewContent": received["ViewContent"]["event_id"],
        "Lead": received["Lead"]["event_id"],
    }
    assert received["Lead"]["event_id"].startswith("cta_s-")


async def _send(gateway: Gateway, key: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    response = await gateway.http.post("/api/marketing/meta", json=body, headers=headers)
    assert response.status_code == 202, response.text


async def _stored(gateway: Gateway, name: str) -> bool:
    return bool(await gateway.store.list_events(event_name=name))


async def _delivered(gateway: Gateway, names: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    return _named(await gateway.emulated(), *names)


async def test_an_existing_fbc_is_kept_until_a_new_click_replaces_it(
    gateway: Gateway, chromium: Browser
) -> None:
    """Same fbclid as the _fbc cookie: the cookie stays; a different fbclid: a new cookie."""
    old = "fb.1.1700000000000.OldClick_AbC"
    await chromium.context.add_cookies([{"name": "_fbc", "value": old, "url": gateway.base}])
    page = await chromium.context.new_page()
    await page.goto(f"{gateway.base}/lp?fbclid=OldClick_AbC", timeout=WAIT_S * 1000)
    (visit,) = await _until(lambda: _stored_events(gateway, "ViewContent"), "the first visit")
    kept = await _cookie(chromium, gateway, "_fbc")
    await page.goto(f"{gateway.base}/lp?fbclid=NewClick_XyZ", timeout=WAIT_S * 1000)
    replaced = await _cookie(chromium, gateway, "_fbc")
    assert kept == old
    assert visit.payload["user_data"]["fbc"] == old
    assert re.fullmatch(r"fb\.1\.\d{13}\.NewClick_XyZ", replaced or "")


async def test_a_button_opens_telegram_and_pixel_false_keeps_fbq_out(
    gateway: Gateway, chromium: Browser
) -> None:
    """A [data-capigate-telegram] button navigates to the deep link; fbq is never called."""
    page = await chromium.context.new_page()
    await page.goto(f"{gateway.base}/button?utm_source=ig", timeout=WAIT_S * 1000)
    await _until(lambda: _stored(gateway, "ViewContent"), "the landing_view beacon")
    await page.click("#cta", timeout=WAIT_S * 1000)
    await _until(lambda: _true(bool(chromium.telegram)), "the navigation to t.me")
    (lead,) = await _until(lambda: _stored_events(gateway, "Lead"), "the cta_click beacon")
    token = parse_qs(urlsplit(chromium.telegram[0]).query)["start"][0]
    session = await gateway.store.landing_session(token)
    assert chromium.pixel_calls == []
    assert lead.payload["custom_data"]["button_id"] == "hero_button"
    assert lead.payload["custom_data"]["utm_source"] == "ig"
    assert session is not None and session.utms == {"utm_source": "ig"}


async def _stored_events(gateway: Gateway, name: str) -> list[Any]:
    return await gateway.store.list_events(event_name=name)


async def _cookie(chromium: Browser, gateway: Gateway, name: str) -> str | None:
    cookies = await chromium.context.cookies(gateway.base)
    return next((c["value"] for c in cookies if c["name"] == name), None)


async def _true(value: bool) -> bool:
    return value


async def test_links_are_decorated_once_the_page_has_loaded(
    gateway: Gateway, chromium: Browser
) -> None:
    """init() in <head> still rewrites the body's Telegram link before anyone clicks it."""
    page = await chromium.context.new_page()
    await page.goto(f"{gateway.base}/lp", timeout=WAIT_S * 1000)
    href = await page.get_attribute("#cta", "href")
    token = await page.evaluate("capigate.state().token")
    assert href == f"https://t.me/{BOT}?start={token}"
