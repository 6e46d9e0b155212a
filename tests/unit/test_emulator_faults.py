"""Scripted faults: the next N requests fail as told; throttling windows run on the clock."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from capigate.clock import FrozenClock
from capigate.emulator import EmulatorConfig
from capigate.emulator.connection import DroppedConnection
from tests.unit.emulator_kit import (
    NOW_S,
    RecordingSleep,
    client_for,
    error_of,
    event,
    make_app,
    post_events,
)

FAULTS = "/__emulator__/faults"


async def script(client: httpx.AsyncClient, spec: dict[str, Any]) -> httpx.Response:
    """POST a fault script and insist it was taken."""
    response = await client.post(FAULTS, json=spec)
    assert response.status_code == 200, response.text
    return response


async def test_next_n_requests_fail_then_recover() -> None:
    """A fault with count 2 fails exactly the next two requests, whatever their payload."""
    async with client_for(make_app()) as client:
        await script(client, {"count": 2, "code": 2})
        statuses = [(await post_events(client, [event()])).status_code for _ in range(3)]
        recorded = (await client.get("/__emulator__/events")).json()
    assert statuses == [500, 500, 200]
    assert recorded["requests"] == 3
    assert len(recorded["events"]) == 1


async def test_code_2_defaults_to_transient_500() -> None:
    """Code 2 answers HTTP 500 with is_transient true and Graph's message (spec §12.10)."""
    async with client_for(make_app()) as client:
        await script(client, {"code": 2})
        response = await post_events(client, [event()])
    error = error_of(response)
    assert response.status_code == 500
    assert (error["code"], error["is_transient"], error["type"]) == (2, True, "OAuthException")
    assert "retry" in error["message"].lower()


@pytest.mark.parametrize(
    ("spec", "status", "code", "subcode", "transient"),
    [
        pytest.param({"code": 190, "subcode": 463}, 400, 190, 463, False, id="token-expired"),
        pytest.param({"code": 368}, 400, 368, None, False, id="policy-block"),
        pytest.param({"code": 4, "status": 403}, 403, 4, None, True, id="app-limit-403"),
        pytest.param({"code": 613, "status": 429}, 429, 613, None, True, id="rate-limit-429"),
        pytest.param({"status": 503}, 503, 2, None, True, id="bare-503"),
        pytest.param({"code": 1, "is_transient": False}, 500, 1, None, False,
                     id="transient-flag-overridden"),
        pytest.param({"code": 100, "subcode": 2804050, "error_user_title": "T",
                      "error_user_msg": "M"}, 400, 100, 2804050, False, id="payload-error"),
    ],
)  # fmt: skip
async def test_fault_fields(
    spec: dict[str, Any], status: int, code: int, subcode: int | None, transient: bool
) -> None:
    """A fault answers its status, code, subcode and transient flag; defaults fill the rest."""
    async with client_for(make_app()) as client:
        await script(client, spec)
        response = await post_events(client, [event()])
    error = error_of(response)
    assert response.status_code == status
    assert (error["code"], error.get("error_subcode"), error["is_transient"]) == (
        code, subcode, transient,
    )  # fmt: skip
    assert error["message"]
    assert error["fbtrace_id"]


async def test_fault_message_retry_after_and_headers() -> None:
    """A fault's own message, Retry-After (whole seconds) and extra headers reach the client."""
    async with client_for(make_app()) as client:
        await script(client, {"code": 17, "message": "(#17) slow down", "retry_after_s": 4.2,
                              "headers": {"X-App-Usage": '{"call_count":100}'}})  # fmt: skip
        response = await post_events(client, [event()])
    assert error_of(response)["message"] == "(#17) slow down"
    assert response.headers["retry-after"] == "5"
    assert response.headers["x-app-usage"] == '{"call_count":100}'


async def test_raw_body_fault_answers_non_json() -> None:
    """A fault with ``body`` answers that text, as a proxy in front of Graph might."""
    async with client_for(make_app()) as client:
        await script(client, {"status": 502, "body": "<html>Bad Gateway</html>"})
        response = await post_events(client, [event()])
    assert response.status_code == 502
    assert response.text == "<html>Bad Gateway</html>"


async def test_faults_apply_in_order() -> None:
    """Queued faults are used first in, first out."""
    async with client_for(make_app()) as client:
        await script(client, {"code": 2})
        await script(client, {"code": 4})
        codes = [error_of(await post_events(client, [event()]))["code"] for _ in range(2)]
    assert codes == [2, 4]


async def test_fault_for_one_pixel_spares_the_others() -> None:
    """A fault with pixel_id only hits requests to that pixel."""
    async with client_for(make_app()) as client:
        await script(client, {"code": 2, "pixel_id": 111})
        other = await post_events(client, [event()], path="/v25.0/222/events")
        target = await post_events(client, [event()], path="/v25.0/111/events")
    assert (other.status_code, target.status_code) == (200, 500)


async def test_delay_uses_injected_sleep_then_answers_normally() -> None:
    """A delay-only fault waits through the injected sleep and then validates as usual."""
    app = make_app()
    async with client_for(app) as client:
        await script(client, {"delay_s": 2.5})
        response = await post_events(client, [event()])
    assert response.status_code == 200
    sleep = app.emulator.sleep
    assert isinstance(sleep, RecordingSleep)
    assert sleep.calls == [2.5]


async def test_delay_and_error_together() -> None:
    """A fault may delay and then fail."""
    app = make_app()
    async with client_for(app) as client:
        await script(client, {"delay_s": 1, "code": 2})
        response = await post_events(client, [event()])
    assert response.status_code == 500
    assert isinstance(app.emulator.sleep, RecordingSleep)
    assert app.emulator.sleep.calls == [1]


async def test_dropped_connection_in_process_is_a_transport_error() -> None:
    """In-process, a dropped connection raises httpx.RemoteProtocolError, as over a socket."""
    app = make_app()
    async with client_for(app) as client:
        await script(client, {"drop_connection": True})
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await post_events(client, [event()])
        log = (await client.get("/__emulator__/requests")).json()["requests"]
        after = await post_events(client, [event()])
    assert isinstance(caught.value, DroppedConnection)
    assert log[0]["dropped"] is True
    assert log[0]["status"] is None
    assert after.status_code == 200


async def test_throttle_window_refuses_everything_until_it_ends() -> None:
    """A throttle refuses every request with 80004 and usage headers until the clock passes it."""
    clock = FrozenClock(NOW_S)
    async with client_for(make_app(clock=clock)) as client:
        await script(client, {"throttle": {"duration_s": 120}})
        first = await post_events(client, [event()])
        clock.advance(60)
        second = await post_events(client, [event()])
        clock.advance(60)
        after = await post_events(client, [event()])
    error = error_of(first)
    assert first.status_code == 400
    assert (error["code"], error["error_subcode"], error["is_transient"]) == (80004, 2446079, True)
    usage = json.loads(first.headers["x-business-use-case-usage"])
    assert usage["1234567890"][0]["estimated_time_to_regain_access"] == 2  # minutes
    second_usage = json.loads(second.headers["x-business-use-case-usage"])
    assert second_usage["1234567890"][0]["estimated_time_to_regain_access"] == 1
    assert "retry-after" not in first.headers
    assert after.status_code == 200


async def test_throttle_with_retry_after_and_status() -> None:
    """A throttle can answer 429 with Retry-After and without the usage header."""
    clock = FrozenClock(NOW_S)
    async with client_for(make_app(clock=clock)) as client:
        throttle = {"duration_s": 30, "code": 4, "status": 429, "usage_header": False,
                    "retry_after_header": True}  # fmt: skip
        await script(client, {"throttle": throttle})
        clock.advance(10.5)
        response = await post_events(client, [event()])
    assert response.status_code == 429
    assert error_of(response)["code"] == 4
    assert response.headers["retry-after"] == "20"
    assert "x-business-use-case-usage" not in response.headers


@pytest.mark.parametrize("status", [400, 403, 429])
async def test_throttle_status_default_comes_from_config(status: int) -> None:
    """The HTTP status of throttling is a setting (spec §14.9 leaves it open)."""
    async with client_for(make_app(EmulatorConfig(throttle_status=status))) as client:
        await script(client, {"throttle": {"duration_s": 5, "code": 17}})
        response = await post_events(client, [event()])
    assert response.status_code == status
    assert error_of(response)["error_subcode"] == 2446079


async def test_throttle_for_one_pixel() -> None:
    """A throttle with pixel_id spares other pixels."""
    async with client_for(make_app()) as client:
        await script(client, {"throttle": {"duration_s": 5, "pixel_id": "111"}})
        other = await post_events(client, [event()], path="/v25.0/222/events")
        target = await post_events(client, [event()], path="/v25.0/111/events")
    assert (other.status_code, target.status_code) == (200, 400)


async def test_delete_clears_faults_and_throttle() -> None:
    """DELETE /faults forgets queued faults and ends the throttle window."""
    async with client_for(make_app()) as client:
        await script(client, {"count": 5, "code": 2, "throttle": {"duration_s": 60}})
        shown = (await client.get(FAULTS)).json()
        cleared = (await client.delete(FAULTS)).json()
        response = await post_events(client, [event()])
    assert shown["faults"][0]["remaining"] == 5
    assert shown["throttle"]["code"] == 80004
    assert cleared == {"faults": [], "throttle": None}
    assert response.status_code == 200


async def test_faulted_requests_are_logged_with_their_error() -> None:
    """The request log shows which fault answered and with what error."""
    async with client_for(make_app()) as client:
        await script(client, {"code": 2})
        await post_events(client, [event()])
        log = (await client.get("/__emulator__/requests")).json()
    entry = log["requests"][0]
    assert log["count"] == 1
    assert entry["status"] == 500
    assert entry["error"]["code"] == 2
    assert entry["fault"] == "fault code=2 status=500"


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"count": 0, "code": 2}, id="count-zero"),
        pytest.param({"count": 1}, id="nothing-to-do"),
        pytest.param({"code": 2, "colour": "red"}, id="unknown-key"),
        pytest.param({"status": 99}, id="bad-status"),
        pytest.param({"delay_s": -1}, id="negative-delay"),
        pytest.param({"code": 2, "headers": {"X": 1}}, id="header-not-string"),
        pytest.param({"throttle": {"code": 4}}, id="throttle-without-duration"),
        pytest.param({"throttle": {"duration_s": 5, "colour": "red"}}, id="throttle-unknown-key"),
        pytest.param({"throttle": "soon"}, id="throttle-not-object"),
        pytest.param(["code", 2], id="not-an-object"),
    ],
)
async def test_bad_fault_scripts_are_refused(spec: Any) -> None:
    """A fault script with a mistake answers 400 naming the problem and changes nothing."""
    async with client_for(make_app()) as client:
        response = await client.post(FAULTS, json=spec)
        state = (await client.get(FAULTS)).json()
    assert response.status_code == 400
    assert response.json()["error"].startswith("faults:")
    assert state == {"faults": [], "throttle": None}


async def test_non_json_fault_script_is_refused() -> None:
    """A fault script that is not JSON answers 400."""
    async with client_for(make_app()) as client:
        response = await client.post(FAULTS, content=b"code=2")
    assert response.status_code == 400
