"""Plain ingest POSTs skip FastAPI's stack, and lose nothing the stack gave them."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from capigate.web import direct
from capigate.web.app import GatewayApp
from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    ORIGIN,
    WEB_KEY,
    bearer,
    bot_event,
    browser,
    live_settings,
    problem,
    running,
    web_event,
)


def _scope(**changes: Any) -> dict[str, Any]:
    scope = {"type": "http", "method": "POST", "path": INGEST, "root_path": "", "headers": []}
    return {**scope, **changes}


def test_only_plain_ingest_posts_are_taken() -> None:
    """Other methods and paths, a root path, or an Origin under CORS keep the full stack."""
    assert direct.takes(_scope(), cors=False)
    assert direct.takes(_scope(headers=[(b"origin", ORIGIN.encode())]), cors=False)
    assert direct.takes(_scope(headers=[(b"user-agent", b"bot")]), cors=True)
    assert not direct.takes(_scope(headers=[(b"origin", ORIGIN.encode())]), cors=True)
    assert not direct.takes(_scope(method="GET"), cors=False)
    assert not direct.takes(_scope(path=INGEST + "/"), cors=False)
    assert not direct.takes(_scope(root_path="/gw"), cors=False)


def test_telemetry_is_on_only_when_fastapi_says_so() -> None:
    """An app whose native OpenTelemetry instrumentation is enabled keeps the full stack."""
    on = SimpleNamespace(_native_telemetry=SimpleNamespace(enabled=lambda: True))
    off = SimpleNamespace(_native_telemetry=SimpleNamespace(enabled=lambda: False))
    assert direct.telemetry_enabled(on)  # type: ignore[arg-type]
    assert not direct.telemetry_enabled(off)  # type: ignore[arg-type]
    assert not direct.telemetry_enabled(SimpleNamespace())  # type: ignore[arg-type]


async def test_the_gateway_serves_ingest_directly_once_started() -> None:
    """After start-up (no OpenTelemetry provider) plain ingest POSTs take the direct path."""
    async with running(live_settings()) as h:
        assert isinstance(h.app, GatewayApp) and h.app.direct and h.app.cors
        response = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
    assert response.status_code == 202
    assert response.json()["results"][0]["status"] == "queued"


async def test_a_browser_post_still_gets_its_cors_headers() -> None:
    """A POST with an allowlisted Origin goes through the CORS middleware as before."""
    async with running(live_settings(), peer="203.0.113.50") as h:
        response = await h.client.post(INGEST, json=web_event(), headers=browser(WEB_KEY))
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_a_crash_answers_the_500_problem_and_reaches_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected error is logged, answered as a 500 problem, and raised to the server."""

    async def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    async with running(live_settings()) as h:
        h.app.state.gateway.ingestor.ingest = crash
        quiet = httpx.ASGITransport(app=h.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=quiet, base_url="http://gateway") as client:
            with caplog.at_level(logging.ERROR, logger="capigate.web"):
                response = await client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        with pytest.raises(RuntimeError, match="boom"):
            await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
    assert problem(response, 500)["type"].endswith("internal-error")
    assert "unhandled error" in caplog.text
