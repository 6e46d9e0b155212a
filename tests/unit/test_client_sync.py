"""Capigate (sync): the async core on a thread of its own, behind blocking calls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from capigate.client import Capigate, ClientError, RetryPolicy
from tests.unit.client_kit import BASE_URL, KEY, FakeGateway, FakeSleep, finding, problem, rig


def _client(gateway: FakeGateway, sleep: FakeSleep, **options: Any) -> Capigate:
    """A client whose background timers never fire in a test (the real asyncio.sleep on
    an hour) and whose retries do not wait; only explicit calls send."""
    return Capigate(
        KEY,
        base_url=BASE_URL,
        transport=httpx.MockTransport(gateway),
        clock=sleep.clock,
        retry=RetryPolicy(attempts=2, base_s=0.0, cap_s=0.0),
        flush_interval_s=3600.0,
        replay_interval_s=3600.0,
        **options,
    )


def test_track_flush_and_close() -> None:
    """Blocking calls queue, send and shut down like the async client."""
    r = rig()
    with _client(r.gateway, r.sleep) as client:
        client.track("start_bot", event_id="e0", user={"telegram_id": 42})
        client.track({"event": "start_bot", "event_id": "e1"})
        assert client.queued == 2
        results = client.flush()
        assert [res.status for res in results] == ["queued", "queued"]
        client.track("start_bot", event_id="e2")
    assert [e["event_id"] for e in r.gateway.delivered] == ["e0", "e1", "e2"]


def test_send_now_answers_and_raises_across_the_thread() -> None:
    """send_now returns the status; a refusal raises ClientError in the caller's thread."""
    r = rig()
    r.gateway.then(422, problem(422, [finding("$.batch[0].properties.language_selected")]))
    with _client(r.gateway, r.sleep) as client:
        with pytest.raises(ClientError) as caught:
            client.send_now("onboarding_language", user={"telegram_id": 42})
        assert client.send_now("start_bot", event_id="s").status == "queued"
        assert client.send_now("start_bot", event_id="s").status == "duplicate"
    assert caught.value.findings[0].path == "$.properties.language_selected"


def test_outage_is_spooled_and_replayed_on_the_next_flush() -> None:
    """The spool works the same behind the sync API."""
    r = rig()
    r.gateway.down = True
    with _client(r.gateway, r.sleep) as client:
        client.track("start_bot", event_id="e0")
        client.flush()
        assert client.spooled == 1
        r.gateway.down = False
        client.flush()
        assert client.spooled == 0
    assert [e["event_id"] for e in r.gateway.delivered] == ["e0"]


def test_close_twice_and_use_after_close() -> None:
    """close() is idempotent; a closed client refuses calls."""
    r = rig()
    client = _client(r.gateway, r.sleep)
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.track("start_bot")


def test_bad_options_fail_in_the_constructor_and_stop_the_thread() -> None:
    """A bad option raises at once; no thread is left running."""
    with pytest.raises(ValueError, match="batch_events"):
        Capigate(KEY, batch_events=0)
