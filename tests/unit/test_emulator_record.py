"""What the emulator records (GET /__emulator__/events, /requests) and its 48 h dedup simulation."""

from __future__ import annotations

import pytest

from capigate.clock import FrozenClock
from capigate.emulator import EmulatorConfig
from capigate.emulator.state import EmulatorState
from tests.unit.emulator_kit import (
    NOW_S,
    client_for,
    event,
    make_app,
    post_events,
)

EVENTS = "/__emulator__/events"
HOUR_S = 3_600


async def test_events_are_recorded_as_received_plus_metadata() -> None:
    """Each event comes back exactly as sent, plus pixel_id, test_event_code, received_at."""
    sent = event()
    async with client_for(make_app()) as client:
        await post_events(client, [sent], path="/v25.0/42/events", test_event_code="T9")
        recorded = (await client.get(EVENTS)).json()
    assert recorded["requests"] == 1
    [got] = recorded["events"]
    extra = {"pixel_id": "42", "test_event_code": "T9", "received_at": NOW_S, "deduplicated": False}
    assert got == {**sent, **extra}


async def test_requests_count_includes_rejected_requests() -> None:
    """``requests`` counts every Graph request, accepted or not."""
    async with client_for(make_app()) as client:
        await post_events(client, [event()])
        await post_events(client, [event(user_data={})])
        await post_events(client, [event()], token=None)
        recorded = (await client.get(EVENTS)).json()
    assert recorded["requests"] == 3
    assert len(recorded["events"]) == 1


async def test_filter_by_pixel_and_test_event_code() -> None:
    """``?pixel_id=`` and ``?test_event_code=`` narrow the record."""
    async with client_for(make_app()) as client:
        await post_events(client, [event(event_id="a")], path="/v25.0/1/events")
        await post_events(
            client, [event(event_id="b")], path="/v25.0/2/events", test_event_code="T"
        )
        by_pixel = (await client.get(EVENTS, params={"pixel_id": "2"})).json()["events"]
        by_code = (await client.get(EVENTS, params={"test_event_code": "T"})).json()["events"]
    assert [e["event_id"] for e in by_pixel] == ["b"]
    assert [e["event_id"] for e in by_code] == ["b"]


async def test_delete_resets_record_count_and_dedup() -> None:
    """DELETE /events forgets events, the request count and the dedup keys."""
    async with client_for(make_app()) as client:
        await post_events(client, [event()])
        assert (await client.delete(EVENTS)).status_code == 200
        emptied = (await client.get(EVENTS)).json()
        await post_events(client, [event()])
        again = (await client.get(EVENTS)).json()
    assert emptied == {"requests": 0, "events": []}
    assert again["events"][0]["deduplicated"] is False


async def test_request_log_lists_status_error_and_counts() -> None:
    """GET /requests shows each request's status, event count, error and trace id."""
    async with client_for(make_app()) as client:
        ok = await post_events(client, [event(), event(event_id="x")], test_event_code="T1")
        bad = await post_events(client, [event(event_name=None)])
        log = (await client.get("/__emulator__/requests")).json()["requests"]
    assert [entry["status"] for entry in log] == [200, 400]
    assert log[0]["events"] == 2
    assert log[0]["test_event_code"] == "T1"
    assert log[0]["fbtrace_id"] == ok.json()["fbtrace_id"]
    assert log[1]["error"]["error_subcode"] == 2804019
    assert log[1]["fbtrace_id"] == bad.json()["error"]["fbtrace_id"]
    assert "access_token" not in str(log)


async def test_access_token_is_never_recorded() -> None:
    """The token appears nowhere in what the emulator recorded."""
    async with client_for(make_app()) as client:
        await post_events(client, [event()], token="very-secret-token")
        await post_events(client, [event(user_data={})], token="very-secret-token")
        dump = (await client.get(EVENTS)).text + (await client.get("/__emulator__/requests")).text
    assert "very-secret-token" not in dump


@pytest.mark.parametrize(
    ("later_s", "duplicate"),
    [(0, True), (47 * HOUR_S, True), (48 * HOUR_S, False), (49 * HOUR_S, False)],
)
async def test_dedup_window_is_48h_from_first_receipt(later_s: int, duplicate: bool) -> None:
    """The same (pixel, event_name, event_id) within 48 h of first receipt is a duplicate."""
    clock = FrozenClock(NOW_S)
    async with client_for(make_app(clock=clock)) as client:
        await post_events(client, [event()])
        clock.advance(later_s)
        response = await post_events(client, [event(event_time=int(clock()) - 10)])
        recorded = (await client.get(EVENTS)).json()["events"]
    assert response.json()["events_received"] == 1  # not an error
    assert recorded[-1]["deduplicated"] is duplicate


async def test_window_counts_from_first_receipt_not_last() -> None:
    """Re-sending inside the window does not extend it."""
    clock = FrozenClock(NOW_S)
    async with client_for(make_app(clock=clock)) as client:
        for _ in range(3):
            await post_events(client, [event(event_time=int(clock()) - 10)])
            clock.advance(24 * HOUR_S)
        flags = [e["deduplicated"] for e in (await client.get(EVENTS)).json()["events"]]
    assert flags == [False, True, False]


@pytest.mark.parametrize(
    ("second", "path"),
    [
        pytest.param(event(event_name="Purchase", custom_data={"value": 1, "currency": "USD"}),
                     "/v25.0/1234567890/events", id="other-event-name"),
        pytest.param(event(event_id="lead-2"), "/v25.0/1234567890/events", id="other-event-id"),
        pytest.param(event(), "/v25.0/999/events", id="other-pixel"),
        pytest.param(event(event_id=None), "/v25.0/1234567890/events", id="no-event-id"),
    ],
)  # fmt: skip
async def test_dedup_key_is_pixel_name_and_id(second: dict[str, object], path: str) -> None:
    """Events differing in pixel, event_name or event_id (or without one) are not duplicates."""
    async with client_for(make_app()) as client:
        await post_events(client, [event()])
        await post_events(client, [second], path=path)
        flags = [e["deduplicated"] for e in (await client.get(EVENTS)).json()["events"]]
    assert flags == [False, False]


async def test_duplicates_within_one_batch() -> None:
    """A second copy in the same batch is marked; the request still counts both."""
    async with client_for(make_app()) as client:
        response = await post_events(client, [event(), event()])
        log = (await client.get("/__emulator__/requests")).json()["requests"]
    assert response.json()["events_received"] == 2
    assert log[0]["deduplicated"] == 1


async def test_business_messaging_is_never_deduplicated() -> None:
    """Meta does not dedup business-messaging events (spec §6.3)."""
    bm = event(event_name="Purchase", action_source="business_messaging", event_source_url=None,
               messaging_channel="whatsapp", custom_data={"value": 5, "currency": "USD"},
               user_data={"whatsapp_business_account_id": "1", "ctwa_clid": "AR1"})  # fmt: skip
    async with client_for(make_app()) as client:
        await post_events(client, [bm, bm])
        flags = [e["deduplicated"] for e in (await client.get(EVENTS)).json()["events"]]
    assert flags == [False, False]


def test_record_keeps_the_newest_events_within_its_bound() -> None:
    """Past max_events the oldest batches are dropped; the request count is kept."""
    state = EmulatorState(dedup_window_s=60, max_events=3)
    for index in range(4):
        state.accept("1", None, [{"event_name": "E", "event_id": str(index)}] * 2, NOW_S)
    assert [e["event_id"] for e in state.events()] == ["3", "3"]


def test_dedup_keys_expire_from_memory() -> None:
    """Keys older than the window are pruned, so memory stays bounded."""
    state = EmulatorState(dedup_window_s=60)
    events = [{"event_name": "E", "event_id": str(i)} for i in range(2_000)]
    state.accept("1", None, events, NOW_S)
    state.accept("1", None, [{"event_name": "E", "event_id": "new"}], NOW_S + 120)
    assert state.dedup_key_count() == 1


async def test_configured_dedup_window() -> None:
    """The dedup window is a setting."""
    clock = FrozenClock(NOW_S)
    async with client_for(make_app(EmulatorConfig(dedup_window_s=60), clock=clock)) as client:
        await post_events(client, [event()])
        clock.advance(61)
        await post_events(client, [event()])
        flags = [e["deduplicated"] for e in (await client.get(EVENTS)).json()["events"]]
    assert flags == [False, False]
