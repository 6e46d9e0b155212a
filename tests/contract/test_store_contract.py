"""The Store contract: every implementation (memory, SQLite, PostgreSQL) behaves the same."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from capigate.store import (
    DEDUP_WINDOW_S,
    LeasedEvent,
    NewEvent,
    Status,
    Store,
    StoredEvent,
    open_store,
)
from tests.contract.conftest import T0
from tests.contract.pg_schema import pg_schema_url

MakeEvent = Callable[..., NewEvent]
LEASE_S = 30.0


async def _enqueue_n(store: Store, make_event: MakeEvent, n: int, **fields: object) -> list[int]:
    prefix = "-".join(f"{v}" for v in fields.values())
    events = [make_event(f"{prefix}e{i}", **fields) for i in range(n)]
    return [result.id for result in await store.enqueue(events, now_s=T0)]


async def _lease(store: Store, now_s: float = T0, **options: Any) -> list[LeasedEvent]:
    batch = await store.lease_batch(worker_id="w1", now_s=now_s, lease_s=LEASE_S, **options)
    return [] if batch is None else batch.events


async def _status(store: Store, event_id: int) -> StoredEvent:
    found = await store.get(event_id)
    assert found is not None
    return found


# --- enqueue and dedup ----------------------------------------------------------------------


async def test_enqueue_stores_every_field(store: Store, make_event: MakeEvent) -> None:
    """An enqueued event comes back whole: payload, warnings, plan key, and a fresh state."""
    event = make_event("a1", test_event_code="TEST123")
    [result] = await store.enqueue([event], now_s=T0)
    assert result.status == "queued"
    stored = await _status(store, result.id)
    for name in NewEvent.__dataclass_fields__:
        assert getattr(stored, name) == getattr(event, name), name
    assert stored.status is Status.QUEUED
    assert (stored.attempts, stored.created_at, stored.next_attempt_at) == (0, T0, T0)
    assert stored.lease_owner is None and stored.delivered_at is None
    assert stored.last_error is None and stored.last_response is None


async def test_enqueue_keeps_none_test_event_code(store: Store, make_event: MakeEvent) -> None:
    """No test_event_code is stored and read back as None."""
    [result] = await store.enqueue([make_event("a1")], now_s=T0)
    assert (await _status(store, result.id)).test_event_code is None


async def test_enqueue_answers_in_order_with_distinct_ids(
    store: Store, make_event: MakeEvent
) -> None:
    """Each event gets its own id, and results follow the input order."""
    results = await store.enqueue([make_event(f"e{i}") for i in range(5)], now_s=T0)
    assert [r.status for r in results] == ["queued"] * 5
    assert len({r.id for r in results}) == 5
    for i, result in enumerate(results):
        assert (await _status(store, result.id)).event_id == f"e{i}"


async def test_enqueue_nothing_returns_nothing(store: Store) -> None:
    """An empty batch is a no-op."""
    assert await store.enqueue([], now_s=T0) == []


async def test_duplicate_across_calls_points_to_original(
    store: Store, make_event: MakeEvent
) -> None:
    """The same (pixel, event_name, event_id) again is a duplicate of the first, not stored."""
    [first] = await store.enqueue([make_event("dup")], now_s=T0)
    [again] = await store.enqueue([make_event("dup", payload={"other": 1})], now_s=T0 + 10)
    assert (again.status, again.id) == ("duplicate", first.id)
    assert len(await store.list_events()) == 1
    assert (await _status(store, first.id)).payload == make_event("dup").payload


async def test_duplicate_within_one_batch(store: Store, make_event: MakeEvent) -> None:
    """A key repeated inside one enqueue call is stored once."""
    results = await store.enqueue([make_event("x"), make_event("y"), make_event("x")], now_s=T0)
    assert [r.status for r in results] == ["queued", "queued", "duplicate"]
    assert results[2].id == results[0].id
    assert len(await store.list_events()) == 2


async def test_dedup_key_includes_pixel_and_event_name(store: Store, make_event: MakeEvent) -> None:
    """One event_id under another event_name or pixel is a different event."""
    results = await store.enqueue(
        [
            make_event("same"),
            make_event("same", event_name="Purchase"),
            make_event("same", pixel_id="999"),
        ],
        now_s=T0,
    )
    assert [r.status for r in results] == ["queued"] * 3


async def test_dedup_holds_for_the_whole_window(store: Store, make_event: MakeEvent) -> None:
    """A purge just inside 48 hours forgets nothing; the key is still refused."""
    [first] = await store.enqueue([make_event("k")], now_s=T0)
    assert await store.purge(now_s=T0 + DEDUP_WINDOW_S - 1) == 0
    [again] = await store.enqueue([make_event("k")], now_s=T0 + DEDUP_WINDOW_S - 1)
    assert (again.status, again.id) == ("duplicate", first.id)


async def test_purged_key_is_accepted_again(store: Store, make_event: MakeEvent) -> None:
    """After the window and a purge the key is new; the old record stays in the log."""
    [first] = await store.enqueue([make_event("k")], now_s=T0)
    assert await store.purge(now_s=T0 + DEDUP_WINDOW_S + 1) == 1
    [again] = await store.enqueue([make_event("k")], now_s=T0 + DEDUP_WINDOW_S + 1)
    assert again.status == "queued" and again.id != first.id
    assert await store.get(first.id) is not None
    assert await store.purge(now_s=T0 + DEDUP_WINDOW_S + 1) == 0


async def test_purge_frees_every_old_key_in_bounded_batches(
    store: Store, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purge larger than one batch keeps going until every old key is free."""
    monkeypatch.setattr("capigate.store.rows.PURGE_BATCH_KEYS", 2)
    await _enqueue_n(store, make_event, 5)
    assert await store.purge(now_s=T0 + DEDUP_WINDOW_S + 1) == 5
    again = await store.enqueue([make_event("e0"), make_event("e4")], now_s=T0 + DEDUP_WINDOW_S)
    assert [r.status for r in again] == ["queued", "queued"]


# --- leasing --------------------------------------------------------------------------------


async def test_lease_takes_due_events_oldest_first(store: Store, make_event: MakeEvent) -> None:
    """A lease returns up to max_events, the earliest enqueued first, marked leased."""
    old = await store.enqueue([make_event("old")], now_s=T0 - 5)
    new = await _enqueue_n(store, make_event, 3)
    batch = await store.lease_batch(worker_id="w1", now_s=T0, lease_s=LEASE_S, max_events=2)
    assert batch is not None
    assert [e.id for e in batch.events] == sorted([old[0].id, new[0]])
    assert batch.lease_expires_at == T0 + LEASE_S
    for event in batch.events:
        stored = await _status(store, event.id)
        assert stored.status is Status.LEASED
        assert (stored.lease_owner, stored.lease_expires_at) == ("w1", T0 + LEASE_S)


async def test_leased_event_is_what_delivery_needs_of_its_record(
    store: Store, make_event: MakeEvent
) -> None:
    """Each leased event is a LeasedEvent whose fields equal those of the stored record."""
    await store.enqueue([make_event("t1", test_event_code="TEST9")], now_s=T0)
    other = make_event("n1", event_time=1_763_700_000, action_source="app")
    await store.enqueue([other], now_s=T0 + 1)
    leased = await _lease(store, now_s=T0 + 2) + await _lease(store, now_s=T0 + 2)
    assert len(leased) == 2
    for event in leased:
        assert type(event) is LeasedEvent
        stored = await _status(store, event.id)
        assert stored.leased() == event
        for name in LeasedEvent._fields:
            assert getattr(event, name) == getattr(stored, name), name
    assert {e.test_event_code for e in leased} == {"TEST9", None}


async def test_leased_event_counts_attempts_spent(store: Store, make_event: MakeEvent) -> None:
    """A retried event comes back from its next lease with the attempts it spent so far."""
    [event_id] = await _enqueue_n(store, make_event, 1)
    await _lease(store)
    await store.schedule_retry([event_id], now_s=T0 + 1, retry_at_s=T0 + 10, error={"c": 1})
    [again] = await _lease(store, now_s=T0 + 10)
    assert (again.id, again.attempts) == (event_id, 1)


async def test_leased_payload_is_json_text_of_the_event(
    store: Store, make_event: MakeEvent
) -> None:
    """A leased event's payload_json is JSON text of the enqueued payload (spliced as is)."""
    event = make_event("raw1")
    await store.enqueue([event], now_s=T0)
    [leased] = await _lease(store)
    assert isinstance(leased.payload_json, str)
    assert orjson.loads(leased.payload_json) == event.payload == leased.payload


async def test_lease_of_empty_store_is_none(store: Store) -> None:
    """Nothing due, no batch."""
    assert await store.lease_batch(worker_id="w1", now_s=T0, lease_s=LEASE_S) is None


async def test_lease_groups_by_pixel_and_test_event_code(
    store: Store, make_event: MakeEvent
) -> None:
    """A batch never mixes pixels or test event codes; each group comes out whole."""
    await _enqueue_n(store, make_event, 2, pixel_id="111")
    await _enqueue_n(store, make_event, 2, pixel_id="222")
    await _enqueue_n(store, make_event, 2, pixel_id="111", test_event_code="TEST1")
    groups = []
    while batch := await store.lease_batch(worker_id="w1", now_s=T0, lease_s=LEASE_S):
        assert {(e.pixel_id, e.test_event_code) for e in batch.events} == {
            (batch.pixel_id, batch.test_event_code)
        }
        groups.append((batch.pixel_id, batch.test_event_code, len(batch.events)))
    assert sorted(groups, key=str) == sorted(
        [("111", None, 2), ("222", None, 2), ("111", "TEST1", 2)], key=str
    )


async def test_lease_takes_the_longest_due_group_first(store: Store, make_event: MakeEvent) -> None:
    """Groups are leased by how long their oldest event has been due, not by pixel order."""
    await store.enqueue([make_event("a", pixel_id="111")], now_s=T0)
    await store.enqueue([make_event("b", pixel_id="222")], now_s=T0 - 10)
    await store.enqueue([make_event("c", pixel_id="111", test_event_code="T1")], now_s=T0 - 5)
    order = []
    while batch := await store.lease_batch(worker_id="w1", now_s=T0, lease_s=LEASE_S):
        order.append((batch.pixel_id, batch.test_event_code))
    assert order == [("222", None), ("111", "T1"), ("111", None)]


async def test_leased_event_is_not_leased_again(store: Store, make_event: MakeEvent) -> None:
    """While its lease runs, an event belongs to one worker only."""
    await _enqueue_n(store, make_event, 3)
    assert len(await _lease(store)) == 3
    assert await _lease(store, now_s=T0 + LEASE_S - 1) == []


async def test_expired_lease_is_leased_again(store: Store, make_event: MakeEvent) -> None:
    """A worker that never answers loses its lease; another worker gets the events."""
    ids = await _enqueue_n(store, make_event, 2)
    await _lease(store)
    batch = await store.lease_batch(worker_id="w2", now_s=T0 + LEASE_S, lease_s=LEASE_S)
    assert batch is not None
    assert sorted(e.id for e in batch.events) == sorted(ids)
    assert {(await _status(store, e.id)).lease_owner for e in batch.events} == {"w2"}
    assert {e.attempts for e in batch.events} == {0}


async def test_concurrent_leases_never_share_an_event(store: Store, make_event: MakeEvent) -> None:
    """Many workers leasing at once get disjoint events and together get all of them."""
    ids = await _enqueue_n(store, make_event, 40)
    batches = await asyncio.gather(
        *(
            store.lease_batch(worker_id=f"w{i}", now_s=T0, lease_s=LEASE_S, max_events=7)
            for i in range(8)
        )
    )
    leased = [e.id for b in batches if b is not None for e in b.events]
    assert len(leased) == len(set(leased))
    while more := await _lease(store):
        leased.extend(e.id for e in more)
    assert sorted(leased) == sorted(ids)


async def test_young_partial_group_waits_for_min_age(store: Store, make_event: MakeEvent) -> None:
    """A group below max_events is held until its oldest event waited the flush interval."""
    await _enqueue_n(store, make_event, 3)
    assert await _lease(store, now_s=T0 + 0.5, max_events=10, min_age_s=1.0) == []
    assert len(await _lease(store, now_s=T0 + 1.0, max_events=10, min_age_s=1.0)) == 3


async def test_full_group_goes_before_min_age(store: Store, make_event: MakeEvent) -> None:
    """A group with max_events due events is leased at once, even if younger than min_age."""
    await _enqueue_n(store, make_event, 2, pixel_id="111")
    full = await _enqueue_n(store, make_event, 4, pixel_id="222")
    leased = await _lease(store, max_events=4, min_age_s=60.0)
    assert sorted(e.id for e in leased) == sorted(full)


async def test_lease_filters_by_pixel(store: Store, make_event: MakeEvent) -> None:
    """pixel_id restricts the lease to one pixel; exclude_pixel_ids skips pixels."""
    await _enqueue_n(store, make_event, 2, pixel_id="111")
    two = await _enqueue_n(store, make_event, 2, pixel_id="222")
    only = await _lease(store, pixel_id="222")
    assert sorted(e.id for e in only) == sorted(two)
    await _enqueue_n(store, make_event, 1, pixel_id="333")
    rest = await _lease(store, exclude_pixel_ids=["111"])
    assert {e.pixel_id for e in rest} == {"333"}
    assert await _lease(store, exclude_pixel_ids=["111", "333"]) == []


# --- outcomes -------------------------------------------------------------------------------


async def test_ack_marks_delivered_and_counts_the_attempt(
    store: Store, make_event: MakeEvent
) -> None:
    """Acknowledged events are delivered, with Meta's answer and the time."""
    ids = await _enqueue_n(store, make_event, 2)
    await _lease(store)
    response = {"events_received": 2, "fbtrace_id": "AbC"}
    assert await store.ack(ids, now_s=T0 + 1, response=response) == 2
    for event_id in ids:
        event = await _status(store, event_id)
        assert event.status is Status.DELIVERED
        assert (event.attempts, event.delivered_at, event.last_response) == (1, T0 + 1, response)
        assert event.next_attempt_at is None and event.lease_expires_at is None
        assert event.lease_owner == "w1"  # kept for the record
    assert await _lease(store, now_s=T0 + 3600) == []


async def test_retry_is_not_due_before_retry_at(store: Store, make_event: MakeEvent) -> None:
    """A retry waits for retry_at, keeps the error, and counts each attempt."""
    [event_id] = await _enqueue_n(store, make_event, 1)
    error = {"status": 503, "code": 2, "subcode": None, "message": "down", "fbtrace_id": "x"}
    await _lease(store)
    assert await store.schedule_retry([event_id], now_s=T0 + 1, retry_at_s=T0 + 100, error=error)
    event = await _status(store, event_id)
    assert (event.status, event.attempts, event.last_error) == (Status.RETRY, 1, error)
    assert event.next_attempt_at == T0 + 100
    assert await _lease(store, now_s=T0 + 99) == []
    [again] = await _lease(store, now_s=T0 + 100)
    assert again.id == event_id
    await store.schedule_retry([event_id], now_s=T0 + 101, retry_at_s=T0 + 200, error=error)
    assert (await _status(store, event_id)).attempts == 2


async def test_dead_letter_keeps_metas_error(store: Store, make_event: MakeEvent) -> None:
    """A dead letter keeps code, subcode and message, counts the attempt, leaves the outbox."""
    [event_id] = await _enqueue_n(store, make_event, 1)
    await _lease(store)
    error = {"status": 400, "code": 100, "subcode": 2804019, "message": "bad", "fbtrace_id": "t"}
    assert await store.dead_letter([event_id], now_s=T0 + 1, error=error) == 1
    event = await _status(store, event_id)
    assert (event.status, event.attempts, event.last_error) == (Status.DEAD, 1, error)
    assert await store.outbox_depth() == 0
    assert await _lease(store, now_s=T0 + 3600) == []


async def test_expire_records_reason_without_an_attempt(
    store: Store, make_event: MakeEvent
) -> None:
    """An expired event says why and counts no attempt."""
    [event_id] = await _enqueue_n(store, make_event, 1)
    await _lease(store)
    assert await store.expire([event_id], now_s=T0 + 1, reason="older than 7 days") == 1
    event = await _status(store, event_id)
    assert (event.status, event.attempts, event.reason) == (Status.EXPIRED, 0, "older than 7 days")


async def test_release_requeues_without_an_attempt(store: Store, make_event: MakeEvent) -> None:
    """Released events are queued again at once, their attempts untouched."""
    ids = await _enqueue_n(store, make_event, 2)
    await _lease(store)
    assert await store.release(ids) == 2
    assert {(await _status(store, i)).status for i in ids} == {Status.QUEUED}
    leased = await _lease(store, now_s=T0 + 1)
    assert sorted(e.id for e in leased) == sorted(ids)
    assert {e.attempts for e in leased} == {0}


async def test_release_until_a_later_time(store: Store, make_event: MakeEvent) -> None:
    """With available_at_s, released events stay queued but not due until then."""
    ids = await _enqueue_n(store, make_event, 2)
    await _lease(store)
    assert await store.release(ids, available_at_s=T0 + 300) == 2
    assert await _lease(store, now_s=T0 + 299) == []
    assert len(await _lease(store, now_s=T0 + 300)) == 2


async def test_requeue_replays_dead_letters(store: Store, make_event: MakeEvent) -> None:
    """A replayed dead letter is queued again with its event_id and a fresh attempt count."""
    [event_id] = await _enqueue_n(store, make_event, 1)
    await _lease(store)
    await store.dead_letter([event_id], now_s=T0 + 1, error={"code": 100})
    assert await store.requeue([event_id], now_s=T0 + 50) == 1
    event = await _status(store, event_id)
    assert (event.status, event.attempts, event.next_attempt_at) == (Status.QUEUED, 0, T0 + 50)
    [leased] = await _lease(store, now_s=T0 + 50)
    assert (leased.id, leased.attempts) == (event_id, 0)
    assert (await _status(store, event_id)).event_id == event.event_id


async def test_requeue_touches_only_dead_events(store: Store, make_event: MakeEvent) -> None:
    """Replaying a queued or delivered event changes nothing."""
    ids = await _enqueue_n(store, make_event, 2)
    await _lease(store)
    await store.ack([ids[0]], now_s=T0 + 1, response=None)
    assert await store.requeue(ids, now_s=T0 + 2) == 0
    assert (await _status(store, ids[0])).status is Status.DELIVERED


async def test_outcomes_apply_only_to_leased_events(store: Store, make_event: MakeEvent) -> None:
    """A late answer never undoes a final status, and queued events are left alone."""
    ids = await _enqueue_n(store, make_event, 1)
    assert await store.ack(ids, now_s=T0, response=None) == 0
    await _lease(store)
    await store.ack(ids, now_s=T0 + 1, response={"events_received": 1})
    assert await store.schedule_retry(ids, now_s=T0 + 2, retry_at_s=T0 + 9, error={}) == 0
    assert await store.dead_letter(ids, now_s=T0 + 2, error={}) == 0
    assert await store.expire(ids, now_s=T0 + 2, reason="late") == 0
    assert await store.release(ids) == 0
    event = await _status(store, ids[0])
    assert (event.status, event.attempts) == (Status.DELIVERED, 1)


async def test_outcome_on_unknown_id_changes_nothing(store: Store) -> None:
    """Ids that do not exist are ignored."""
    assert await store.ack([424242], now_s=T0, response=None) == 0


# --- reading --------------------------------------------------------------------------------


async def test_get_unknown_is_none(store: Store) -> None:
    """An id never stored reads as None."""
    assert await store.get(424242) is None


async def test_list_events_filters_and_pages(store: Store, make_event: MakeEvent) -> None:
    """Filters combine; results are newest first; before_id pages on."""
    web = await _enqueue_n(store, make_event, 3, source="web")
    bot = await _enqueue_n(store, make_event, 2, source="bot", event_name="StartBot")
    assert [e.id for e in await store.list_events()] == sorted(web + bot, reverse=True)
    assert [e.id for e in await store.list_events(source="bot")] == sorted(bot, reverse=True)
    assert await store.list_events(source="bot", event_name="Lead") == []
    page = await store.list_events(source="web", limit=2)
    rest = await store.list_events(source="web", before_id=page[-1].id)
    assert [e.id for e in page + rest] == sorted(web, reverse=True)
    assert await store.list_events(pixel_id="nope") == []


async def test_list_events_by_status(store: Store, make_event: MakeEvent) -> None:
    """Listing by status finds the dead letters for replay."""
    ids = await _enqueue_n(store, make_event, 3)
    await _lease(store)
    await store.dead_letter(ids[:1], now_s=T0 + 1, error={"code": 100})
    await store.expire(ids[1:2], now_s=T0 + 1, reason="too old")
    assert [e.id for e in await store.list_events(status="dead")] == ids[:1]
    assert [e.id for e in await store.list_events(status="expired")] == ids[1:2]
    assert [e.id for e in await store.list_events(status=Status.LEASED)] == ids[2:]


async def test_stats_count_by_status_and_event_name(store: Store, make_event: MakeEvent) -> None:
    """Stats count every status (zeros included), per event name, and the outbox depth."""
    ids = await _enqueue_n(store, make_event, 3)
    await _enqueue_n(store, make_event, 1, event_name="Purchase")
    await store.enqueue([make_event("later")], now_s=T0 + 5)
    leased = [e.id for e in await _lease(store, max_events=3)]
    await store.ack(leased[:1], now_s=T0 + 1, response=None)
    await store.schedule_retry(leased[1:2], now_s=T0 + 1, retry_at_s=T0 + 60, error={})
    stats = await store.stats()
    assert stats.by_status == {
        "queued": 2, "leased": 1, "delivered": 1, "retry": 1, "dead": 0, "expired": 0,
    }  # fmt: skip
    assert stats.outbox_depth == 4
    assert stats.by_event_name == {
        "Lead": {"queued": 1, "leased": 1, "delivered": 1, "retry": 1},
        "Purchase": {"queued": 1},
    }
    assert stats.oldest_queued_created_at == T0
    assert leased == ids


async def test_stats_of_empty_store(store: Store) -> None:
    """An empty store reports zeros and no oldest event."""
    stats = await store.stats()
    assert set(stats.by_status.values()) == {0}
    assert (stats.outbox_depth, stats.oldest_queued_created_at, stats.by_event_name) == (
        0,
        None,
        {},
    )


async def test_outbox_depth_counts_what_is_still_on_its_way(
    store: Store, make_event: MakeEvent
) -> None:
    """Queued, leased and retry events count; delivered, dead and expired do not."""
    ids = await _enqueue_n(store, make_event, 5)
    assert await store.outbox_depth() == 5
    await _lease(store, max_events=4)
    await store.ack(ids[:1], now_s=T0, response=None)
    await store.schedule_retry(ids[1:2], now_s=T0, retry_at_s=T0 + 60, error={})
    await store.dead_letter(ids[2:3], now_s=T0, error={})
    await store.expire(ids[3:4], now_s=T0, reason="old")
    assert await store.outbox_depth() == 2
    await store.requeue(ids[2:3], now_s=T0)
    assert await store.outbox_depth() == 3


async def test_migrate_twice_is_a_no_op(store: Store, make_event: MakeEvent) -> None:
    """Migrations already applied are not applied again, and data survives."""
    await store.enqueue([make_event()], now_s=T0)
    assert await store.migrate() == []
    assert len(await store.list_events()) == 1


# --- several processes on one PostgreSQL ----------------------------------------------------


@pytest.mark.postgres
async def test_two_processes_enqueue_one_key_once(make_event: MakeEvent) -> None:
    """Two gateways inserting the same key at the same moment: exactly one queued."""
    async with pg_schema_url() as url:
        stores = [open_store(url) for _ in range(2)]
        await stores[0].migrate()
        try:
            for round_ in range(5):
                event = make_event(f"race{round_}")
                calls = [s.enqueue([event], now_s=T0) for s in stores for _ in range(3)]
                results = [r for rs in await asyncio.gather(*calls) for r in rs]
                assert [r.status for r in results].count("queued") == 1
                assert len({r.id for r in results}) == 1
        finally:
            for s in stores:
                await s.close()


@pytest.mark.postgres
async def test_two_processes_never_lease_one_event(make_event: MakeEvent) -> None:
    """Workers in two processes leasing at once get disjoint events."""
    async with pg_schema_url() as url:
        stores = [open_store(url) for _ in range(2)]
        await stores[0].migrate()
        try:
            ids = await _enqueue_n(stores[0], make_event, 60)
            calls = [
                s.lease_batch(worker_id=f"w{i}", now_s=T0, lease_s=LEASE_S, max_events=10)
                for i, s in enumerate(stores * 4)
            ]
            leased = [e.id for b in await asyncio.gather(*calls) if b for e in b.events]
            assert len(leased) == len(set(leased))
            assert set(leased) <= set(ids)
        finally:
            for s in stores:
                await s.close()
