"""Per-pixel token circuits: open on a token error, probe with backoff, close, share via store."""

from __future__ import annotations

import logging

import pytest

from capigate.classify import Outcome, OutcomeKind
from capigate.clock import FrozenClock
from capigate.errors import StoreError
from capigate.retry import CircuitStatus, RetryPolicy
from capigate.store import InMemoryStore
from capigate.store.circuits import PixelCircuit
from capigate.worker.circuit import CircuitBoard
from tests.worker_kit import NOW_S, PIXEL

POLICY = RetryPolicy(probe_base_delay_s=30.0, probe_max_delay_s=600.0)
REFUSED = Outcome(OutcomeKind.TOKEN, status=400, code=190, message="Invalid OAuth access token")
EMPTY_BATCH = Outcome(OutcomeKind.PERMANENT, status=400, code=100, subcode=2804019)


class Prober:
    """A probe that answers from a script and counts its calls."""

    def __init__(self, *answers: Outcome) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, pixel_id: str) -> Outcome:
        self.calls.append(pixel_id)
        return self.answers.pop(0)


def _board(clock: FrozenClock, ledger: InMemoryStore | None = None) -> CircuitBoard:
    return CircuitBoard(policy=POLICY, clock=clock, ledger=ledger)


async def test_a_token_error_opens_the_circuit_and_alerts_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Open: the pixel is paused, the reason kept, one ERROR log however many sends fail."""
    board = _board(FrozenClock(NOW_S))
    with caplog.at_level(logging.ERROR, logger="capigate.worker"):
        await board.open(PIXEL, "access token refused (code 190)")
        await board.open(PIXEL, "access token refused again (code 190)")
    assert board.paused() == {PIXEL}
    state = board.state(PIXEL)
    assert state.reason == "access token refused again (code 190)"
    assert state.next_probe_at_s == NOW_S + 30
    assert [r.getMessage() for r in caplog.records] == ["delivery paused: access token refused"]


async def test_no_probe_before_it_is_due() -> None:
    """The first probe waits probe_base_delay_s."""
    clock = FrozenClock(NOW_S)
    board = _board(clock)
    await board.open(PIXEL, "190")
    prober = Prober()
    clock.advance(29)
    assert await board.probe_due(prober) == []
    assert prober.calls == []


async def test_failed_probes_back_off_and_a_passed_probe_closes() -> None:
    """Refused probes double the wait; the empty-batch 100 answer proves the token and closes."""
    clock = FrozenClock(NOW_S)
    board = _board(clock)
    await board.open(PIXEL, "190")
    prober = Prober(REFUSED, EMPTY_BATCH)
    clock.advance(30)
    assert await board.probe_due(prober) == []
    state = board.state(PIXEL)
    assert (state.status, state.failed_probes) == (CircuitStatus.OPEN, 1)
    assert state.next_probe_at_s == clock() + 60
    assert "probe: Invalid OAuth access token (code 190)" in state.reason
    clock.advance(60)
    assert await board.probe_due(prober) == [PIXEL]
    assert board.paused() == frozenset()


async def test_an_inconclusive_probe_keeps_the_pixel_paused_without_counting() -> None:
    """A 5xx probe proves nothing: still open, no failed probe counted."""
    clock = FrozenClock(NOW_S)
    board = _board(clock)
    await board.open(PIXEL, "190")
    clock.advance(30)
    await board.probe_due(Prober(Outcome(OutcomeKind.TRANSIENT, status=500, code=2)))
    assert board.state(PIXEL).paused and board.state(PIXEL).failed_probes == 0


async def test_a_successful_send_closes_the_circuit() -> None:
    """Meta accepting a send for the pixel resumes it at once."""
    board = _board(FrozenClock(NOW_S))
    await board.open(PIXEL, "190")
    await board.close(PIXEL)
    assert board.paused() == frozenset()


async def test_circuits_are_saved_and_other_workers_adopt_them() -> None:
    """Worker B sees worker A's open circuit through the store, then A's close."""
    clock = FrozenClock(NOW_S)
    store = InMemoryStore(clock=clock)
    board_a, board_b = _board(clock, store), _board(clock, store)
    await board_a.open(PIXEL, "190")
    clock.advance(1)
    await board_b.sync(force=True)
    assert board_b.paused() == {PIXEL}
    clock.advance(1)
    await board_a.close(PIXEL)
    clock.advance(1)
    await board_b.sync(force=True)
    assert board_b.paused() == frozenset()
    assert [(c.pixel_id, c.status) for c in await store.circuits()] == [(PIXEL, "closed")]


async def test_sync_reads_the_store_at_most_every_interval() -> None:
    """Between intervals the board trusts what it knows."""
    clock = FrozenClock(NOW_S)
    store = InMemoryStore(clock=clock)
    board = _board(clock, store)
    await board.sync()
    store.reset()
    clock.advance(1)
    await board.sync()
    assert store.calls == []
    clock.advance(1)
    await board.sync()
    assert [name for name, _ in store.calls] == ["circuits"]


async def test_the_snapshot_says_why_delivery_waits() -> None:
    """The snapshot lists each circuit with status, reason and next probe time."""
    board = _board(FrozenClock(NOW_S))
    await board.open(PIXEL, "access token refused (code 190)")
    assert board.snapshot() == [
        {
            "pixel_id": PIXEL,
            "status": "open",
            "reason": "access token refused (code 190)",
            "opened_at": NOW_S,
            "next_probe_at": NOW_S + 30,
            "failed_probes": 0,
        }
    ]


class BrokenLedger:
    """A store that fails every circuit read and write."""

    async def save_circuit(self, circuit: PixelCircuit) -> None:
        raise StoreError("down")

    async def circuits(self) -> list[PixelCircuit]:
        raise StoreError("down")


async def test_a_failing_store_does_not_stop_the_circuit(caplog: pytest.LogCaptureFixture) -> None:
    """Save and sync failures are logged; the board keeps working in memory."""
    board = CircuitBoard(policy=POLICY, clock=FrozenClock(NOW_S), ledger=BrokenLedger())
    with caplog.at_level(logging.ERROR, logger="capigate.worker"):
        await board.open(PIXEL, "190")
        await board.sync(force=True)
    assert board.paused() == {PIXEL}
    messages = [r.getMessage() for r in caplog.records]
    assert "circuits: cannot save" in messages
    assert "circuits: cannot read the saved circuits" in messages


async def test_only_the_given_pixels_are_probed() -> None:
    """A circuit saved for a pixel this worker has no client for is never probed here."""
    clock = FrozenClock(NOW_S)
    board = _board(clock)
    await board.open("999", "190")
    clock.advance(30)
    prober = Prober(EMPTY_BATCH)
    assert await board.probe_due(prober, pixels={PIXEL}) == []
    assert prober.calls == []
