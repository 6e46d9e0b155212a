"""Keys, origins, browser limits and identity over HTTP; enrichment from the request."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

from capigate import enrich, telegram
from capigate.secret import Secret
from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    NOW_S,
    ORIGIN,
    PUBLIC_IP,
    WEB_KEY,
    bearer,
    bot_event,
    browser,
    live_settings,
    problem,
    running,
    sandbox_settings,
    web_event,
)

BOT_TOKEN = Secret("123456:AAE-test-token")


def init_data(user_id: int = 279058397, auth_date: int = int(NOW_S) - 60) -> str:
    fields = {"auth_date": str(auth_date), "user": json.dumps({"id": user_id, "first_name": "A"})}
    return urlencode({**fields, "hash": telegram.sign(fields, BOT_TOKEN)})


async def test_missing_unknown_and_malformed_keys_are_401_and_store_nothing() -> None:
    """No key, an unknown key, or a non-Bearer Authorization: 401 with WWW-Authenticate."""
    async with running(live_settings()) as h:
        for headers in ({}, bearer("sk_unknown_0123456789"), {"Authorization": "Basic eDo="}):
            response = await h.client.post(INGEST, json=bot_event(), headers=headers)
            assert problem(response, 401)["type"] == "urn:capigate:problem:unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert await h.stored() == []


async def test_browser_key_from_a_foreign_origin_is_403() -> None:
    """A public key used from another site is refused."""
    async with running(live_settings()) as h:
        response = await h.client.post(
            INGEST, json=web_event(), headers=browser(origin="https://evil.example")
        )
        assert "allowlist" in problem(response, 403)["detail"]
        assert await h.stored() == []


async def test_browser_key_in_the_query_string_works() -> None:
    """sendBeacon cannot set headers: ?key= carries the public key."""
    headers = {"Origin": ORIGIN, "Content-Type": "text/plain"}
    async with running(live_settings()) as h:
        response = await h.client.post(
            f"{INGEST}?key={WEB_KEY}", content=json.dumps(web_event()), headers=headers
        )
    assert response.status_code == 202, response.text


async def test_browser_key_may_not_send_non_website_events() -> None:
    """A browser key sending a bot event is 403 and names the rule."""
    async with running(live_settings()) as h:
        event = {"event": "first_entry", "event_id": "fe-1", "user": {"email": "a@b.co"}}
        response = await h.client.post(INGEST, json=event, headers=browser())
        document = problem(response, 403)
        assert document["errors"][0]["rule"] in {"source_not_allowed", "action_source_not_allowed"}
        assert await h.stored() == []


async def test_server_source_may_not_send_events_the_plan_gives_others() -> None:
    """The plan says who may send what: the payment source cannot send start_bot."""
    from tests.unit.web_kit import PAY_KEY

    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=bot_event(), headers=bearer(PAY_KEY))
    assert problem(response, 403)["errors"][0]["rule"] == "source_not_allowed"


async def test_browser_identity_claims_need_init_data() -> None:
    """A browser key claiming a telegram_id or user_id without initData is 403."""
    async with running(live_settings(telegram_bot_token=BOT_TOKEN)) as h:
        for claim in ({"telegram_id": "279058397"}, {"user_id": "u-1"}):
            event = web_event(user={"email": "a@b.co", **claim})
            response = await h.client.post(INGEST, json=event, headers=browser())
            assert "initData" in problem(response, 403)["detail"]
        assert await h.stored() == []


async def test_valid_init_data_lets_a_browser_claim_its_telegram_user() -> None:
    """With valid initData the Telegram id is believed (and filled in when not claimed)."""
    async with running(live_settings(telegram_bot_token=BOT_TOKEN)) as h:
        claimed = web_event("s1", user={"telegram_id": "279058397"})
        claimed["context"]["init_data"] = init_data()
        first = await h.client.post(INGEST, json=claimed, headers=browser())
        headers = {**browser(), "X-Telegram-Init-Data": init_data()}
        second = await h.client.post(INGEST, json=web_event("s2"), headers=headers)
        stored = await h.stored()
    assert first.status_code == 202, first.text
    assert second.status_code == 202, second.text
    assert all(len(e.payload["user_data"]["external_id"]) for e in stored)
    assert "279058397" not in json.dumps([e.payload for e in stored])  # hashed
    assert "init_data" not in json.dumps([e.payload for e in stored])


async def test_forged_stale_or_mismatched_init_data_is_403() -> None:
    """initData that fails the HMAC, is too old, or names another user is refused."""
    forged = init_data().replace("first_name%22%3A+%22A", "first_name%22%3A+%22B")
    stale = init_data(auth_date=int(NOW_S) - 2 * 86_400)
    async with running(live_settings(telegram_bot_token=BOT_TOKEN)) as h:
        for raw, claim in ((forged, "279058397"), (stale, "279058397"), (init_data(), "42")):
            event = web_event(user={"telegram_id": claim})
            event["context"]["init_data"] = raw
            response = await h.client.post(INGEST, json=event, headers=browser())
            problem(response, 403)
        assert await h.stored() == []


async def test_init_data_without_a_bot_token_cannot_be_believed() -> None:
    """With no bot token configured a browser identity claim is refused."""
    async with running(live_settings()) as h:
        event = web_event(user={"telegram_id": "279058397"})
        event["context"]["init_data"] = init_data()
        response = await h.client.post(INGEST, json=event, headers=browser())
    assert "CAPIGATE_TELEGRAM_BOT_TOKEN" in problem(response, 403)["detail"]


async def test_server_keys_may_send_identity_without_init_data() -> None:
    """Server sources are trusted with identity."""
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
    assert response.status_code == 202


async def test_browser_rate_limit_is_429_with_retry_after_and_recovers() -> None:
    """Past its burst a client IP is told to wait; time on the injected clock refills it."""
    async with running(live_settings(), peer=PUBLIC_IP) as h:
        codes = []
        for i in range(6):
            response = await h.client.post(INGEST, json=web_event(f"s{i}"), headers=browser())
            codes.append(response.status_code)
        assert codes == [202] * 5 + [429]
        assert response.headers["retry-after"] == "1"
        assert problem(response, 429)["type"] == "urn:capigate:problem:rate-limited"
        h.clock.advance(1.0)
        again = await h.client.post(INGEST, json=web_event("s9"), headers=browser())
        assert again.status_code == 202


async def test_dev_source_refuses_non_loopback_callers() -> None:
    """Sandbox's keyless source answers loopback only."""
    async with running(sandbox_settings(), peer=PUBLIC_IP) as h:
        response = await h.client.post(INGEST, json=web_event())
    assert "loopback" in problem(response, 403)["detail"]


async def test_client_ip_through_trusted_proxy_and_cookies_enrich_the_event() -> None:
    """Behind a trusted proxy the X-Forwarded-For client is the IP; _fbp/_fbc are read."""
    settings = live_settings(trusted_proxies=enrich.parse_networks(["10.0.0.0/8"]))
    headers = {
        **browser(),
        "X-Forwarded-For": "6.6.6.6, 198.51.100.23",
        "Cookie": "_fbp=fb.1.1596403881668.1116446470; _fbc=fb.1.1554763741205.IwAR2F4-dbP0",
    }
    async with running(settings, peer="10.1.2.3") as h:
        response = await h.client.post(INGEST, json=web_event(), headers=headers)
        (event,) = await h.stored()
    assert response.status_code == 202, response.text
    user_data = event.payload["user_data"]
    assert user_data["client_ip_address"] == "198.51.100.23"
    assert user_data["client_user_agent"] == "Mozilla/5.0 (X11)"
    assert user_data["fbp"] == "fb.1.1596403881668.1116446470"
    assert user_data["fbc"] == "fb.1.1554763741205.IwAR2F4-dbP0"


async def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    """Without a trusted proxy the socket address is the client IP."""
    async with running(live_settings(), peer=PUBLIC_IP) as h:
        headers = {**browser(), "X-Forwarded-For": "198.51.100.23"}
        await h.client.post(INGEST, json=web_event(), headers=headers)
        (event,) = await h.stored()
    assert event.payload["user_data"]["client_ip_address"] == PUBLIC_IP


async def test_fbclid_becomes_fbc_with_the_click_time() -> None:
    """Without _fbc, the page URL's fbclid is sent as fb.1.<event time ms>.<fbclid>."""
    event = web_event()
    event["context"]["page_url"] = f"{ORIGIN}/lp?fbclid=IwAR2F4-dbP0l7Mn"
    async with running(live_settings(), peer=PUBLIC_IP) as h:
        await h.client.post(INGEST, json=event, headers=browser())
        (stored,) = await h.stored()
    expected = f"fb.1.{(int(NOW_S) - 60) * 1000}.IwAR2F4-dbP0l7Mn"
    assert stored.payload["user_data"]["fbc"] == expected


async def test_server_sources_do_not_take_the_request_ip() -> None:
    """A bot's own server address is not the user's: server sources are not enriched."""
    async with running(live_settings(), peer=PUBLIC_IP) as h:
        await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        (event,) = await h.stored()
    assert "client_ip_address" not in event.payload["user_data"]


async def test_cors_preflight_allows_configured_origins_only() -> None:
    """Browsers may call from an allowlisted origin with the key header."""
    request_headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-capigate-key, content-type",
    }
    async with running(live_settings()) as h:
        allowed = await h.client.options(INGEST, headers=request_headers)
        denied = await h.client.options(
            INGEST, headers={**request_headers, "Origin": "https://evil.example"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in denied.headers


def test_live_settings_fixture_is_not_sandbox() -> None:
    """The helper really builds live settings (guards the tests above)."""
    assert not live_settings().sandbox
    assert dataclasses.replace(live_settings(), pixels=sandbox_settings().pixels).sandbox
