"""The ingest API over real HTTP: ``capigate serve`` on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from capigate import telegram
from capigate.secret import Secret
from tests.integration.gateway_proc import (
    BOT_KEY,
    BOT_TOKEN,
    CONFIG,
    INGEST,
    PAY_KEY,
    Gateway,
    bearer,
    bot_event,
    browser,
    database,
    serve,
    web_event,
)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """One gateway process per backend for the whole module."""
    workdir = tmp_path_factory.mktemp(f"http-{request.param}")
    with database(request.param, workdir) as db_url, serve(db_url, workdir) as running:
        yield running


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def unique() -> str:
    return uuid.uuid4().hex[:10]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    return document


def test_event_is_stored_before_202_and_dedup_answers_duplicate(
    gateway: Gateway, client: httpx.Client
) -> None:
    """202 queued means the row is committed; the same event again is a duplicate."""
    telegram_id = str(int(uuid.uuid4().int % 10**9))
    first = client.post(INGEST, json=bot_event(telegram_id), headers=bearer(BOT_KEY))
    assert first.status_code == 202, first.text
    assert first.json()["results"][0]["status"] == "queued"
    event_id = f"startbot_{telegram_id}"
    stored = [e for e in gateway.stored() if e.event_id == event_id]
    assert len(stored) == 1
    assert stored[0].status == "queued"
    assert len(stored[0].payload["user_data"]["external_id"]) in (1, 64)
    second = client.post(INGEST, json=bot_event(telegram_id), headers=bearer(BOT_KEY))
    assert second.json()["results"][0]["status"] == "duplicate"
    assert len([e for e in gateway.stored() if e.event_id == event_id]) == 1


def test_invalid_event_refuses_the_batch_and_stores_nothing(
    gateway: Gateway, client: httpx.Client
) -> None:
    """422 names $.batch[1]; the valid event next to it was not stored either."""
    good, bad = unique(), unique()
    batch = {"batch": [bot_event(good), bot_event(bad, event_time="soon")]}
    document = problem(client.post(INGEST, json=batch, headers=bearer(BOT_KEY)), 422)
    assert {"path": "$.batch[1].event_time", "rule": "event_time_type"}.items() <= (
        document["errors"][0].items()
    )
    ids = {e.event_id for e in gateway.stored()}
    assert f"startbot_{good}" not in ids


def test_unknown_key_malformed_json_and_oversized_bodies(client: httpx.Client) -> None:
    """422 names the valid keys; 400 for bad JSON; 413 by Content-Length and by stream."""
    unknown = problem(client.post(INGEST, json={"event": "nope"}, headers=bearer(BOT_KEY)), 422)
    assert "start_bot" in unknown["valid_keys"]
    problem(client.post(INGEST, content=b'{"event": ', headers=bearer(BOT_KEY)), 400)
    huge = json.dumps({"batch": [bot_event(str(i)) for i in range(20_000)]}).encode()
    problem(client.post(INGEST, content=huge, headers=bearer(BOT_KEY)), 413)

    def chunks() -> Iterator[bytes]:
        for _ in range(400):
            yield b" " * 10_000

    problem(client.post(INGEST, content=chunks(), headers=bearer(BOT_KEY)), 413)


def test_keys_origin_and_plan_permissions(client: httpx.Client) -> None:
    """401 without a key; 403 for a foreign origin and for events the source may not send."""
    problem(client.post(INGEST, json=bot_event(unique())), 401)
    foreign = browser("198.51.100.1", Origin="https://evil.example")
    problem(client.post(INGEST, json=web_event(unique()), headers=foreign), 403)
    problem(client.post(INGEST, json=bot_event(unique()), headers=bearer(PAY_KEY)), 403)
    claim = web_event(unique(), user={"telegram_id": "1"})
    problem(client.post(INGEST, json=claim, headers=browser("198.51.100.2")), 403)


def test_browser_rate_limit_per_client_ip(client: httpx.Client) -> None:
    """The sixth quick event from one IP is 429 with Retry-After; another IP is unaffected."""
    statuses = [
        client.post(INGEST, json=web_event(unique()), headers=browser("198.51.100.77")).status_code
        for _ in range(6)
    ]
    assert statuses == [202] * 5 + [429]
    limited = client.post(INGEST, json=web_event(unique()), headers=browser("198.51.100.77"))
    assert int(limited.headers["retry-after"]) >= 1
    other = client.post(INGEST, json=web_event(unique()), headers=browser("198.51.100.78"))
    assert other.status_code == 202


def test_proxy_ip_user_agent_cookies_and_fbclid_reach_the_payload(
    gateway: Gateway, client: httpx.Client
) -> None:
    """XFF through the trusted proxy, the UA header, _fbp, and fbc built from fbclid."""
    session = unique()
    event = web_event(session)
    event["context"]["page_url"] = "https://example.com/lp?fbclid=IwAR2F4-dbP0l7Mn"
    headers = browser(
        "198.51.100.9, 198.51.100.10",
        **{"User-Agent": "Mozilla/5.0 (IT)", "Cookie": "_fbp=fb.1.1596403881668.1116446470"},
    )
    response = client.post(INGEST, json=event, headers=headers)
    assert response.status_code == 202, response.text
    (stored,) = [e for e in gateway.stored() if e.event_id == f"cta_{session}"]
    user_data = stored.payload["user_data"]
    assert user_data["client_ip_address"] == "198.51.100.10"
    assert user_data["client_user_agent"] == "Mozilla/5.0 (IT)"
    assert user_data["fbp"] == "fb.1.1596403881668.1116446470"
    assert user_data["fbc"].startswith("fb.1.") and user_data["fbc"].endswith(".IwAR2F4-dbP0l7Mn")


def test_without_trusted_proxies_forwarded_for_is_not_believed(tmp_path: Path) -> None:
    """With no trusted_proxies, X-Forwarded-For from a loopback peer is not believed: uvicorn's
    own proxy-header handling (which trusts 127.0.0.1) stays off, so the client IP is the
    socket's address."""
    base = CONFIG[CONFIG.index("sources:") :]  # the same sources, no trusted_proxies
    with serve(f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path, base_config=base) as running:
        session = unique()
        with running.client() as client:
            response = client.post(INGEST, json=web_event(session), headers=browser("203.0.113.9"))
        assert response.status_code == 202, response.text
        (stored,) = [e for e in running.stored() if e.event_id == f"cta_{session}"]
    assert stored.payload["user_data"]["client_ip_address"] == "127.0.0.1"


def test_browser_with_valid_init_data_may_name_its_telegram_user(client: httpx.Client) -> None:
    """Signed initData from the mini app makes the browser's telegram_id believable."""
    fields = {"auth_date": str(int(time.time())), "user": json.dumps({"id": 777000111})}
    init_data = urlencode({**fields, "hash": telegram.sign(fields, Secret(BOT_TOKEN))})
    event = web_event(unique(), user={"telegram_id": "777000111"})
    headers = browser("198.51.100.3", **{"X-Telegram-Init-Data": init_data})
    assert client.post(INGEST, json=event, headers=headers).status_code == 202


def test_health_readiness_metrics_and_docs(client: httpx.Client) -> None:
    """The operational endpoints answer over HTTP; sandbox mode is reported."""
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["sandbox"] is True
    assert "capigate_ingest_events_total" in client.get("/metrics").text
    assert client.get("/docs").status_code == 200
    assert client.get("/__emulator__/events").status_code == 200


@pytest.mark.parametrize("kind", BACKENDS)
def test_outbox_high_water_answers_503(kind: str, tmp_path: Path) -> None:
    """Past the high-water mark the gateway pushes back with 503 and Retry-After."""
    with (
        database(kind, tmp_path) as db_url,
        serve(db_url, tmp_path, extra_config="outbox_high_water: 2\n") as gw,
        gw.client() as c,
    ):
        for telegram_id in ("1", "2"):
            c.post(INGEST, json=bot_event(telegram_id), headers=bearer(BOT_KEY))
        refused = c.post(INGEST, json=bot_event("3"), headers=bearer(BOT_KEY))
        assert problem(refused, 503)["type"] == "urn:capigate:problem:backpressure"
        assert refused.headers["retry-after"] == "5"
        assert c.get("/readyz").status_code == 503


@pytest.mark.parametrize("kind", BACKENDS)
def test_two_worker_processes_share_one_store_and_dedup(kind: str, tmp_path: Path) -> None:
    """serve --workers 2: every event stored once, however the connections were spread."""
    telegram_ids = [str(7_000_000 + i) for i in range(30)]
    with database(kind, tmp_path) as db_url, serve(db_url, tmp_path, workers=2) as gw:
        for telegram_id in telegram_ids * 2:  # every event twice, new connection each time
            with gw.client() as c:
                response = c.post(INGEST, json=bot_event(telegram_id), headers=bearer(BOT_KEY))
                assert response.status_code == 202, response.text
        stored = gw.stored()
    assert sorted(e.event_id for e in stored) == sorted(f"startbot_{t}" for t in telegram_ids)
