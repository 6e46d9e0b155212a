"""MetaClient against the in-process emulator (httpx.ASGITransport), scripted faults included.

Each test plays the worker's part in miniature: send, classify, decide, and (on a frozen clock)
wait out the decided delay before sending again.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from capigate import classify, retry
from capigate.classify import Outcome, OutcomeKind, ProbeVerdict
from capigate.clock import FrozenClock
from capigate.emulator import EmulatorConfig, create_app
from capigate.meta.client import MetaClient
from capigate.retry import CircuitStatus, DecisionKind
from capigate.secret import Secret

NOW_S = 1_763_800_000.0
PIXEL = "1234567890"
TOKEN = "EAAGtokenForTheEmulator"
APP_SECRET = "emulator-app-secret"
BASE = "http://emulator"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _event(n: int, event_time: float = NOW_S - 60) -> dict[str, Any]:
    """A website Lead that Meta (and the emulator) accepts."""
    return {
        "event_name": "Lead",
        "event_time": int(event_time),
        "action_source": "website",
        "event_source_url": "https://example.com/landing",
        "event_id": f"lead-{n}",
        "user_data": {
            "em": [_sha(f"user{n}@example.com")],
            "client_ip_address": "203.0.113.7",
            "client_user_agent": "Mozilla/5.0",
        },
    }


def _batch(size: int, **kw: float) -> dict[str, Any]:
    return {"data": [_event(n, **kw) for n in range(size)], "test_event_code": "TEST123"}


async def _no_sleep(seconds: float) -> None:
    del seconds


@dataclass
class Rig:
    """An emulator, a client pointed at it, and the frozen clock both share."""

    http: httpx.AsyncClient
    clock: FrozenClock

    def client(self, token: str = TOKEN, **kw: Any) -> MetaClient:
        return MetaClient(
            self.http, access_token=Secret(token), graph_url=BASE, clock=self.clock, **kw
        )

    async def fault(self, **spec: Any) -> None:
        response = await self.http.post(f"{BASE}/__emulator__/faults", json=spec)
        assert response.status_code == 200, response.text

    async def recorded(self) -> dict[str, Any]:
        body: dict[str, Any] = (await self.http.get(f"{BASE}/__emulator__/events")).json()
        return body

    async def requests_log(self) -> str:
        return (await self.http.get(f"{BASE}/__emulator__/requests")).text


async def _rig(config: EmulatorConfig | None = None) -> AsyncIterator[Rig]:
    clock = FrozenClock(NOW_S)
    app = create_app(config, clock=clock, rng=random.Random(3), sleep=_no_sleep)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        yield Rig(http, clock)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async for value in _rig():
        yield value


async def _deliver(rig: Rig, client: MetaClient, body: dict[str, Any]) -> list[Outcome]:
    """Send until acknowledged, waiting out each decided delay on the frozen clock."""
    outcomes: list[Outcome] = []
    oldest = min(event["event_time"] for event in body["data"])
    for attempts in range(1, 10):
        outcome = await client.send(PIXEL, body)
        outcomes.append(outcome)
        decision = retry.decide(
            outcome, attempts=attempts, now_s=rig.clock(), oldest_event_time_s=oldest, rand=0.5
        )
        if decision.kind is not DecisionKind.RETRY:
            assert decision.kind is DecisionKind.ACK, decision
            return outcomes
        assert decision.retry_at_s is not None
        rig.clock.set(decision.retry_at_s)
    raise AssertionError(f"not delivered: {outcomes}")


# --- delivery ----------------------------------------------------------------------------------


async def test_batch_is_delivered_and_recorded(rig: Rig) -> None:
    """A valid batch is DELIVERED, counted right, and recorded with its pixel and test code."""
    outcome = await rig.client().send(PIXEL, _batch(3))
    assert outcome.kind is OutcomeKind.DELIVERED
    assert classify.check_received(3, outcome) is None
    assert outcome.fbtrace_id
    recorded = await rig.recorded()
    assert recorded["requests"] == 1
    assert [e["event_id"] for e in recorded["events"]] == ["lead-0", "lead-1", "lead-2"]
    assert {(e["pixel_id"], e["test_event_code"]) for e in recorded["events"]} == {
        (PIXEL, "TEST123")
    }


async def test_token_never_reaches_the_emulator_record(rig: Rig) -> None:
    """What the emulator records (events and request log, URL included) never holds the token."""
    await rig.client().send(PIXEL, _batch(1))
    assert TOKEN not in str(await rig.recorded())
    assert TOKEN not in await rig.requests_log()


async def test_a_full_batch_of_1000_is_accepted(rig: Rig) -> None:
    """1,000 events go in one request; 1,001 are refused as a permanent payload error."""
    assert (await rig.client().send(PIXEL, _batch(1000))).events_received == 1000
    outcome = await rig.client().send(PIXEL, _batch(1001))
    assert (outcome.kind, outcome.code) == (OutcomeKind.PERMANENT, 100)


async def test_appsecret_proof_is_accepted_where_required() -> None:
    """An emulator that requires appsecret_proof accepts the client's proof, refuses none."""
    config = EmulatorConfig(app_secret=Secret(APP_SECRET), require_appsecret_proof=True)
    async for rig in _rig(config):
        with_proof = rig.client(app_secret=Secret(APP_SECRET))
        assert (await with_proof.send(PIXEL, _batch(1))).kind is OutcomeKind.DELIVERED
        wrong = await rig.client(app_secret=Secret("not-it")).send(PIXEL, _batch(1))
        missing = await rig.client().send(PIXEL, _batch(1))
        assert (wrong.kind, wrong.code) == (OutcomeKind.PERMANENT, 100)
        assert (missing.kind, missing.code) == (OutcomeKind.PERMANENT, 100)


# --- scripted faults ---------------------------------------------------------------------------


async def test_code_2_outage_is_retried_until_delivered(rig: Rig) -> None:
    """Two 500s with code 2 (is_transient) are retried with backoff; the third send lands."""
    await rig.fault(count=2, code=2, status=500)
    outcomes = await _deliver(rig, rig.client(), _batch(2))
    assert [(o.kind, o.status, o.code) for o in outcomes] == [
        (OutcomeKind.TRANSIENT, 500, 2),
        (OutcomeKind.TRANSIENT, 500, 2),
        (OutcomeKind.DELIVERED, 200, None),
    ]
    assert rig.clock() == NOW_S + 1.75 + 3.5  # backoff 2 s then 4 s, jittered with rand=0.5
    assert len((await rig.recorded())["events"]) == 2


async def test_html_502_from_a_proxy_is_transient(rig: Rig) -> None:
    """A non-JSON 502 page is retried like any 5xx."""
    await rig.fault(status=502, body="<html><h1>502 Bad Gateway</h1></html>")
    outcome = await rig.client().send(PIXEL, _batch(1))
    assert (outcome.kind, outcome.status, outcome.code) == (OutcomeKind.TRANSIENT, 502, None)


async def test_dropped_connection_is_transient(rig: Rig) -> None:
    """A connection dropped mid-answer comes back as a TRANSIENT outcome, not an exception."""
    await rig.fault(drop_connection=True)
    outcome = await rig.client().send(PIXEL, _batch(1))
    assert outcome.kind is OutcomeKind.TRANSIENT
    assert outcome.status is None and outcome.message


async def test_throttle_window_is_waited_out_from_the_usage_header(rig: Rig) -> None:
    """An 80004 window reports estimated_time_to_regain_access; waiting it out delivers."""
    await rig.fault(throttle={"duration_s": 240, "code": 80004})
    client = rig.client()
    outcomes = await _deliver(rig, client, _batch(1))
    throttled = outcomes[0]
    assert (throttled.kind, throttled.code, throttled.retry_after_s) == (
        OutcomeKind.RATE_LIMITED,
        80004,
        240.0,
    )
    assert [o.kind for o in outcomes[1:]] == [OutcomeKind.DELIVERED]
    assert rig.clock() == NOW_S + 240.0


async def test_retry_after_header_is_honoured(rig: Rig) -> None:
    """A throttle fault with Retry-After: 90 waits 90 s, more than the 60 s floor."""
    await rig.fault(code=4, retry_after_s=90)
    outcome = await rig.client().send(PIXEL, _batch(1))
    assert (outcome.kind, outcome.retry_after_s) == (OutcomeKind.RATE_LIMITED, 90.0)


async def test_token_error_pauses_until_a_probe_passes(rig: Rig) -> None:
    """190 pauses the pixel; a probe during the outage fails; a later one closes the circuit."""
    client = rig.client()
    await rig.fault(count=2, code=190)
    outcome = await client.send(PIXEL, _batch(1))
    decision = retry.decide(
        outcome, attempts=1, now_s=rig.clock(), oldest_event_time_s=NOW_S, rand=0.5
    )
    assert (outcome.kind, decision.kind) == (OutcomeKind.TOKEN, DecisionKind.PAUSE)
    circuit = retry.on_token_error(retry.CLOSED, rig.clock(), reason=decision.reason)

    for expected in (ProbeVerdict.FAILED, ProbeVerdict.PASSED):
        assert circuit.next_probe_at_s is not None
        rig.clock.set(circuit.next_probe_at_s)
        assert retry.probe_due(circuit, rig.clock())
        circuit = retry.start_probe(circuit, rig.clock())
        verdict = classify.probe_verdict(await client.probe(PIXEL))
        assert verdict is expected
        circuit = retry.on_probe_result(circuit, verdict, rig.clock())

    assert circuit.status is CircuitStatus.CLOSED
    assert (await client.send(PIXEL, _batch(1))).kind is OutcomeKind.DELIVERED
    recorded = await rig.recorded()
    assert (recorded["requests"], len(recorded["events"])) == (4, 1)  # probes created nothing


async def test_probe_creates_no_event(rig: Rig) -> None:
    """A passing probe leaves the emulator's record of events empty."""
    verdict = classify.probe_verdict(await rig.client().probe(PIXEL))
    assert verdict is ProbeVerdict.PASSED
    assert (await rig.recorded())["events"] == []


# --- configuration errors Meta reports ---------------------------------------------------------


async def test_unknown_and_expired_tokens_are_token_errors() -> None:
    """A token Graph does not know is 190; an expired one is 190/463; both pause."""
    config = EmulatorConfig(
        access_tokens=frozenset({Secret(TOKEN)}), expired_tokens=frozenset({Secret("EAAGold")})
    )
    async for rig in _rig(config):
        unknown = await rig.client("EAAGunknown").send(PIXEL, _batch(1))
        expired = await rig.client("EAAGold").send(PIXEL, _batch(1))
        assert (unknown.kind, unknown.code) == (OutcomeKind.TOKEN, 190)
        assert (expired.kind, expired.code, expired.subcode) == (OutcomeKind.TOKEN, 190, 463)
        assert classify.probe_verdict(await rig.client("EAAGunknown").probe(PIXEL)) is (
            ProbeVerdict.FAILED
        )


async def test_unknown_pixel_is_permanent_and_fails_the_probe() -> None:
    """100/33 (no such pixel, or no access) dead-letters sends and keeps the circuit open."""
    async for rig in _rig(EmulatorConfig(pixel_ids=frozenset({"999"}))):
        outcome = await rig.client().send(PIXEL, _batch(1))
        assert (outcome.kind, outcome.code, outcome.subcode) == (OutcomeKind.PERMANENT, 100, 33)
        assert classify.probe_verdict(await rig.client().probe(PIXEL)) is ProbeVerdict.FAILED


async def test_too_old_event_expires(rig: Rig) -> None:
    """An event past the 7-day window is refused (100/2804003) and expired, not dead-lettered."""
    old = NOW_S - 8 * 86_400
    outcome = await rig.client().send(PIXEL, _batch(1, event_time=old))
    decision = retry.decide(outcome, attempts=1, now_s=NOW_S, oldest_event_time_s=old, rand=0.5)
    assert (outcome.code, outcome.subcode) == (100, 2804003)
    assert decision.kind is DecisionKind.EXPIRE


async def test_deprecated_version_is_permanent() -> None:
    """A version Graph no longer serves (2635) is a permanent error naming the code."""
    async for rig in _rig(EmulatorConfig(deprecated_versions=frozenset({"v21.0"}))):
        outcome = await rig.client(api_version="v21.0").send(PIXEL, _batch(1))
        assert (outcome.kind, outcome.code) == (OutcomeKind.PERMANENT, 2635)
