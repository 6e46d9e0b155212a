"""The webhook use case on the memory store: outcomes stored once, claims, replays, refusals."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import pytest

from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.ingest import Rejected
from capigate.store import InMemoryStore
from capigate.webhook_ingest import (
    Handled,
    MalformedBody,
    Replayed,
    UnknownProvider,
    UnmappedPayload,
    WebhookIngestor,
    providers_from,
    source_for,
)
from capigate.webhooks.config import DAY_S, Outcome
from capigate.webhooks.signature import SignatureError
from capigate.webhooks.subscriptions import Status
from tests.unit import webhook_kit as kit
from tests.unit.webhook_kit import ATMOS_SECRET, T0, billing, signed


async def _send(
    service: WebhookIngestor,
    body: dict[str, Any] | bytes,
    *,
    at: float = T0,
    provider: str = "billing",
    secret: str = kit.BILLING_SECRET,
) -> Handled:
    raw, header = signed(body, at=at, secret=secret)
    return await service.handle(provider, raw, header, now_s=at)


async def _events(store: InMemoryStore) -> list[tuple[str, str]]:
    return [(e.event_name, e.event_id) for e in reversed(await store.list_events())]


async def test_a_first_charge_stores_subscribe_once_with_value_and_external_id() -> None:
    """The payment becomes Subscribe sub_<id>, with value, currency and the hashed user."""
    service, store = kit.service()
    handled = await _send(service, billing())
    assert (handled.status, handled.outcome, handled.plan_key) == (
        "queued",
        "subscribe",
        "subscribe",
    )
    (event,) = await store.list_events()
    assert (event.event_name, event.event_id, event.source) == (
        "Subscribe",
        "sub_pay_1",
        "webhook-billing",
    )
    custom = event.payload["custom_data"]
    assert (custom["value"], custom["currency"], custom["subscription_plan"]) == (
        49000,
        "UZS",
        "monthly",
    )
    assert len(event.payload["user_data"]["external_id"]) == 64  # hashed, never raw
    assert event.event_time == T0 - 5


async def test_the_same_transaction_again_is_a_duplicate_and_stores_nothing() -> None:
    """A resend (freshly signed) answers duplicate; one event stays stored."""
    service, store = kit.service()
    await _send(service, billing())
    again = await _send(service, billing(), at=T0 + 30)
    assert (again.status, again.events) == ("duplicate", ())
    assert await _events(store) == [("Subscribe", "sub_pay_1")]


async def test_each_outcome_is_stored_under_its_plan_key() -> None:
    """Subscribe, renewal, plan change, cancel, reactivation and refund, over a user's life."""
    service, store = kit.service()
    steps = [
        (billing(id="p1", time=T0), "subscribe"),
        (billing(id="p2", time=T0 + 30 * DAY_S), "renewal"),
        (billing(id="p3", plan="yearly", amount=490000, time=T0 + 40 * DAY_S), "plan_change"),
        (billing("subscription.canceled", id="c1", time=T0 + 50 * DAY_S), "cancel"),
        (billing(id="p4", time=T0 + 60 * DAY_S), "reactivate"),
        (billing("payment.refunded", id="r1", refunded_id="p4", time=T0 + 61 * DAY_S), "refund"),
    ]
    for body, outcome in steps:
        handled = await _send(service, body, at=body["time"] + 5)
        assert (handled.outcome, handled.status) == (outcome, "queued"), body
    assert await _events(store) == [
        ("Subscribe", "sub_p1"),
        ("Renew_Sub", "renew_p2"),
        ("Plan_Change", "planchange_p3"),
        ("Unsubscribe", "cancel_c1"),
        ("Reactivate_Sub", "reactivate_p4"),
        ("Refund", "refund_r1"),
    ]
    change = (await store.list_events(event_name="Plan_Change"))[0].payload["custom_data"]
    assert (change["old_plan"], change["new_plan"], change["value_diff"]) == (
        "monthly",
        "yearly",
        441000,
    )


async def test_an_outcome_without_a_plan_key_is_recorded_not_sent() -> None:
    """The default plan sends no refunds: the refund is answered recorded, nothing stored."""
    service, store = kit.service()
    provider = service.providers["billing"]
    keys = {**provider.config.keys, Outcome.REFUND: None}
    service.providers["billing"] = replace(provider, config=replace(provider.config, keys=keys))
    handled = await _send(service, billing("payment.refunded", id="r1"))
    assert (handled.status, handled.outcome, handled.plan_key) == ("recorded", "refund", None)
    assert await store.list_events() == []
    record = await store.payment_record("billing", "r1")
    assert record is not None and record.done


async def test_an_expiry_changes_state_and_sends_nothing() -> None:
    """subscription.expired is recorded; the user's next charge reactivates."""
    service, store = kit.service()
    await _send(service, billing(id="p1"))
    expired = await _send(service, billing("subscription.expired", id="e1"), at=T0 + 1)
    assert (expired.status, expired.outcome) == ("recorded", None)
    state = await store.load_subscription("77123")
    assert state is not None and state.status is Status.LAPSED
    assert (await _send(service, billing(id="p2"), at=T0 + 2)).outcome == "reactivate"


async def test_an_unmapped_event_type_is_ignored_and_stores_nothing() -> None:
    """invoice.created is acknowledged as ignored."""
    service, store = kit.service()
    handled = await _send(service, {"type": "invoice.created", "id": "in_1"})
    assert (handled.status, handled.event_type) == ("ignored", "invoice.created")
    assert await store.list_events() == []


async def test_a_replayed_signature_is_refused_but_a_fresh_one_is_a_duplicate() -> None:
    """The same signed bytes twice: 409; re-signed: the transaction answers duplicate."""
    service, _ = kit.service()
    raw, header = signed(billing())
    await service.handle("billing", raw, header, now_s=T0)
    with pytest.raises(Replayed):
        await service.handle("billing", raw, header, now_s=T0 + 10)
    assert (await _send(service, billing(), at=T0 + 11)).status == "duplicate"


async def test_a_refused_request_does_not_burn_its_signature() -> None:
    """After a 422 the same signed request may be sent again (and is refused again, not 409)."""
    service, _ = kit.service()
    raw, header = signed(billing(amount=None))
    for _ in range(2):
        with pytest.raises(UnmappedPayload) as caught:
            await service.handle("billing", raw, header, now_s=T0)
    assert [(f.path, f.rule) for f in caught.value.findings] == [("$.amount", "field_required")]


async def test_signature_problems_come_before_anything_is_read_or_stored() -> None:
    """Wrong secret, stale timestamp, unknown provider: refused, store untouched."""
    service, store = kit.service()
    raw, header = signed(billing(), secret="not the billing secret")
    with pytest.raises(SignatureError):
        await service.handle("billing", raw, header, now_s=T0)
    raw, header = signed(billing(), at=T0 - 301)
    with pytest.raises(SignatureError) as stale:
        await service.handle("billing", raw, header, now_s=T0)
    assert stale.value.reason == "stale"
    with pytest.raises(UnknownProvider):
        await service.handle("stripe", raw, header, now_s=T0)
    assert not [name for name, _ in store.calls if name != "list_events"]


async def test_a_body_that_is_not_json_is_malformed() -> None:
    """A correctly signed non-JSON body is a 400."""
    service, _ = kit.service()
    with pytest.raises(MalformedBody):
        await _send(service, b"{not json")


async def test_events_the_plan_refuses_release_the_claim() -> None:
    """Ingest refuses the event: the state and record go back to how they were."""
    service, store = kit.service()
    await _send(service, billing(id="p1"))
    before = await store.load_subscription("77123")
    too_old = billing(id="p2", time=T0 - 8 * DAY_S)  # Meta refuses events older than 7 days
    with pytest.raises(Rejected):
        await _send(service, too_old, at=T0 + 1)
    after = await store.load_subscription("77123")
    assert after is not None and before is not None
    assert (after.charges, after.last_transaction_id) == (1, "p1")
    assert await store.payment_record("billing", "p2") is None
    assert (await _send(service, billing(id="p2"), at=T0 + 2)).outcome == "renewal"


async def test_a_pending_claim_is_finished_by_the_next_request() -> None:
    """A crash between claim and ingest: the retry sends the recorded event and completes."""
    service, store = kit.service()
    broken = _FailingEnqueue(store)
    with pytest.raises(StoreError):
        await _send(_service_on(broken), billing())
    record = await store.payment_record("billing", "pay_1")
    assert record is not None and not record.done
    handled = await _send(service, billing(), at=T0 + 20)
    assert (handled.status, handled.note) == ("queued", "pending, sent again")
    assert await _events(store) == [("Subscribe", "sub_pay_1")]
    assert (await store.payment_record("billing", "pay_1")).done  # type: ignore[union-attr]


async def test_concurrent_payments_of_one_user_are_decided_one_after_another() -> None:
    """Two first charges at once: one Subscribe and one renewal, never two Subscribes."""
    service, store = kit.service(_Yielding())
    first, second = await asyncio.gather(
        _send(service, billing(id="p1")), _send(service, billing(id="p2"))
    )
    assert sorted([first.outcome, second.outcome]) == ["renewal", "subscribe"]
    assert isinstance(store, _Yielding) and store.conflicts == 1  # the race really happened
    assert sorted(name for name, _ in await _events(store)) == ["Renew_Sub", "Subscribe"]


async def test_the_same_webhook_twice_at_once_stores_one_event() -> None:
    """Concurrent identical transactions (signed apart): one queued, the other duplicate."""
    service, store = kit.service(_Yielding())
    results = await asyncio.gather(
        _send(service, billing(), at=T0), _send(service, billing(), at=T0 + 1)
    )
    assert sorted(r.status for r in results) == ["duplicate", "queued"]
    assert isinstance(store, _Yielding) and store.conflicts == 1  # the race really happened
    assert len(await store.list_events()) == 1


async def test_an_atmos_callback_becomes_a_subscribe_in_uzs() -> None:
    """4,900,000 tiyin -> 49,000 UZS; the transaction id is Atmos's."""
    service, store = kit.service()
    handled = await _send(service, kit.atmos_callback(), secret=ATMOS_SECRET, provider="atmos")
    assert (handled.provider, handled.transaction_id, handled.outcome) == (
        "atmos",
        "48151623",
        "subscribe",
    )
    (event,) = await store.list_events()
    assert (event.event_id, event.payload["custom_data"]["value"]) == ("sub_48151623", 49000)


async def test_an_atmos_callback_with_a_wrong_sign_is_refused() -> None:
    """Correct capigate signature, but the callback's MD5 sign is not Atmos's: 401."""
    service, store = kit.service()
    body = kit.atmos_callback(key="someone else's key")
    with pytest.raises(SignatureError, match="Atmos"):
        await _send(service, body, secret=ATMOS_SECRET, provider="atmos")
    assert await store.list_events() == []


async def test_providers_without_secrets_are_disabled_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No CAPIGATE_ATMOS_CALLBACK_KEY: atmos is left out; a short secret too."""
    env = {"CAPIGATE_WEBHOOK_BILLING_SECRET": "short", "CAPIGATE_WEBHOOK_ATMOS_SECRET": "x" * 20}
    with caplog.at_level(logging.WARNING, logger="capigate.webhooks"):
        providers = providers_from(kit.plan(), kit.settings(env).secrets.get)
    assert providers == {}
    assert {r.getMessage() for r in caplog.records} == {
        "webhook provider disabled: secret not set",
        "webhook provider disabled: secret too short",
    }
    assert "x" * 20 not in caplog.text


def test_webhook_events_are_stored_under_a_webhook_source() -> None:
    """The ingest source of a provider is webhook-<name>, of kind webhook."""
    source = source_for("atmos")
    assert (source.name, source.channel) == ("webhook-atmos", "webhook")


async def test_expired_signatures_are_purged_at_most_every_ten_minutes() -> None:
    """The purge runs on the first request, then again only after the interval."""
    service, store = kit.service()
    await _send(service, billing(id="p1"))
    await _send(service, billing(id="p2"), at=T0 + 60)
    await _send(service, billing(id="p3"), at=T0 + 601)
    purges = [args["now_s"] for name, args in store.calls if name == "purge_signatures"]
    assert purges == [T0, T0 + 601]


# --- helpers --------------------------------------------------------------------------------


class _FailingEnqueue(InMemoryStore):
    """Shares ``store``'s tables, but its enqueue fails like a database that went away."""

    def __init__(self, store: InMemoryStore) -> None:
        self.__dict__.update(store.__dict__)

    async def enqueue(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("the database went away")


class _Yielding(InMemoryStore):
    """Lets other requests run between each read and the claim, as a real database does."""

    def __init__(self) -> None:
        super().__init__(clock=FrozenClock(T0))
        self.conflicts = 0

    async def load_subscription(self, user_key: str) -> Any:
        found = await super().load_subscription(user_key)
        await asyncio.sleep(0)
        return found

    async def payment_record(self, provider: str, transaction_id: str) -> Any:
        found = await super().payment_record(provider, transaction_id)
        await asyncio.sleep(0)
        return found

    async def claim_payment(self, *args: Any, **kwargs: Any) -> Any:
        claim = await super().claim_payment(*args, **kwargs)
        self.conflicts += claim != "claimed"
        return claim


def _service_on(store: InMemoryStore) -> WebhookIngestor:
    return kit.service(store)[0]
