"""Plain ingest POSTs skip FastAPI's stack, and lose nothing the stack gave them."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from capigate.settings import Settings
from capigate.web import direct
from capigate.web.app import GatewayApp
from tests.unit.web_kit import (
    BOT,
    BOT_KEY,
    INGEST,
    ORIGIN,
    PUBLIC_IP,
    WEB_KEY,
    Harness,
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


def test_only_ingest_posts_are_taken() -> None:
    """Other methods (a CORS preflight too) and paths, or a root path, keep the full stack."""
    assert direct.takes(_scope())
    assert direct.takes(_scope(headers=[(b"origin", ORIGIN.encode())]))
    assert not direct.takes(_scope(method="OPTIONS", headers=[(b"origin", ORIGIN.encode())]))
    assert not direct.takes(_scope(method="GET"))
    assert not direct.takes(_scope(path=INGEST + "/"))
    assert not direct.takes(_scope(root_path="/gw"))


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
    """A POST with an allowlisted Origin is answered with the origin mirrored back."""
    async with running(live_settings(), peer="203.0.113.50") as h:
        response = await h.client.post(INGEST, json=web_event(), headers=browser(WEB_KEY))
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["vary"] == "Origin"


async def _answers(h: Harness, requests: list[tuple[dict[str, Any], dict[str, str]]]) -> Any:
    answers = []
    for body, headers in requests:
        response = await h.client.post(INGEST, json=body, headers=headers)
        answers.append((response.status_code, response.headers.raw, response.json()))
    return answers


@pytest.mark.parametrize(
    "settings", [live_settings(), live_settings(sources=(BOT,))], ids=["cors", "no-cors"]
)
async def test_the_direct_path_answers_as_the_full_stack_with_its_cors_middleware(
    settings: Settings,
) -> None:
    """Status, every header in order (CORS ones included) and body are the same both ways:
    allowed, unknown and missing Origin; accepted, refused (401, 403) and rate-limited (429)
    requests."""
    requests = [
        (web_event(), browser(WEB_KEY)),
        (web_event("s-2"), browser(WEB_KEY, origin="https://evil.example")),
        (bot_event(), {}),
        (bot_event(), bearer(BOT_KEY)),
        (bot_event("1"), {"Origin": ORIGIN, **bearer(BOT_KEY)}),
        *[(web_event(f"s-{n}"), browser(WEB_KEY)) for n in range(5)],  # burst 5: then 429
    ]
    got = {}
    for taken in (True, False):
        async with running(settings, peer=PUBLIC_IP) as h:
            h.app.direct = taken  # type: ignore[attr-defined]
            got[taken] = await _answers(h, requests)
    assert got[True] == got[False]
    assert {202, 401} <= {status for status, _, _ in got[True]}


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
