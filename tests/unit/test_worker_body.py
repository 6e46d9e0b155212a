"""The request body spliced from stored JSON text, and MetaClient.send_raw that posts it."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import orjson
import pytest

from capigate.classify import OutcomeKind
from capigate.errors import ValidationError
from capigate.meta.client import MetaClient
from capigate.secret import Secret
from capigate.worker.body import data_json, request_options, sized

TOKEN = "EAAGm0PX4ZCpsBAtokenvalue123"
PIXEL = "1234567890"
EVENTS = [
    {"event_name": "Lead", "event_time": 1_763_800_000, "user_data": {"em": ["ab" * 32]}},
    {"event_name": "Purchase", "custom_data": {"value": 9.5, "currency": "USD"}},
]


def _texts(events: list[dict[str, Any]]) -> list[str]:
    return [orjson.dumps(event).decode() for event in events]


def test_data_json_is_the_array_of_the_stored_texts() -> None:
    """The spliced array parses to the events, in order, byte for byte as stored."""
    texts = _texts(EVENTS)
    assert orjson.loads(data_json(texts)) == EVENTS
    assert data_json(texts) == ("[" + ",".join(texts) + "]").encode()


@pytest.mark.parametrize("count", [0, 1001])
def test_data_json_refuses_what_meta_would_reject_whole(count: int) -> None:
    """No events, or more than 1,000, is a ValidationError naming $.data."""
    with pytest.raises(ValidationError) as caught:
        data_json(["{}"] * count)
    assert caught.value.findings[0].path == "$.data"


def test_request_options_carry_only_a_real_test_event_code() -> None:
    """A batch without a test_event_code adds no key."""
    assert request_options("TEST123") == {"test_event_code": "TEST123"}
    assert request_options(None) == {}


class Recorder:
    """A MockTransport handler that records requests and answers a success."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json={"events_received": 2, "fbtrace_id": "AbC"})


def _client(recorder: Recorder, **kw: Any) -> MetaClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return MetaClient(http, access_token=Secret(TOKEN), **kw)


async def test_send_raw_posts_data_options_and_token_in_the_body() -> None:
    """The body is the events, the options and the token; the URL holds no token."""
    recorder = Recorder()
    outcome = await _client(recorder).send_raw(
        PIXEL, data_json(_texts(EVENTS)), {"test_event_code": "T1"}
    )
    assert (outcome.kind, outcome.events_received) == (OutcomeKind.DELIVERED, 2)
    [request] = recorder.requests
    assert orjson.loads(request.content) == {
        "data": EVENTS,
        "test_event_code": "T1",
        "access_token": TOKEN,
    }
    assert TOKEN not in str(request.url)


async def test_send_raw_adds_appsecret_proof() -> None:
    """With an app secret the body carries the token's HMAC, as send() does."""
    recorder = Recorder()
    await _client(recorder, app_secret=Secret("s3cr3t")).send_raw(PIXEL, b"[{}]")
    body = orjson.loads(recorder.requests[0].content)
    expected = hmac.new(b"s3cr3t", TOKEN.encode(), hashlib.sha256).hexdigest()
    assert (body["data"], body["appsecret_proof"]) == ([{}], expected)


async def test_send_raw_refuses_a_second_data_key() -> None:
    """extra cannot smuggle another data array into the body."""
    with pytest.raises(ValueError, match="data"):
        await _client(Recorder()).send_raw(PIXEL, b"[{}]", {"data": []})


@pytest.mark.parametrize("count", [1, 2, 1000])
async def test_send_events_posts_the_same_body_as_send_raw(count: int) -> None:
    """send_events joins texts, options and token into the bytes send_raw would post."""
    texts = [orjson.dumps({"n": n, "name": "Müller"}).decode() for n in range(count)]
    joined, raw = Recorder(), Recorder()
    await _client(joined).send_events(PIXEL, texts, {"test_event_code": "T1"})
    await _client(raw).send_raw(PIXEL, data_json(texts), {"test_event_code": "T1"})
    assert joined.requests[0].content == raw.requests[0].content
    assert orjson.loads(joined.requests[0].content)["data"] == [orjson.loads(t) for t in texts]


async def test_send_events_with_no_events_posts_an_empty_array() -> None:
    """No texts: data is [] and the token still follows (the worker never sends this)."""
    recorder = Recorder()
    await _client(recorder).send_events(PIXEL, [])
    assert orjson.loads(recorder.requests[0].content) == {"data": [], "access_token": TOKEN}


async def test_send_events_refuses_a_second_data_key() -> None:
    """extra cannot smuggle another data array into the body."""
    with pytest.raises(ValueError, match="data"):
        await _client(Recorder()).send_events(PIXEL, ["{}"], {"data": []})


@pytest.mark.parametrize("count", [0, 1001])
def test_sized_refuses_what_meta_would_reject_whole(count: int) -> None:
    """sized() raises data_json's ValidationError; a request of 1 to 1,000 passes through."""
    with pytest.raises(ValidationError):
        sized(["{}"] * count)
    assert sized(["{}"]) == ["{}"]
