"""POST /webhooks/{provider} in process (ASGI, memory store): answers, problem documents, metrics,
and identity stitching of payment events through the ordinary ingest path."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from capigate.clock import FrozenClock
from capigate.plan import Plan, default_plan
from capigate.settings import Settings
from capigate.store import InMemoryStore
from capigate.web.app import create_app
from capigate.webhooks.config import DAY_S
from tests.unit import webhook_kit as kit
from tests.unit.web_kit import problem
from tests.unit.webhook_kit import BILLING_SECRET, T0, billing, signed

HEADER = "X-Capigate-Signature"


@dataclasses.dataclass
class Client:
    http: httpx.AsyncClient
    store: InMemoryStore
    clock: FrozenClock

    async def post(
        self,
        body: dict[str, Any] | bytes,
        provider: str = "billing",
        *,
        secret: str = BILLING_SECRET,
        header: str | None = None,
    ) -> httpx.Response:
        raw, signature = signed(body, secret=secret, at=self.clock())
        headers = {HEADER: header if header is not None else signature}
        return await self.http.post(f"/webhooks/{provider}", content=raw, headers=headers)


@asynccontextmanager
async def gateway(
    plan: Plan | None = None, settings: Settings | None = None
) -> AsyncIterator[Client]:
    """The app (its lifespan run) on a memory store, at T0."""
    clock = FrozenClock(T0)
    store = InMemoryStore(clock=clock)
    app = create_app(settings or kit.settings(), store=store, clock=clock, plan=plan or kit.plan())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield Client(http, store, clock)


async def test_a_payment_is_answered_200_after_it_is_stored() -> None:
    """200 queued with the outcome and the stored event."""
    async with gateway() as gw:
        response = await gw.post(billing())
        stored = await gw.store.list_events()
    assert response.status_code == 200, response.text
    answer = response.json()
    (event,) = answer.pop("events")
    assert answer == {
        "provider": "billing",
        "status": "queued",
        "transaction_id": "pay_1",
        "event_type": "payment.succeeded",
        "outcome": "subscribe",
        "plan_key": "subscribe",
        "note": "first charge",
    }
    assert (event["status"], event["event_id"], event["event_name"]) == (
        "queued",
        "sub_pay_1",
        "Subscribe",
    )
    assert {w["rule"] for w in event["warnings"]} == {"app_data_fallback"}  # app -> chat
    assert [e.event_id for e in stored] == ["sub_pay_1"]


async def test_the_same_webhook_twice_answers_duplicate_and_enqueues_once() -> None:
    """The second delivery (re-signed) is 200 duplicate; one event is stored."""
    async with gateway() as gw:
        await gw.post(billing())
        gw.clock.advance(60)
        second = await gw.post(billing())
        stored = await gw.store.list_events()
    assert (second.status_code, second.json()["status"]) == (200, "duplicate")
    assert len(stored) == 1


async def test_a_replayed_signed_request_is_409() -> None:
    """The exact same signed bytes again: 409 replayed-signature."""
    async with gateway() as gw:
        raw, header = signed(billing(), at=T0)
        first = await gw.http.post("/webhooks/billing", content=raw, headers={HEADER: header})
        second = await gw.http.post("/webhooks/billing", content=raw, headers={HEADER: header})
    assert first.status_code == 200
    document = problem(second, 409)
    assert document["type"] == "urn:capigate:problem:replayed-signature"
    assert "sign each attempt anew" in document["detail"]


async def test_signature_refusals_are_401_with_their_reason() -> None:
    """Missing, malformed, wrong and stale signatures each say why."""
    async with gateway() as gw:
        cases = {
            "missing": await gw.post(billing(), header=""),
            "malformed": await gw.post(billing(), header="sha256=abc"),
            "mismatch": await gw.post(billing(), secret="whsec_someone_else_000"),
        }
        raw, old = signed(billing(), at=T0 - 301)
        cases["stale"] = await gw.http.post("/webhooks/billing", content=raw, headers={HEADER: old})
        stored = await gw.store.list_events()
    for reason, response in cases.items():
        document = problem(response, 401)
        assert (document["type"], document["reason"]) == (
            "urn:capigate:problem:bad-signature",
            reason,
        )
    assert "301 s old; the tolerance is 300 s" in cases["stale"].json()["detail"]
    assert cases["stale"].headers["www-authenticate"].startswith("Signature realm=")
    assert stored == []


async def test_an_unknown_provider_is_404() -> None:
    """Only configured providers (with secrets) exist."""
    async with gateway() as gw:
        document = problem(await gw.post(billing(), provider="stripe"), 404)
    assert document["detail"] == "no webhook provider 'stripe' is configured"


async def test_a_provider_without_its_secret_is_404() -> None:
    """atmos is in the plan but CAPIGATE_ATMOS_CALLBACK_KEY is not set: disabled."""
    env = {"CAPIGATE_WEBHOOK_BILLING_SECRET": BILLING_SECRET}
    async with gateway(settings=kit.settings(env)) as gw:
        response = await gw.post(kit.atmos_callback(), "atmos", secret=kit.ATMOS_SECRET)
    problem(response, 404)


async def test_a_missing_mapped_field_is_422_naming_its_path() -> None:
    """No amount in a charge: 422 invalid-request with $.amount."""
    body = billing()
    del body["amount"]
    async with gateway() as gw:
        document = problem(await gw.post(body), 422)
        stored = await gw.store.list_events()
    assert [(e["path"], e["rule"]) for e in document["errors"]] == [("$.amount", "field_required")]
    assert document["errors"][0]["message"] == (
        "the payload has no amount (billing maps amount to it)"
    )
    assert stored == []


async def test_an_event_the_plan_refuses_is_422_and_leaves_no_trace() -> None:
    """A payment dated 8 days ago is past Meta's window: 422, state and record untouched."""
    async with gateway() as gw:
        response = await gw.post(billing(time=T0 - 8 * DAY_S))
        state = await gw.store.load_subscription("77123")
        record = await gw.store.payment_record("billing", "pay_1")
    document = problem(response, 422)
    assert document["type"] == "urn:capigate:problem:invalid-events"
    assert (state, record) == (None, None)


async def test_a_body_that_is_not_json_is_400_and_a_huge_one_413() -> None:
    """Signed garbage is malformed JSON; a body over the limit is refused before reading."""
    settings = dataclasses.replace(kit.settings(), max_body_bytes=1024)
    async with gateway(settings=settings) as gw:
        malformed = await gw.post(b"{nope")
        huge = await gw.post(billing(note="x" * 2000))
    assert problem(malformed, 400)["type"] == "urn:capigate:problem:malformed-json"
    problem(huge, 413)


async def test_an_unmapped_event_type_is_200_ignored() -> None:
    """Providers send more than payments; those are acknowledged and dropped."""
    async with gateway() as gw:
        response = await gw.post({"type": "customer.updated"})
    assert (response.status_code, response.json()["status"]) == (200, "ignored")


async def test_an_atmos_callback_over_http() -> None:
    """The forwarded callback (MD5 sign verified) is a Subscribe of 49,000 UZS."""
    async with gateway() as gw:
        response = await gw.post(kit.atmos_callback(), "atmos", secret=kit.ATMOS_SECRET)
        (event,) = await gw.store.list_events()
    assert response.status_code == 200, response.text
    assert (event.event_id, event.source) == ("sub_48151623", "webhook-atmos")
    assert event.payload["custom_data"]["value"] == 49000


async def test_metrics_count_applied_and_refused_webhooks() -> None:
    """Counters by provider and status/reason; unknown provider names are not labels."""
    async with gateway() as gw:
        await gw.post(billing())
        await gw.post(billing(), header="")
        await gw.post(billing(), provider="evil-{name}")
        text = (await gw.http.get("/metrics")).text
    assert 'capigate_webhooks_total{provider="billing",status="queued"} 1' in text
    assert 'capigate_webhooks_refused_total{provider="billing",reason="bad-signature"} 1' in text
    assert 'capigate_webhooks_refused_total{provider="unknown",reason="not-found"} 1' in text
    assert "evil" not in text


async def test_payment_events_carry_the_users_landing_page_keys() -> None:
    """Landing page -> /start with its token -> a payment: Subscribe carries the session's fbc."""
    token = "tok_0123456789abcdef"
    fbc = f"fb.1.{T0 * 1000:.0f}.IwAR2F4-dbP0l7Mn"
    landing = {
        "event": "landing_view",
        "event_time": T0 - 120,
        "user": {"fbc": fbc},
        "context": {
            "session_id": "s-1",
            "landing_token": token,
            "page_url": "https://example.com/lp",
        },
    }
    start = {
        "event": "start_bot",
        "event_time": T0 - 60,
        "user": {"telegram_id": "77123"},
        "context": {"start_param": token},
    }
    async with gateway(plan=default_plan()) as gw:
        for item in (landing, start):
            sent = await gw.http.post("/api/marketing/meta", json=item)
            assert sent.status_code == 202, sent.text
        response = await gw.post(billing())
        (subscribe,) = await gw.store.list_events(event_name="Subscribe")
    assert response.status_code == 200, response.text
    assert subscribe.payload["user_data"]["fbc"] == fbc
    assert orjson.dumps(subscribe.payload).count(b"77123") == 0  # external_id is hashed
