"""POST /api/marketing/meta in-process: 202 after storing, dedup, all-or-nothing, problems."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from capigate.errors import StoreError
from capigate.store import InMemoryStore, NewEvent
from tests.unit.web_kit import (
    BOT_KEY,
    INGEST,
    PIXEL_ID,
    bearer,
    bot_event,
    live_settings,
    problem,
    running,
    sandbox_settings,
    web_event,
)


async def test_one_event_is_stored_hashed_then_acknowledged() -> None:
    """202 lists the event as queued; the store holds Meta's payload with hashed PII."""
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        stored = await h.stored()
    assert response.status_code == 202, response.text
    (result,) = response.json()["results"]
    assert result == {
        "index": 0,
        "status": "queued",
        "event_id": "startbot_279058397",
        "event_name": "Start_Bot",
        "warnings": result["warnings"],
    }
    (event,) = stored
    assert (event.pixel_id, event.source, event.plan_key) == (PIXEL_ID, "bot", "start_bot")
    user_data = event.payload["user_data"]
    assert len(user_data["ph"][0] if isinstance(user_data["ph"], list) else user_data["ph"]) == 64
    assert "998" not in json.dumps(event.payload)
    assert all(set(w) <= {"path", "rule", "spec"} for w in event.warnings)


async def test_the_same_event_twice_is_a_duplicate() -> None:
    """The second copy answers duplicate and is not stored again."""
    async with running(live_settings()) as h:
        first = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        second = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
        stored = await h.stored()
    assert first.json()["results"][0]["status"] == "queued"
    assert second.status_code == 202
    assert second.json()["results"][0]["status"] == "duplicate"
    assert len(stored) == 1


async def test_a_batch_answers_per_event_in_order() -> None:
    """A batch gets one result per event, duplicates within it included."""
    batch = {"batch": [bot_event("1"), bot_event("2"), bot_event("1")]}
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=batch, headers=bearer(BOT_KEY))
    results = response.json()["results"]
    assert [(r["index"], r["status"], r["event_id"]) for r in results] == [
        (0, "queued", "startbot_1"),
        (1, "queued", "startbot_2"),
        (2, "duplicate", "startbot_1"),
    ]


async def test_one_invalid_event_refuses_the_whole_batch() -> None:
    """422 lists every finding with its JSONPath in the body; nothing is stored."""
    bad_time = bot_event("3", event_time="yesterday")
    no_id = {"event": "start_bot", "user": {}}
    batch = {"batch": [bot_event("1"), bad_time, no_id]}
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=batch, headers=bearer(BOT_KEY))
        stored = await h.stored()
    document = problem(response, 422)
    assert document["type"] == "urn:capigate:problem:invalid-events"
    found = {(e["path"], e["rule"]) for e in document["errors"]}
    assert ("$.batch[1].event_time", "event_time_type") in found
    assert ("$.batch[2].user.telegram_id", "event_id_variable") in found
    assert not any(
        e["path"].startswith("$.batch[0]") and e["severity"] == "error" for e in document["errors"]
    )
    assert stored == []


async def test_pipeline_findings_point_at_the_callers_field() -> None:
    """A Meta-rule error on user_data is reported at the ingest field the caller sent."""
    event = bot_event(event_time=1_763_800_000 - 8 * 86_400)
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json=event, headers=bearer(BOT_KEY))
    document = problem(response, 422)
    assert any(e["path"] == "$.event_time" for e in document["errors"]), document


async def test_unknown_event_key_names_the_valid_keys() -> None:
    """An unknown plan key is a 422 whose document lists the valid keys."""
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, json={"event": "nope"}, headers=bearer(BOT_KEY))
        keys = list(h.app.state.gateway.ingestor.plan.keys)
    document = problem(response, 422)
    assert document["type"] == "urn:capigate:problem:unknown-event"
    assert document["valid_keys"] == keys
    assert "start_bot" in document["detail"]
    assert document["errors"][0]["path"] == "$.event"


async def test_malformed_json_is_400() -> None:
    """A body that is not JSON is a 400 problem document."""
    async with running(live_settings()) as h:
        for body in (b"{bad", b"", b"   ", b"\xff\xfe"):
            response = await h.client.post(INGEST, content=body, headers=bearer(BOT_KEY))
            assert problem(response, 400)["type"] == "urn:capigate:problem:malformed-json"


async def test_body_shapes_that_are_not_events_are_422() -> None:
    """Arrays, scalars, empty or oversized batches and extra keys beside batch are refused."""
    bodies: list[Any] = [
        [bot_event()],
        "event",
        {"batch": []},
        {"batch": "x"},
        {"batch": [bot_event()] * 1001},
        {"batch": [bot_event()], "context": {}},
        {"batch": [1, None]},
    ]
    async with running(live_settings(max_body_bytes=10_000_000)) as h:
        for body in bodies:
            response = await h.client.post(INGEST, json=body, headers=bearer(BOT_KEY))
            assert problem(response, 422)["errors"], body


async def test_declared_oversized_body_is_413() -> None:
    """A Content-Length above the limit is refused before reading."""
    async with running(live_settings(max_body_bytes=2_048)) as h:
        body = json.dumps({"batch": [bot_event(str(i)) for i in range(40)]}).encode()
        response = await h.client.post(INGEST, content=body, headers=bearer(BOT_KEY))
        assert problem(response, 413)["detail"].endswith("2048 bytes.")
        assert await h.stored() == []


async def test_streamed_oversized_body_is_413() -> None:
    """A chunked body without Content-Length is cut off once it passes the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"batch": ['
        for i in range(100):
            yield json.dumps(bot_event(str(i))).encode() + b","
        yield b"{}]}"

    async with running(live_settings(max_body_bytes=2_048)) as h:
        response = await h.client.post(INGEST, content=chunks(), headers=bearer(BOT_KEY))
        problem(response, 413)


async def test_compressed_bodies_are_refused_with_a_reason() -> None:
    """Content-Encoding is not supported: a clear 400, not a JSON error."""
    headers = {**bearer(BOT_KEY), "Content-Encoding": "gzip"}
    async with running(live_settings()) as h:
        response = await h.client.post(INGEST, content=b"\x1f\x8b", headers=headers)
    assert "Content-Encoding" in problem(response, 400)["detail"]


async def test_outbox_above_high_water_is_503_with_retry_after() -> None:
    """Backpressure: the outbox at its high-water mark refuses new events with Retry-After."""
    async with running(live_settings(outbox_high_water=1, backpressure_retry_after_s=7)) as h:
        first = await h.client.post(INGEST, json=bot_event("1"), headers=bearer(BOT_KEY))
        second = await h.client.post(INGEST, json=bot_event("2"), headers=bearer(BOT_KEY))
        ready = await h.client.get("/readyz")
    assert first.status_code == 202
    assert problem(second, 503)["type"] == "urn:capigate:problem:backpressure"
    assert second.headers["retry-after"] == "7"
    assert ready.status_code == 503
    assert "above the high-water mark" in ready.json()["reasons"][0]


class BrokenStore(InMemoryStore):
    """A store whose writes fail, as a full disk or a lost database would."""

    async def enqueue(self, events: Any, *, now_s: float) -> list[Any]:
        raise StoreError("disk full")


async def test_store_failure_is_503_not_500() -> None:
    """A failing store answers 503 with Retry-After; the event was not acknowledged."""
    async with running(live_settings(), store=BrokenStore()) as h:
        response = await h.client.post(INGEST, json=bot_event(), headers=bearer(BOT_KEY))
    assert problem(response, 503)["type"] == "urn:capigate:problem:store-unavailable"
    assert "retry-after" in response.headers


async def test_sandbox_dev_source_needs_no_key_on_loopback() -> None:
    """In sandbox mode a loopback caller ingests without a key, as the dev source."""
    async with running(sandbox_settings()) as h:
        response = await h.client.post(INGEST, json=web_event())
        stored: list[NewEvent] = await h.stored()  # type: ignore[assignment]
    assert response.status_code == 202, response.text
    assert stored[0].source == "dev"
    assert stored[0].payload["action_source"] == "website"


async def test_test_event_code_comes_from_event_source_or_environment() -> None:
    """context.test_event_code wins, then the source's, the pixel's, the environment's."""
    async with running(live_settings(test_event_code="ENV1")) as h:
        await h.client.post(INGEST, json=bot_event("1"), headers=bearer(BOT_KEY))
        tagged = bot_event("2", context={"test_event_code": "EVT2"})
        await h.client.post(INGEST, json=tagged, headers=bearer(BOT_KEY))
        codes = {e.event_id: e.test_event_code for e in await h.stored()}
    assert codes == {"startbot_1": "ENV1", "startbot_2": "EVT2"}
