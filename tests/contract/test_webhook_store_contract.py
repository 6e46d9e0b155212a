"""The webhook part of the Store contract: subscriptions, payment claims and seen signatures."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal

from capigate.clock import FrozenClock
from capigate.store import Store, open_store
from capigate.store.webhooks import PaymentRecord
from capigate.webhooks.subscriptions import Status, SubscriptionState
from tests.contract.conftest import T0

ACTIVE = SubscriptionState(
    user_key="77123",
    status=Status.ACTIVE,
    plan="monthly",
    value=Decimal("49000.50"),
    currency="UZS",
    started_at=T0 - 86_400,
    last_charge_at=T0,
    last_transaction_id="48151623",
    charges=2,
    canceled_at=None,
)


def _record(transaction_id: str = "48151623", **overrides: object) -> PaymentRecord:
    fields: dict[str, object] = {
        "provider": "atmos",
        "transaction_id": transaction_id,
        "user_key": "77123",
        "action": "charge",
        "outcome": "renewal",
        "plan_key": "subscribe",
        "properties": {"transaction_id": transaction_id, "value": 49000.5, "currency": "UZS"},
        "created_at": T0,
    }
    return PaymentRecord(**{**fields, **overrides})  # type: ignore[arg-type]


async def test_unknown_user_and_transaction_read_as_none(store: Store) -> None:
    """Nothing saved: no subscription, no payment record."""
    assert await store.load_subscription("nobody") is None
    assert await store.payment_record("atmos", "1") is None


async def test_a_claim_saves_the_state_and_a_pending_record(store: Store) -> None:
    """A claim stores the state whole (version 1) and the record as not done."""
    assert await store.claim_payment(_record(), ACTIVE, expected_version=0) == "claimed"
    assert await store.load_subscription("77123") == replace(ACTIVE, version=1)
    assert await store.payment_record("atmos", "48151623") == _record()


async def test_a_state_with_only_its_key_round_trips(store: Store) -> None:
    """Optional fields (plan, value, times) come back as None."""
    bare = SubscriptionState("u-9", Status.LAPSED)
    assert await store.claim_payment(_record(user_key="u-9"), bare, expected_version=0) == (
        "claimed"
    )
    assert await store.load_subscription("u-9") == replace(bare, version=1)


async def test_a_recorded_transaction_is_taken_and_nothing_changes(store: Store) -> None:
    """Claiming the same provider transaction again writes nothing."""
    await store.claim_payment(_record(), ACTIVE, expected_version=0)
    other = replace(ACTIVE, plan="weekly")
    assert await store.claim_payment(_record(), other, expected_version=1) == "taken"
    assert (await store.load_subscription("77123")) == replace(ACTIVE, version=1)


async def test_the_same_id_from_another_provider_is_its_own_transaction(store: Store) -> None:
    """Records are keyed by (provider, transaction id)."""
    await store.claim_payment(_record(), ACTIVE, expected_version=0)
    billing = _record(provider="billing")
    assert await store.claim_payment(billing, ACTIVE, expected_version=1) == "claimed"


async def test_a_stale_version_is_a_conflict_and_writes_nothing(store: Store) -> None:
    """A claim over a version someone else moved on stores neither state nor record."""
    await store.claim_payment(_record("1"), ACTIVE, expected_version=0)
    assert await store.claim_payment(_record("2"), ACTIVE, expected_version=0) == "conflict"
    assert await store.payment_record("atmos", "2") is None
    assert (await store.load_subscription("77123")).version == 1  # type: ignore[union-attr]


async def test_claims_build_versions_one_on_another(store: Store) -> None:
    """Each claim saves over the version it read: 1, 2, 3."""
    for version, txn in enumerate(("1", "2", "3")):
        state = replace(ACTIVE, charges=version + 1)
        assert await store.claim_payment(_record(txn), state, expected_version=version) == (
            "claimed"
        )
    assert (await store.load_subscription("77123")).charges == 3  # type: ignore[union-attr]


async def test_complete_marks_the_record_done_once(store: Store) -> None:
    """complete_payment sets done and the time; a second call keeps the first time."""
    await store.claim_payment(_record(), ACTIVE, expected_version=0)
    await store.complete_payment("atmos", "48151623", now_s=T0 + 1)
    await store.complete_payment("atmos", "48151623", now_s=T0 + 9)
    record = await store.payment_record("atmos", "48151623")
    assert record is not None and record.done and record.completed_at == T0 + 1


async def test_release_of_a_first_claim_forgets_user_and_record(store: Store) -> None:
    """Releasing a new user's claim leaves no state and no record."""
    await store.claim_payment(_record(), ACTIVE, expected_version=0)
    assert await store.release_payment(_record(), previous=None, claimed_version=1)
    assert await store.load_subscription("77123") is None
    assert await store.payment_record("atmos", "48151623") is None
    assert await store.claim_payment(_record(), ACTIVE, expected_version=0) == "claimed"


async def test_release_restores_the_previous_state_as_a_new_version(store: Store) -> None:
    """The state before the claim comes back, versioned after the claim's."""
    await store.claim_payment(_record("1"), ACTIVE, expected_version=0)
    canceled = replace(ACTIVE, status=Status.CANCELED, canceled_at=T0)
    await store.claim_payment(_record("2"), canceled, expected_version=1)
    previous = replace(ACTIVE, version=1)
    assert await store.release_payment(_record("2"), previous=previous, claimed_version=2)
    assert await store.load_subscription("77123") == replace(ACTIVE, version=3)


async def test_release_after_someone_built_on_the_claim_keeps_their_state(store: Store) -> None:
    """If the state moved past the claimed version, only the pending record goes."""
    await store.claim_payment(_record("1"), ACTIVE, expected_version=0)
    await store.claim_payment(_record("2"), replace(ACTIVE, charges=3), expected_version=1)
    assert not await store.release_payment(_record("1"), previous=None, claimed_version=1)
    assert (await store.load_subscription("77123")).charges == 3  # type: ignore[union-attr]
    assert await store.payment_record("atmos", "1") is None


async def test_release_never_forgets_a_done_record(store: Store) -> None:
    """A completed transaction stays recorded whatever release is asked."""
    await store.claim_payment(_record(), ACTIVE, expected_version=0)
    await store.complete_payment("atmos", "48151623", now_s=T0)
    await store.release_payment(_record(), previous=None, claimed_version=1)
    assert await store.payment_record("atmos", "48151623") is not None


async def test_a_signature_is_remembered_until_it_expires(store: Store) -> None:
    """Seen once: True; again before expiry: False; after expiry it may be kept anew."""
    assert await store.remember_signature("atmos:ab", expires_at_s=T0 + 300, now_s=T0)
    assert not await store.remember_signature("atmos:ab", expires_at_s=T0 + 600, now_s=T0 + 299)
    assert await store.remember_signature("atmos:ab", expires_at_s=T0 + 900, now_s=T0 + 300)


async def test_a_forgotten_signature_may_be_sent_again(store: Store) -> None:
    """forget_signature lets the same signed request through again."""
    await store.remember_signature("k", expires_at_s=T0 + 300, now_s=T0)
    await store.forget_signature("k")
    assert await store.remember_signature("k", expires_at_s=T0 + 300, now_s=T0 + 1)


async def test_purge_drops_only_expired_signatures(store: Store) -> None:
    """Signatures past their expiry are forgotten; live ones stay remembered."""
    await store.remember_signature("old", expires_at_s=T0, now_s=T0 - 300)
    await store.remember_signature("live", expires_at_s=T0 + 300, now_s=T0)
    assert await store.purge_signatures(now_s=T0) == 1
    assert not await store.remember_signature("live", expires_at_s=T0 + 300, now_s=T0)
    assert await store.purge_signatures(now_s=T0) == 0


def _stores(url: str, count: int) -> list[Store]:
    """``count`` stores on one database (memory has no shared database: one store, repeated)."""
    if url.startswith("memory"):
        return [open_store(url, clock=FrozenClock(T0))] * count
    return [open_store(url, clock=FrozenClock(T0)) for _ in range(count)]


async def _race(url: str, records: list[PaymentRecord]) -> list[str]:
    stores = _stores(url, len(records))
    await stores[0].migrate()
    try:
        claims = (
            s.claim_payment(r, ACTIVE, expected_version=0)
            for s, r in zip(stores, records, strict=True)
        )
        return sorted(await asyncio.gather(*claims))
    finally:
        for opened in set(stores):
            await opened.close()


async def test_concurrent_claims_of_one_transaction_let_exactly_one_win(store_url: str) -> None:
    """Eight stores claiming the same transaction at once: one claimed, the rest taken."""
    assert await _race(store_url, [_record()] * 8) == ["claimed"] + ["taken"] * 7


async def test_concurrent_claims_for_one_user_let_exactly_one_win(store_url: str) -> None:
    """Different transactions over the same version: one claimed, the others conflict."""
    records = [_record(str(i)) for i in range(4)]
    assert await _race(store_url, records) == ["claimed"] + ["conflict"] * 3
