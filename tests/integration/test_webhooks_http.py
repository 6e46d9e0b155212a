"""Payment webhooks over real HTTP: ``capigate serve`` (default plan) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import orjson
import pytest

from capigate.store import open_store
from capigate.webhooks.signature import sign
from capigate.webhooks.subscriptions import Status, SubscriptionState
from tests.integration.gateway_proc import Gateway, database, serve
from tests.unit.webhook_kit import ATMOS_KEY, ATMOS_SECRET, BILLING_SECRET, atmos_callback

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
HEADER = "X-Capigate-Signature"
SECRETS = {
    "CAPIGATE_WEBHOOK_BILLING_SECRET": BILLING_SECRET,
    "CAPIGATE_WEBHOOK_ATMOS_SECRET": ATMOS_SECRET,
    "CAPIGATE_ATMOS_CALLBACK_KEY": ATMOS_KEY,
}


@pytest.fixture(scope="module", params=BACKENDS)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """One gateway process per backend, with the default plan's billing and atmos providers."""
    workdir = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    with database(request.param, workdir) as db_url, serve(db_url, workdir, **SECRETS) as running:
        yield running


@pytest.fixture
def client(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as c:
        yield c


def _user() -> str:
    return str(uuid.uuid4().int % 10**9)


def _txn() -> str:
    return f"pay_{uuid.uuid4().hex[:12]}"


def _billing(user: str, txn: str, kind: str = "payment.succeeded", **extra: Any) -> bytes:
    body = {
        "type": kind,
        "id": txn,
        "amount": 49000,
        "currency": "UZS",
        "plan": "monthly",
        "user": {"telegram_id": user},
        **extra,
    }
    return orjson.dumps(body)


def _post(
    client: httpx.Client,
    raw: bytes,
    provider: str = "billing",
    secret: str = BILLING_SECRET,
    *,
    timestamp: int | None = None,
) -> httpx.Response:
    signed_at = int(time.time()) if timestamp is None else timestamp
    header = sign(raw, secret.encode(), timestamp=signed_at)
    return client.post(f"/webhooks/{provider}", content=raw, headers={HEADER: header})


def _subscription(gateway: Gateway, user: str) -> SubscriptionState | None:
    async def read() -> SubscriptionState | None:
        store = open_store(gateway.db_url)
        try:
            return await store.load_subscription(user)
        finally:
            await store.close()

    return asyncio.run(read())


def test_a_payment_is_stored_before_200_and_a_resend_is_a_duplicate(
    gateway: Gateway, client: httpx.Client
) -> None:
    """200 queued means the Subscribe row and the state are committed; a resend stores nothing."""
    user, txn, now = _user(), _txn(), int(time.time())
    first = _post(client, _billing(user, txn), timestamp=now)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["outcome"]) == ("queued", "subscribe")
    stored = [e for e in gateway.stored() if e.event_id == f"sub_{txn}"]
    assert [(e.event_name, e.source, e.status) for e in stored] == [
        ("Subscribe", "webhook-billing", "queued")
    ]
    assert stored[0].payload["custom_data"]["value"] == 49000
    state = _subscription(gateway, user)
    assert state is not None and (state.status, state.charges) == (Status.ACTIVE, 1)
    # A retry is signed anew: another timestamp, so not a replay of the same signed bytes
    # (now - 1 whatever second the clock has reached since).
    second = _post(client, _billing(user, txn), timestamp=now - 1)
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    assert len([e for e in gateway.stored() if e.event_id == f"sub_{txn}"]) == 1


def test_the_same_signed_bytes_again_are_409(client: httpx.Client) -> None:
    """A replay of a signed request is refused, whatever the transaction."""
    raw = _billing(_user(), _txn())
    header = sign(raw, BILLING_SECRET.encode(), timestamp=int(time.time()))
    first = client.post("/webhooks/billing", content=raw, headers={HEADER: header})
    replay = client.post("/webhooks/billing", content=raw, headers={HEADER: header})
    assert first.status_code == 200
    assert replay.status_code == 409
    assert replay.headers["content-type"] == "application/problem+json"


def test_a_users_subscription_life_over_http(gateway: Gateway, client: httpx.Client) -> None:
    """Subscribe, renewal (a Subscribe of its own transaction), cancel, reactivation."""
    user = _user()
    txns = [_txn() for _ in range(4)]
    outcomes = [
        _post(client, _billing(user, txns[0])).json()["outcome"],
        _post(client, _billing(user, txns[1])).json()["outcome"],
        _post(client, _billing(user, txns[2], "subscription.canceled")).json()["outcome"],
        _post(client, _billing(user, txns[3])).json()["outcome"],
    ]
    assert outcomes == ["subscribe", "renewal", "cancel", "reactivate"]
    ids = {e.event_id: e.event_name for e in gateway.stored()}
    assert ids[f"sub_{txns[0]}"] == ids[f"sub_{txns[1]}"] == "Subscribe"
    assert ids[f"cancel_{txns[2]}"] == "Unsubscribe"
    assert ids[f"reactivate_{txns[3]}"] == "Reactivate_Sub"


def test_a_forwarded_atmos_callback_becomes_a_subscribe(
    gateway: Gateway, client: httpx.Client
) -> None:
    """The MD5 sign is checked and tiyin become UZS."""
    txn = int(uuid.uuid4().int % 10**8)
    response = _post(client, atmos_callback(txn, telegram_id=_user()), "atmos", ATMOS_SECRET)
    assert response.status_code == 200, response.text
    (event,) = [e for e in gateway.stored() if e.event_id == f"sub_{txn}"]
    assert (event.source, event.payload["custom_data"]["value"]) == ("webhook-atmos", 49000)
    forged = atmos_callback(txn + 1, key="not the callback key")
    assert _post(client, forged, "atmos", ATMOS_SECRET).status_code == 401


def test_refusals_are_problem_documents(client: httpx.Client) -> None:
    """Wrong secret 401, unknown provider 404, a missing mapped field 422 naming it."""
    raw = _billing(_user(), _txn())
    assert _post(client, raw, secret="whsec_not_the_right_one").status_code == 401
    assert _post(client, raw, provider="stripe").status_code == 404
    missing = orjson.dumps({"type": "payment.succeeded", "id": _txn(), "amount": 1})
    response = _post(client, missing)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"$.user.telegram_id", "$.user.user_id"}  # either identity would do


def test_concurrent_deliveries_of_one_payment_store_one_event(
    gateway: Gateway, client: httpx.Client
) -> None:
    """Eight parallel deliveries (each signed anew): one Subscribe, the rest duplicates."""
    user, txn = _user(), _txn()
    raw = _billing(user, txn)
    headers = [
        {HEADER: sign(raw, BILLING_SECRET.encode(), timestamp=int(time.time()) - i)}
        for i in range(8)
    ]
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda h: client.post("/webhooks/billing", content=raw, headers=h), headers)
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 7 + ["queued"]
    assert len([e for e in gateway.stored() if e.event_id == f"sub_{txn}"]) == 1
