"""LeasedEvent: the light record a lease hands the worker, built by position from store rows."""

from __future__ import annotations

import orjson

from capigate.store import LeasedEvent, Status, StoredEvent
from capigate.store.rows import leased_events

ROW = (7, "111", None, 1_763_799_000, "website", 2, '{"event_name":"Lead"}')


def test_rows_become_leased_events_field_by_position() -> None:
    """Each row of the lease query's columns is a LeasedEvent with the fields in that order."""
    [event] = leased_events([ROW])
    assert type(event) is LeasedEvent
    assert (event.id, event.pixel_id, event.test_event_code) == (7, "111", None)
    assert (event.event_time, event.action_source, event.attempts) == (1_763_799_000, "website", 2)
    assert event.payload_json == ROW[6]


def test_leased_events_keep_row_order() -> None:
    """Rows come out in the order read (the queries order them by id)."""
    rows = [(i, *ROW[1:]) for i in (3, 1, 2)]
    assert [event.id for event in leased_events(rows)] == [3, 1, 2]
    assert leased_events([]) == []


def test_leased_payload_decodes_the_json_text() -> None:
    """``payload`` is the stored JSON text decoded, as StoredEvent.payload is."""
    [event] = leased_events([ROW])
    assert event.payload == {"event_name": "Lead"}


def test_stored_event_leased_keeps_what_delivery_needs() -> None:
    """StoredEvent.leased() (the memory store's lease) copies the seven delivery fields."""
    stored = StoredEvent(
        id=9,
        pixel_id="222",
        event_name="Purchase",
        event_id="p1",
        event_time=1_763_799_500,
        action_source="app",
        source="web",
        plan_key=None,
        test_event_code="TEST1",
        payload_json=orjson.dumps({"event_name": "Purchase"}).decode(),
        match_score=5,
        warnings=[],
        status=Status.LEASED,
        attempts=3,
        next_attempt_at=None,
        lease_owner="w",
        lease_expires_at=None,
        created_at=0.0,
        updated_at=0.0,
        delivered_at=None,
        last_error=None,
        last_response=None,
        reason=None,
    )
    assert stored.leased() == LeasedEvent(
        9, "222", "TEST1", 1_763_799_500, "app", 3, '{"event_name":"Purchase"}'
    )
