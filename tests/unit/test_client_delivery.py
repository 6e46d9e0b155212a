"""Delivery: batches within limits, refused events isolated, 413 split, outages keep order."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from capigate.client import RetryPolicy
from capigate.client.delivery import Outcome, body, chunked, deliver
from capigate.client.events import Pending, encode
from capigate.client.transport import Transport
from capigate.clock import FrozenClock
from tests.unit.client_kit import BASE_URL, KEY, NOW_S, FakeGateway, FakeSleep, finding, problem


def _pending(n: int, **extra: Any) -> Pending:
    return Pending(encode({"event": "start_bot", "event_id": f"e{n}", **extra}), seq=n)


def _ids(events: list[Pending]) -> list[str]:
    return [json.loads(p.data)["event_id"] for p in events]


async def _deliver(gateway: FakeGateway, events: list[Pending], **limits: int) -> Outcome:
    clock = FrozenClock(NOW_S)
    transport = Transport(
        KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        policy=RetryPolicy(attempts=2),
        sleep=FakeSleep(clock),
        random=lambda: 0.5,
        clock=clock,
        transport=httpx.MockTransport(gateway),
    )
    settings = {"max_events": 1000, "max_bytes": 1_000_000, **limits}
    try:
        return await deliver(transport, events, **settings)
    finally:
        await transport.aclose()


def test_chunks_respect_events_and_bytes() -> None:
    """A chunk closes at max_events or before passing max_bytes; one big event still goes."""
    events = [_pending(n) for n in range(5)]
    by_count = [_ids(c) for c in chunked(events, 2, 10_000)]
    assert by_count == [["e0", "e1"], ["e2", "e3"], ["e4"]]
    size = len(events[0].data)
    by_bytes = [_ids(c) for c in chunked(events, 100, 2 * size + 2)]
    assert by_bytes == [["e0", "e1"], ["e2", "e3"], ["e4"]]
    assert [_ids(c) for c in chunked(events[:2], 100, 1)] == [["e0"], ["e1"]]


def test_body_is_the_batch_shape() -> None:
    """Encoded events are joined into {"batch": [...]} without re-encoding."""
    assert json.loads(body([_pending(1), _pending(2)])) == {
        "batch": [
            {"event": "start_bot", "event_id": "e1"},
            {"event": "start_bot", "event_id": "e2"},
        ]
    }


async def test_all_taken_in_order_with_statuses() -> None:
    """Every event is done, with the gateway's per-event status, in order, in <=N batches."""
    gateway = FakeGateway(seen={"e1"})
    outcome = await _deliver(gateway, [_pending(n) for n in range(3)], max_events=2)
    assert [len(b) for b in gateway.batches] == [2, 1]
    assert [r.status for r in outcome.results] == ["queued", "duplicate", "queued"]
    assert _ids(outcome.done) == ["e0", "e1", "e2"]
    assert outcome.unsent == [] and outcome.rejected == []


async def test_refused_events_are_isolated_and_the_rest_resent() -> None:
    """A 422 naming $.batch[1] rejects that event only; the others go in the next request."""
    errors = [
        finding("$.batch[1].properties.language_selected"),
        finding("$.batch[2].context.app", "app_data_fallback", "warning"),
    ]
    gateway = FakeGateway().then(422, problem(422, errors))
    outcome = await _deliver(gateway, [_pending(n) for n in range(3)])
    assert [[e["event_id"] for e in b] for b in gateway.batches] == [["e0", "e2"]]
    [rejected] = outcome.rejected
    assert rejected.status == 422
    assert [e["event_id"] for e in rejected.events] == ["e1"]
    assert [(f.path, f.rule) for f in rejected.findings] == [
        ("$.properties.language_selected", "property_required")
    ]
    assert _ids(outcome.done) == ["e1", "e0", "e2"]


async def test_403_naming_an_event_is_isolated_too() -> None:
    """A source not allowed to send one event loses only that event."""
    errors = [finding("$.batch[0].event", "source_not_allowed")]
    gateway = FakeGateway().then(403, problem(403, errors))
    outcome = await _deliver(gateway, [_pending(0), _pending(1)])
    assert [e["event_id"] for e in outcome.rejected[0].events] == ["e0"]
    assert [e["event_id"] for e in gateway.delivered] == ["e1"]


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_a_refusal_without_event_paths_rejects_the_whole_batch(status: int) -> None:
    """A bad key (or malformed body) refuses everything once; nothing is resent or spooled."""
    gateway = FakeGateway().then(status, problem(status, []))
    outcome = await _deliver(gateway, [_pending(0), _pending(1)])
    [rejected] = outcome.rejected
    assert [e["event_id"] for e in rejected.events] == ["e0", "e1"]
    assert _ids(outcome.done) == ["e0", "e1"]
    assert outcome.unsent == []
    assert len(gateway.requests) == 1


async def test_a_422_whose_paths_name_no_event_rejects_all() -> None:
    """Findings outside $.batch[i] (or beyond the batch) cannot be pinned: all are refused."""
    errors = [finding("$.batch", "batch_size"), finding("$.batch[9].event")]
    gateway = FakeGateway().then(422, problem(422, errors))
    outcome = await _deliver(gateway, [_pending(0), _pending(1)])
    assert len(outcome.rejected) == 1
    assert len(outcome.rejected[0].events) == 2


async def test_413_halves_until_it_fits_and_rejects_a_lone_event() -> None:
    """Too large: split in halves; a single event that is still too large is refused."""
    gateway = FakeGateway().then(413).then(413).then(413)
    outcome = await _deliver(gateway, [_pending(n) for n in range(4)])
    sizes = [len(json.loads(r.content)["batch"]) for r in gateway.requests]
    assert sizes == [4, 2, 1, 1, 2]
    assert [e["event_id"] for e in outcome.rejected[0].events] == ["e0"]
    assert [e["event_id"] for e in gateway.delivered] == ["e1", "e2", "e3"]


async def test_outage_returns_the_failed_and_later_chunks_in_order() -> None:
    """The first batch the gateway cannot take stops delivery; the rest is unsent, in order."""
    gateway = FakeGateway()
    gateway.script.append(gateway.accept)
    gateway.then(503).then(503)
    outcome = await _deliver(gateway, [_pending(n) for n in range(5)], max_events=2)
    assert _ids(outcome.done) == ["e0", "e1"]
    assert _ids(outcome.unsent) == ["e2", "e3", "e4"]
    assert outcome.unavailable is not None
    assert outcome.unavailable.reason == "HTTP 503"
