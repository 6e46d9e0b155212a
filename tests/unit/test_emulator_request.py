"""Request handling before the per-event rules: encodings, auth, body limits, answer shape."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any
from urllib.parse import urlencode

import pytest

from capigate.emulator import EmulatorConfig
from capigate.emulator.auth import appsecret_proof
from capigate.secret import Secret
from tests.unit.emulator_kit import (
    GRAPH,
    NOW_S,
    PIXEL,
    client_for,
    error_of,
    event,
    make_app,
    post_events,
)

TRACE_RE = re.compile(r"[A-Za-z0-9_-]{11,27}")


async def test_success_answer_shape() -> None:
    """200 with events_received, empty messages and a base64url fbtrace_id of 11-27 chars."""
    async with client_for(make_app()) as client:
        response = await post_events(client, [event(), event(event_id="lead-2")])
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"events_received", "messages", "fbtrace_id"}
    assert body["events_received"] == 2
    assert body["messages"] == []
    assert TRACE_RE.fullmatch(body["fbtrace_id"])


async def test_trace_ids_follow_the_injected_rng() -> None:
    """Two emulators seeded alike hand out the same trace ids."""
    ids = []
    for _ in range(2):
        async with client_for(make_app()) as client:
            ids.append((await post_events(client, [event()])).json()["fbtrace_id"])
    assert ids[0] == ids[1]


async def test_test_event_code_changes_nothing_in_the_answer() -> None:
    """With or without test_event_code the answer has the same shape and count."""
    async with client_for(make_app()) as client:
        plain = (await post_events(client, [event()])).json()
        tested = (await post_events(client, [event()], test_event_code="TEST123")).json()
    assert plain.keys() == tested.keys()
    assert plain["events_received"] == tested["events_received"] == 1


async def test_form_encoded_data_as_json_string() -> None:
    """Meta's curl example: form fields, ``data`` a JSON string of the event array."""
    form = {"data": json.dumps([event()]), "access_token": "tok", "test_event_code": "T1"}
    async with client_for(make_app()) as client:
        response = await client.post(GRAPH, data=form)
        recorded = (await client.get("/__emulator__/events")).json()["events"]
    assert response.json()["events_received"] == 1
    assert recorded[0]["test_event_code"] == "T1"


async def test_multipart_data_as_json_string() -> None:
    """``curl -F 'data=[...]'`` sends multipart/form-data; the emulator reads it."""
    fields = {"data": json.dumps([event()]), "access_token": "tok"}
    files = {"upload": ("note.txt", b"ignored")}  # forces multipart encoding
    async with client_for(make_app()) as client:
        response = await client.post(GRAPH, data=fields, files=files)
    assert response.status_code == 200, response.text
    assert response.json()["events_received"] == 1


async def test_python_sdk_body_list_of_json_strings() -> None:
    """The Python SDK's exact body: ``data`` a JSON array of per-event JSON strings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        params = _sdk_params()
    async with client_for(make_app()) as client:
        response = await client.post(
            GRAPH, content=urlencode(params),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        recorded = (await client.get("/__emulator__/events")).json()["events"]
    assert response.status_code == 200, response.text
    assert recorded[0]["event_name"] == "Purchase"
    assert recorded[0]["custom_data"] == {"value": 12.5, "currency": "usd"}
    assert recorded[0]["test_event_code"] == "TEST1"


def _sdk_params() -> dict[str, Any]:
    from facebook_business import api
    from facebook_business.adobjects.serverside.action_source import ActionSource
    from facebook_business.adobjects.serverside.custom_data import CustomData
    from facebook_business.adobjects.serverside.event import Event
    from facebook_business.adobjects.serverside.event_request import EventRequest
    from facebook_business.adobjects.serverside.user_data import UserData

    user = UserData(email="Joe@Example.com", client_ip_address="203.0.113.7",
                    client_user_agent="Mozilla/5.0")  # fmt: skip
    sdk_event = Event(
        event_name="Purchase", event_time=NOW_S - 10, user_data=user,
        custom_data=CustomData(value=12.5, currency="usd"), action_source=ActionSource.WEBSITE,
        event_source_url="https://example.com/checkout", event_id="order-1",
    )  # fmt: skip
    params = EventRequest(pixel_id=PIXEL, events=[sdk_event], test_event_code="TEST1").get_params()
    encoded: dict[str, Any] = api._top_level_param_json_encode(params)
    return {**encoded, "access_token": "tok"}


async def test_repeated_form_data_fields() -> None:
    """``data=<event>&data=<event>`` (a list posted as repeated fields) is one event each."""
    body = urlencode([("data", json.dumps(event())), ("data", json.dumps(event(event_id="b"))),
                      ("access_token", "tok")])  # fmt: skip
    async with client_for(make_app()) as client:
        response = await client.post(
            GRAPH, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert response.json()["events_received"] == 2


async def test_access_token_in_query_string() -> None:
    """The token may come as a query parameter instead of the body."""
    async with client_for(make_app()) as client:
        response = await client.post(f"{GRAPH}?access_token=tok", json={"data": [event()]})
    assert response.status_code == 200


async def test_unparseable_json_body() -> None:
    """A body that is not JSON answers code 100, not a server error."""
    async with client_for(make_app()) as client:
        response = await client.post(
            GRAPH, content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert error_of(response)["code"] == 100


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        pytest.param({"access_token": "tok"}, "is required", id="data-missing"),
        pytest.param({"access_token": "tok", "data": {"event_name": "x"}}, "array",
                     id="data-not-array"),
        pytest.param({"access_token": "tok", "data": "[{"}, "Invalid JSON", id="data-bad-json"),
        pytest.param({"access_token": "tok", "data": []}, "empty", id="data-empty"),
        pytest.param({"access_token": "tok", "data": ["{bad"]}, "$['data'][0]",
                     id="sdk-item-bad-json"),
    ],
)  # fmt: skip
async def test_bad_data_parameter(body: dict[str, Any], mentions: str) -> None:
    """A missing or malformed ``data`` answers 400 code 100 / 2804019."""
    async with client_for(make_app()) as client:
        response = await client.post(GRAPH, json=body)
    error = error_of(response)
    assert (response.status_code, error["code"], error["error_subcode"]) == (400, 100, 2804019)
    assert mentions in error["error_user_msg"]


async def test_more_than_1000_events() -> None:
    """1,001 events answer 400 code 100 and nothing is recorded; 1,000 pass."""
    async with client_for(make_app()) as client:
        too_many = await post_events(client, [event(event_id=str(i)) for i in range(1001)])
        just_right = await post_events(client, [event(event_id=str(i)) for i in range(1000)])
    assert too_many.status_code == 400
    assert error_of(too_many)["code"] == 100
    assert "1000" in error_of(too_many)["message"]
    assert just_right.json()["events_received"] == 1000


AUTH_CASES = [
    pytest.param({}, None, GRAPH, (104, None), id="missing-token"),
    pytest.param({}, "", GRAPH, (104, None), id="empty-token"),
    pytest.param({}, "has space", GRAPH, (190, None), id="malformed-token"),
    pytest.param({"access_tokens": frozenset({Secret("good")})}, "other", GRAPH, (190, None),
                 id="token-not-in-allowlist"),
    pytest.param({"expired_tokens": frozenset({Secret("old")})}, "old", GRAPH, (190, 463),
                 id="expired-token"),
    pytest.param({}, "tok", "/v25.0/my-pixel/events", (803, None), id="non-numeric-pixel"),
    pytest.param({"pixel_ids": frozenset({"111"})}, "tok", "/v25.0/222/events", (100, 33),
                 id="pixel-not-in-allowlist"),
    pytest.param({"deprecated_versions": frozenset({"v19.0"})}, "tok", "/v19.0/123/events",
                 (2635, None), id="deprecated-version"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "token", "path", "expected"), AUTH_CASES)
async def test_auth_errors(
    config: dict[str, Any], token: str | None, path: str, expected: tuple[int, int | None]
) -> None:
    """Token, pixel and version problems answer 400 with Graph's codes before any payload check."""
    async with client_for(make_app(EmulatorConfig(**config))) as client:
        response = await post_events(client, [{"not": "even an event"}], path=path, token=token)
    error = error_of(response)
    assert response.status_code == 400
    assert (error["code"], error.get("error_subcode")) == expected
    assert error["type"] in {"OAuthException", "GraphMethodException"}


async def test_allowlisted_token_and_pixel_pass() -> None:
    """Configured tokens and pixels are accepted."""
    config = EmulatorConfig(access_tokens=frozenset({Secret("good")}), pixel_ids=frozenset({PIXEL}))
    async with client_for(make_app(config)) as client:
        response = await post_events(client, [event()], token="good")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("proof", "required", "expected_status"),
    [
        pytest.param("right", False, 200, id="correct-proof"),
        pytest.param("0" * 64, False, 400, id="wrong-proof"),
        pytest.param(None, False, 200, id="no-proof-optional"),
        pytest.param(None, True, 400, id="no-proof-required"),
    ],
)
async def test_appsecret_proof(proof: str | None, required: bool, expected_status: int) -> None:
    """With an app secret configured, appsecret_proof must be HMAC-SHA256(token, secret)."""
    config = EmulatorConfig(app_secret=Secret("s3cret"), require_appsecret_proof=required)
    extra = {} if proof is None else {"appsecret_proof": proof}
    if proof == "right":
        extra["appsecret_proof"] = appsecret_proof("tok", "s3cret")
    async with client_for(make_app(config)) as client:
        response = await post_events(client, [event()], token="tok", **extra)
    assert response.status_code == expected_status, response.text
    if expected_status == 400:
        assert error_of(response)["code"] == 100
        assert "appsecret_proof" in error_of(response)["message"]


def test_appsecret_proof_matches_known_vector() -> None:
    """appsecret_proof is hex HMAC-SHA256 of the token keyed by the secret (RFC 4231 case 2)."""
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert appsecret_proof("what do ya want for nothing?", "Jefe") == expected


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_non_post_answers_400_code_100(method: str) -> None:
    """Anything but POST on the edge answers Graph's "Unsupported ... request" (code 100)."""
    async with client_for(make_app()) as client:
        response = await client.request(method, f"{GRAPH}?access_token=tok")
    assert response.status_code == 400
    assert error_of(response)["code"] == 100
    assert f"Unsupported {method.lower()} request" in error_of(response)["message"]


async def test_non_post_status_is_configurable() -> None:
    """The HTTP status for a non-POST is a setting (UNCERTAIN in the spec)."""
    async with client_for(make_app(EmulatorConfig(non_post_status=405))) as client:
        response = await client.get(GRAPH)
    assert response.status_code == 405


@pytest.mark.parametrize("path", ["/25.0/123/events", "/latest/123/events", "/v25.0/123/stats"])
async def test_unknown_paths_answer_code_2500(path: str) -> None:
    """Paths that are not ``/v<major>.<minor>/<id>/events`` answer "Unknown path components"."""
    async with client_for(make_app()) as client:
        response = await client.post(path, json={"data": [event()], "access_token": "t"})
    assert response.status_code == 400
    assert error_of(response)["code"] == 2500


async def test_three_repeated_form_data_fields() -> None:
    """Every repeated ``data`` field counts, however many there are."""
    pairs = [("data[]", json.dumps(event(event_id=str(i)))) for i in range(3)]
    body = urlencode([*pairs, ("access_token", "tok")])
    async with client_for(make_app()) as client:
        response = await client.post(
            GRAPH, content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert response.json()["events_received"] == 3


async def test_json_body_without_content_type() -> None:
    """A JSON body sent without a content type is still read as JSON."""
    body = json.dumps({"data": [event()], "access_token": "tok"}).encode()
    async with client_for(make_app()) as client:
        response = await client.post(GRAPH, content=body, headers={"content-type": ""})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        pytest.param("application/x-www-form-urlencoded", b"data=\xff\xfe", id="form-not-utf8"),
        pytest.param("multipart/form-data", b"no boundary here", id="multipart-without-parts"),
        pytest.param("application/json", b"[1, 2]", id="json-not-an-object"),
    ],
)
async def test_unreadable_bodies_answer_code_100(content_type: str, body: bytes) -> None:
    """Bodies the emulator cannot read answer 400 code 100, never a server error."""
    async with client_for(make_app()) as client:
        response = await client.post(
            f"{GRAPH}?access_token=tok", content=body, headers={"content-type": content_type}
        )
    assert response.status_code == 400
    assert error_of(response)["code"] == 100


async def test_token_that_is_not_a_string() -> None:
    """A JSON number as access_token is an invalid token (190)."""
    async with client_for(make_app()) as client:
        response = await client.post(GRAPH, json={"data": [event()], "access_token": 12345})
    assert error_of(response)["code"] == 190
