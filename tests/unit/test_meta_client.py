"""MetaClient on httpx.MockTransport: where the token goes, what comes back, what never leaks."""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from capigate.classify import OutcomeKind
from capigate.clock import FrozenClock
from capigate.errors import ConfigError
from capigate.meta import client as meta_client
from capigate.meta.client import MetaClient
from capigate.secret import Secret

TOKEN = "EAAGm0PX4ZCpsBAtokenvalue123"
APP_SECRET = "s3cr3t-app"
PIXEL = "1234567890"
BODY = {"data": [{"event_name": "Purchase", "event_time": 1_763_800_000}], "test_event_code": "T1"}
OK = {"events_received": 1, "messages": [], "fbtrace_id": "AbCdEf"}


class Recorder:
    """A MockTransport handler that records requests and answers with a fixed response."""

    def __init__(
        self, response: httpx.Response | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.response = response
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if callable(self.response):
            return self.response(request)
        return self.response

    @property
    def body(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.requests[-1].content)
        return parsed


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> MetaClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return MetaClient(http, access_token=Secret(TOKEN), **kw)


def _raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


# --- the request -------------------------------------------------------------------------------


async def test_posts_json_to_the_events_edge() -> None:
    """A send posts JSON to {graph}/v25.0/{pixel}/events and keeps the caller's body."""
    recorder = Recorder(httpx.Response(200, json=OK))
    await _client(recorder).send(PIXEL, BODY)
    request = recorder.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"https://graph.facebook.com/v25.0/{PIXEL}/events"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("capigate/")
    assert {k: v for k, v in recorder.body.items() if k != "access_token"} == BODY


async def test_token_is_in_the_body_never_in_the_url() -> None:
    """The access token travels in the JSON body; the URL and headers never hold it."""
    recorder = Recorder(httpx.Response(200, json=OK))
    await _client(recorder).send(PIXEL, BODY)
    request = recorder.requests[0]
    assert recorder.body["access_token"] == TOKEN
    assert TOKEN not in str(request.url)
    assert all(TOKEN not in value for value in request.headers.values())
    assert "appsecret_proof" not in recorder.body


async def test_appsecret_proof_is_hmac_sha256_of_the_token() -> None:
    """With an app secret, appsecret_proof = HMAC-SHA256(key=app secret, msg=token), hex."""
    recorder = Recorder(httpx.Response(200, json=OK))
    await _client(recorder, app_secret=Secret(APP_SECRET)).send(PIXEL, BODY)
    expected = hmac.new(APP_SECRET.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
    assert recorder.body["appsecret_proof"] == expected


async def test_client_credentials_replace_any_in_the_body() -> None:
    """A body that carries its own access_token cannot override the configured one."""
    recorder = Recorder(httpx.Response(200, json=OK))
    await _client(recorder).send(PIXEL, {**BODY, "access_token": "other"})
    assert recorder.body["access_token"] == TOKEN


async def test_version_and_graph_url_are_configurable() -> None:
    """The API version and base URL (with a path prefix, as the sandbox mounts it) are used."""
    recorder = Recorder(httpx.Response(200, json=OK))
    client = _client(recorder, api_version="v26.0", graph_url="http://127.0.0.1:8080/__emulator__/")
    await client.send(PIXEL, BODY)
    assert (
        str(recorder.requests[0].url) == f"http://127.0.0.1:8080/__emulator__/v26.0/{PIXEL}/events"
    )


async def test_default_timeouts_suit_a_batch_of_1000() -> None:
    """Connect 3 s, read 30 s unless configured; a configured timeout is used as given."""
    recorder = Recorder(httpx.Response(200, json=OK))
    await _client(recorder).send(PIXEL, BODY)
    timeout = recorder.requests[0].extensions["timeout"]
    assert (timeout["connect"], timeout["read"]) == (3.0, 30.0)
    await _client(recorder, timeout=httpx.Timeout(1.5)).send(PIXEL, BODY)
    assert recorder.requests[1].extensions["timeout"]["read"] == 1.5


async def test_probe_posts_an_empty_batch() -> None:
    """The token probe sends data=[] with the token, so no event can be created."""
    recorder = Recorder(httpx.Response(400, json={"error": {"code": 100, "message": "x"}}))
    outcome = await _client(recorder).probe(PIXEL)
    assert recorder.body == {"data": [], "access_token": TOKEN}
    assert (outcome.kind, outcome.code) == (OutcomeKind.PERMANENT, 100)


# --- the answer --------------------------------------------------------------------------------


async def test_success_is_delivered_with_the_count() -> None:
    """A 200 from Meta is DELIVERED with events_received and the trace id."""
    outcome = await _client(Recorder(httpx.Response(200, json=OK))).send(PIXEL, BODY)
    assert (outcome.kind, outcome.events_received, outcome.fbtrace_id) == (
        OutcomeKind.DELIVERED,
        1,
        "AbCdEf",
    )


async def test_graph_error_is_classified() -> None:
    """Meta's error envelope becomes an outcome with its code, subcode and message."""
    error = {"code": 100, "error_subcode": 2804003, "message": "Invalid parameter"}
    outcome = await _client(Recorder(httpx.Response(400, json={"error": error}))).send(PIXEL, BODY)
    assert (outcome.kind, outcome.status, outcome.code, outcome.subcode) == (
        OutcomeKind.PERMANENT,
        400,
        100,
        2804003,
    )


async def test_html_502_is_transient() -> None:
    """A proxy's HTML error page is not JSON and is retried."""
    page = httpx.Response(502, text="<html><body>Bad Gateway</body></html>")
    outcome = await _client(Recorder(page)).send(PIXEL, BODY)
    assert (outcome.kind, outcome.status) == (OutcomeKind.TRANSIENT, 502)


async def test_throttle_headers_reach_the_outcome() -> None:
    """Retry-After as an HTTP date is read against the injected clock."""
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:30:00 GMT"}
    error = {"error": {"code": 17, "message": "User request limit reached"}}
    handler = Recorder(httpx.Response(400, json=error, headers=headers))
    client = _client(handler, clock=FrozenClock(1_445_412_480.0))
    outcome = await client.send(PIXEL, BODY)
    assert (outcome.kind, outcome.retry_after_s) == (OutcomeKind.RATE_LIMITED, 120.0)


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ReadTimeout("timed out"), "timeout: ReadTimeout"),
        (httpx.ConnectTimeout("timed out"), "timeout: ConnectTimeout"),
        (httpx.PoolTimeout("timed out"), "timeout: PoolTimeout"),
        (httpx.ConnectError("Connection refused"), "ConnectError: Connection refused"),
        (httpx.RemoteProtocolError("peer closed"), "RemoteProtocolError: peer closed"),
        (httpx.ReadError("reset by peer"), "ReadError: reset by peer"),
    ],
)
async def test_transport_errors_become_transient_outcomes(exc: Exception, message: str) -> None:
    """Timeouts and network errors never escape: they are TRANSIENT outcomes saying what failed."""
    outcome = await _client(_raises(exc)).send(PIXEL, BODY)
    assert (outcome.kind, outcome.message, outcome.status) == (OutcomeKind.TRANSIENT, message, None)


async def test_unserializable_body_is_permanent_and_not_sent() -> None:
    """A body orjson cannot encode is refused without a request (resending cannot help)."""
    recorder = Recorder(httpx.Response(200, json=OK))
    outcome = await _client(recorder).send(PIXEL, {"data": [{"value": {1, 2}}]})
    assert outcome.kind is OutcomeKind.PERMANENT
    assert outcome.message.startswith("request body is not JSON")
    assert recorder.requests == []


# --- the token never leaks ---------------------------------------------------------------------


async def test_token_echoed_by_an_error_is_masked() -> None:
    """If Meta or a proxy echoes the token, the outcome masks it."""
    error = {
        "code": 190,
        "message": f"Invalid OAuth access token {TOKEN}",
        "error_user_msg": f"token {TOKEN} expired",
    }
    handler = Recorder(httpx.Response(400, json={"error": error}))
    outcome = await _client(handler).send(PIXEL, BODY)
    assert outcome.kind is OutcomeKind.TOKEN
    assert TOKEN not in repr(outcome)
    assert outcome.message == "Invalid OAuth access token **********"


async def test_token_in_a_transport_error_is_masked() -> None:
    """A transport error whose text contains the token is masked too."""
    outcome = await _client(_raises(httpx.ConnectError(f"failed for {TOKEN}"))).send(PIXEL, BODY)
    assert outcome.message == "ConnectError: failed for **********"


async def test_token_never_in_repr_str_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """repr/str of the client and its outcomes, and httpx's debug logs, never show the token."""
    caplog.set_level(logging.DEBUG)
    client = _client(Recorder(httpx.Response(200, json=OK)), app_secret=Secret(APP_SECRET))
    outcome = await client.send(PIXEL, BODY)
    for text in (repr(client), str(client), repr(outcome), str(outcome), caplog.text):
        assert TOKEN not in text
        assert APP_SECRET not in text
    assert repr(client) == (
        "MetaClient(graph_url='https://graph.facebook.com', api_version='v25.0', "
        "appsecret_proof=True)"
    )


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"access_token": Secret("")}, "access token is empty"),
        ({"api_version": "25.0"}, "must look like v25.0"),
        ({"graph_url": "graph.facebook.com"}, "must be http"),
        ({"graph_url": "ftp://graph.facebook.com"}, "must be http"),
        ({"graph_url": "https://graph.facebook.com?access_token=x"}, "must be http"),
        ({"graph_url": "http://[::1"}, "is not a URL"),
    ],
)
def test_bad_configuration_fails_early(kwargs: dict[str, Any], match: str) -> None:
    """A bad token, version or Graph URL is a ConfigError at construction."""
    kwargs.setdefault("access_token", Secret(TOKEN))
    with pytest.raises(ConfigError, match=match):
        MetaClient(httpx.AsyncClient(), **kwargs)


@pytest.mark.parametrize("pixel_id", ["", "abc", "123/../me", "12 3"])
async def test_non_numeric_pixel_id_is_refused(pixel_id: str) -> None:
    """A pixel id is digits only, so it can never rewrite the URL path."""
    recorder = Recorder(httpx.Response(200, json=OK))
    with pytest.raises(ConfigError, match="pixel_id must be"):
        await _client(recorder).send(pixel_id, BODY)
    assert recorder.requests == []


def test_defaults_are_the_spec_values() -> None:
    """The defaults: Graph v25.0 at graph.facebook.com."""
    assert meta_client.DEFAULT_API_VERSION == "v25.0"
    assert meta_client.DEFAULT_GRAPH_URL == "https://graph.facebook.com"
