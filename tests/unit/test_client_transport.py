"""The transport: Bearer key, what is retried and how long it waits, what raises at once."""

from __future__ import annotations

import httpx
import pytest

from capigate.client import ClientError, RetryPolicy
from capigate.client.transport import INGEST_PATH, Transport, Unavailable
from capigate.clock import FrozenClock
from tests.unit.client_kit import BASE_URL, KEY, NOW_S, FakeGateway, FakeSleep, finding, problem

BODY = b'{"batch":[{"event":"start_bot","user":{"telegram_id":42}}]}'


def _transport(gateway: FakeGateway, sleep: FakeSleep, attempts: int = 4) -> Transport:
    return Transport(
        KEY,
        base_url=BASE_URL,
        timeout_s=5.0,
        policy=RetryPolicy(attempts=attempts, base_s=1.0, cap_s=8.0, max_retry_after_s=60.0),
        sleep=sleep,
        random=lambda: 0.5,
        clock=sleep.clock,
        transport=httpx.MockTransport(gateway),
    )


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep(FrozenClock(NOW_S))


async def test_posts_the_body_with_the_bearer_key(sleep: FakeSleep) -> None:
    """One POST to the ingest path with Authorization: Bearer and JSON; results come back."""
    gateway = FakeGateway()
    results = await _transport(gateway, sleep).post(BODY)
    request = gateway.requests[0]
    assert (request.method, request.url.path) == ("POST", INGEST_PATH)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.content == BODY
    assert results[0]["status"] == "queued"
    assert sleep.waits == []


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 408])
async def test_retryable_statuses_back_off_then_succeed(status: int, sleep: FakeSleep) -> None:
    """429, 408 and 5xx are retried with the backoff schedule until the gateway takes it."""
    gateway = FakeGateway().then(status).then(status)
    results = await _transport(gateway, sleep).post(BODY)
    assert len(gateway.requests) == 3
    assert sleep.waits == [0.75, 1.5]  # equal jitter at random()=0.5: 1*0.75, 2*0.75
    assert results[0]["status"] == "queued"


async def test_network_errors_are_retried(sleep: FakeSleep) -> None:
    """A refused connection is retried like a 503."""
    gateway = FakeGateway(drops=2)
    results = await _transport(gateway, sleep).post(BODY)
    assert len(gateway.requests) == 3
    assert sleep.waits == [0.75, 1.5]
    assert results[0]["status"] == "queued"


async def test_retry_after_is_honoured(sleep: FakeSleep) -> None:
    """The wait is never shorter than Retry-After (seconds or an HTTP date)."""
    gateway = FakeGateway().then(503, {"detail": "full"}, **{"Retry-After": "7"})
    gateway.then(429, None, **{"Retry-After": "Sat, 22 Nov 2025 08:27:17 GMT"})
    await _transport(gateway, sleep).post(BODY)
    assert sleep.waits == [7.0, 30.0]  # the date is 37 s after NOW_S; 7 s already passed


async def test_unavailable_after_the_last_try(sleep: FakeSleep) -> None:
    """When the tries run out, Unavailable carries the last reason and Retry-After."""
    gateway = FakeGateway()
    for _ in range(3):
        gateway.then(503, None, **{"Retry-After": "2"})
    with pytest.raises(Unavailable) as caught:
        await _transport(gateway, sleep, attempts=3).post(BODY)
    assert (caught.value.reason, caught.value.retry_after_s) == ("HTTP 503", 2.0)
    assert len(gateway.requests) == 3
    assert sleep.waits == [2.0, 2.0]


async def test_a_long_retry_after_ends_the_call_at_once(sleep: FakeSleep) -> None:
    """Retry-After beyond max_retry_after_s: no blocking wait, the spool waits instead."""
    gateway = FakeGateway().then(429, None, **{"Retry-After": "600"})
    with pytest.raises(Unavailable) as caught:
        await _transport(gateway, sleep).post(BODY)
    assert caught.value.retry_after_s == 600.0
    assert sleep.waits == []


async def test_unreachable_gateway_is_unavailable(sleep: FakeSleep) -> None:
    """A gateway that never answers ends in Unavailable naming the network error."""
    with pytest.raises(Unavailable, match="ConnectError"):
        await _transport(FakeGateway(down=True), sleep, attempts=2).post(BODY)
    assert sleep.waits == [0.75]


async def test_422_raises_client_error_with_findings_without_retry(sleep: FakeSleep) -> None:
    """A problem document's findings come with the ClientError; nothing is retried."""
    errors = [finding("$.batch[0].properties.language_selected")]
    gateway = FakeGateway().then(422, problem(422, errors, "1 error(s) found"))
    with pytest.raises(ClientError) as caught:
        await _transport(gateway, sleep).post(BODY)
    error = caught.value
    assert (error.status, error.kind, error.detail) == (422, "invalid-events", "1 error(s) found")
    assert [f.path for f in error.findings] == ["$.batch[0].properties.language_selected"]
    assert "property_required" in str(error)
    assert not error.retryable
    assert len(gateway.requests) == 1
    assert sleep.waits == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
async def test_other_client_errors_are_permanent(status: int, sleep: FakeSleep) -> None:
    """400/401/403/404/413 raise at once; a body that is no problem document still explains."""
    gateway = FakeGateway().then(status, None)
    with pytest.raises(ClientError, match=f"the gateway answered HTTP {status}") as caught:
        await _transport(gateway, sleep).post(BODY)
    assert caught.value.kind == f"http-{status}"
    assert len(gateway.requests) == 1


def test_an_empty_key_is_refused(sleep: FakeSleep) -> None:
    """The key is required: a typo in the environment fails at construction."""
    with pytest.raises(ValueError, match="api_key"):
        Transport(" ", base_url=BASE_URL, timeout_s=1, policy=RetryPolicy(), sleep=sleep,
                  random=lambda: 0.5, clock=sleep.clock)  # fmt: skip
