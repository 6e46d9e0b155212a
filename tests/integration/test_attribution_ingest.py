"""Landing page -> /start -> payment over the ingest API, on SQLite and PostgreSQL stores.

The browser reports its visit with a browser key (the gateway adds IP and user agent from the
request and builds fbc from the page's fbclid); the bot reports /start <token> and the billing
backend a payment with server keys. The stored Meta payloads of the bot and payment events
carry the visit's match keys.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from capigate import telegram
from capigate.clock import FrozenClock
from capigate.secret import Secret
from capigate.store import Store, StoredEvent, open_store
from tests.contract.pg_schema import pg_schema_url
from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    NOW_S,
    ORIGIN,
    PAY_KEY,
    PUBLIC_IP,
    bearer,
    browser,
    live_settings,
    problem,
    running,
)

TOKEN = "Tk_9fA-2bQ7xZ3mN8pL4sV1"
FBCLID = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"  # Meta's own example
FBP = "fb.1.1763799990000.1116446470"
USER = "279058397"
BOT_TOKEN = Secret("123456:AAE-test-token")
LANDING_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A real store of each SQL kind (migrated by the app's lifespan)."""
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'attribution.db'}", clock=FrozenClock(NOW_S))
        yield opened
        await opened.close()
        return
    async with pg_schema_url() as url:
        opened = open_store(url, clock=FrozenClock(NOW_S))
        yield opened
        await opened.close()


def _landing(event: str = "landing_view", **extra: Any) -> dict[str, Any]:
    return {
        "event": event,
        "event_id": f"{event}_s-7",
        "event_time": int(NOW_S) - 120,
        "user": {"fbp": FBP},
        "properties": {"utm_source": "fb", "utm_campaign": "spring_sale"},
        "context": {
            "session_id": "s-7",
            "page_url": f"{ORIGIN}/offer?fbclid={FBCLID}&utm_source=fb",
            "landing_token": TOKEN,
        },
        **extra,
    }


def _start() -> dict[str, Any]:
    return {
        "event": "start_bot",
        "event_time": int(NOW_S) - 60,
        "user": {"telegram_id": USER},
        "properties": {"language": "uz"},
        "context": {"start_param": TOKEN},
    }


def _subscribe() -> dict[str, Any]:
    return {
        "event": "subscribe",
        "event_time": int(NOW_S) - 30,
        "user": {"telegram_id": USER},
        "properties": {"transaction_id": "tx-1", "value": 49000, "currency": "UZS"},
    }


def _by_name(events: list[StoredEvent]) -> dict[str, StoredEvent]:
    return {event.event_name: event for event in events}


async def test_bot_and_payment_events_carry_the_landing_visit(store: Store) -> None:
    """Start_Bot and Subscribe get fbc (fbclid case kept), fbp, the browser's IP/UA and UTMs."""
    headers = {**browser(), "User-Agent": LANDING_UA}
    async with running(live_settings(), store=store, peer=PUBLIC_IP) as h:
        landing = await h.client.post(INGEST, json=_landing(), headers=headers)
        start = await h.client.post(INGEST, json=_start(), headers=bearer(BOT_KEY))
        paid = await h.client.post(INGEST, json=_subscribe(), headers=bearer(PAY_KEY))
        events = _by_name(await h.stored())
    assert [r.status_code for r in (landing, start, paid)] == [202, 202, 202], paid.text
    visit = events["ViewContent"].payload["user_data"]
    fbc = f"fb.1.{(int(NOW_S) - 120) * 1000}.{FBCLID}"
    assert visit["fbc"] == fbc
    for name in ("Start_Bot", "Subscribe"):
        payload = events[name].payload
        user_data = payload["user_data"]
        assert user_data["fbc"] == fbc, name
        assert user_data["fbp"] == FBP
        assert user_data["client_ip_address"] == PUBLIC_IP
        assert user_data["client_user_agent"] == LANDING_UA
        assert payload["custom_data"]["utm_source"] == "fb"
        assert payload["custom_data"]["utm_campaign"] == "spring_sale"


async def test_a_browser_key_still_cannot_claim_a_telegram_user(store: Store) -> None:
    """Attribution gives browsers no new power: telegram_id without initData is refused."""
    claim = _landing(event="cta_click")
    claim["user"] = {"telegram_id": USER}
    claim["context"]["start_param"] = TOKEN
    async with running(live_settings(), store=store, peer=PUBLIC_IP) as h:
        response = await h.client.post(INGEST, json=claim, headers=browser())
        linked = await h.store.identities_for([USER])
    problem(response, 403)
    assert linked == {}


async def test_a_browser_start_param_links_nobody(store: Store) -> None:
    """A browser event with start_param but no verified user saves the visit and links nothing."""
    event = _landing(event="cta_click")
    event["context"]["start_param"] = TOKEN
    async with running(live_settings(), store=store, peer=PUBLIC_IP) as h:
        response = await h.client.post(INGEST, json=event, headers=browser())
        session = await h.store.landing_session(TOKEN)
    assert response.status_code == 202, response.text
    assert session is not None
    assert session.telegram_id is None
    assert session.ip == PUBLIC_IP


async def test_an_unknown_start_token_changes_nothing(store: Store) -> None:
    """/start with a token no landing page reported stores Start_Bot without landing keys."""
    async with running(live_settings(), store=store, peer=PUBLIC_IP) as h:
        response = await h.client.post(INGEST, json=_start(), headers=bearer(BOT_KEY))
        (event,) = await h.stored()
    assert response.status_code == 202
    assert "fbc" not in event.payload["user_data"]
    assert "client_ip_address" not in event.payload["user_data"]


async def test_a_refused_landing_event_is_still_answered_as_refused(store: Store) -> None:
    """A landing event with an error is 422 as before; its visit is remembered anyway."""
    bad = _landing()
    bad["event_time"] = "yesterday"
    async with running(live_settings(), store=store, peer=PUBLIC_IP) as h:
        response = await h.client.post(INGEST, json=bad, headers=browser())
        session = await h.store.landing_session(TOKEN)
        stored = await h.stored()
    problem(response, 422)
    assert stored == []
    assert session is not None and session.fbp == FBP


def _signed_init_data(start_param: str) -> str:
    fields = {
        "auth_date": str(int(NOW_S) - 60),
        "user": json.dumps({"id": int(USER), "first_name": "A"}),
        "start_param": start_param,
    }
    return urlencode({**fields, "hash": telegram.sign(fields, BOT_TOKEN)})


async def test_a_mini_app_opened_with_startapp_links_its_verified_user(store: Store) -> None:
    """A browser event with signed initData naming start_param=<token> links that user."""
    settings = live_settings(telegram_bot_token=BOT_TOKEN)
    mini_app = _landing(event="cta_click")
    del mini_app["context"]["landing_token"]
    headers = {**browser(), "X-Telegram-Init-Data": _signed_init_data(TOKEN)}
    async with running(settings, store=store, peer=PUBLIC_IP) as h:
        landing = await h.client.post(INGEST, json=_landing(), headers=browser())
        opened = await h.client.post(INGEST, json=mini_app, headers=headers)
        paid = await h.client.post(INGEST, json=_subscribe(), headers=bearer(PAY_KEY))
        events = _by_name(await h.stored())
    assert [r.status_code for r in (landing, opened, paid)] == [202, 202, 202], opened.text
    assert events["Subscribe"].payload["user_data"]["fbp"] == FBP
    assert events["Subscribe"].payload["user_data"]["client_ip_address"] == PUBLIC_IP
