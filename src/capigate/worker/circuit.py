"""Per-pixel token circuits: a refused token pauses that pixel's delivery until a probe passes.

A token error (190, 102, 104) on a send opens the pixel's circuit: the batch is released
without spending an attempt, the pixel is left out of leasing, and the error is logged as an
alert. A probe (``MetaClient.probe``: an empty batch that nothing records) is sent when due,
with growing delays; when it passes, the circuit closes and delivery resumes by itself. The
transitions are ``capigate.retry``'s pure functions; this board applies them, logs them and
saves them in the store, so that every worker on one database pauses and resumes together
and ``/readyz`` in any process can say why a pixel waits.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from capigate import retry
from capigate.classify import Outcome, ProbeVerdict, probe_verdict
from capigate.clock import Clock
from capigate.errors import StoreError
from capigate.retry import CLOSED, CircuitState, CircuitStatus, RetryPolicy
from capigate.store.circuits import PixelCircuit

SYNC_INTERVAL_S = 2.0  # how stale another worker's circuit change may be here
log = logging.getLogger("capigate.worker")
Probe = Callable[[str], Awaitable[Outcome]]


class CircuitLedger(Protocol):
    """Where circuits are shared between workers (the store)."""

    async def save_circuit(self, circuit: PixelCircuit) -> None: ...

    async def circuits(self) -> list[PixelCircuit]: ...


class CircuitBoard:
    """The circuits of every pixel this worker delivers to."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        clock: Clock,
        ledger: CircuitLedger | None = None,
        sync_interval_s: float = SYNC_INTERVAL_S,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._ledger = ledger
        self._sync_interval_s = sync_interval_s
        self._states: dict[str, CircuitState] = {}
        self._updated_at: dict[str, float] = {}
        self._synced_at = -math.inf

    def state(self, pixel_id: str) -> CircuitState:
        """The pixel's circuit (closed when never opened)."""
        return self._states.get(pixel_id, CLOSED)

    def paused(self) -> frozenset[str]:
        """Pixels whose delivery waits for a working token."""
        return frozenset(p for p, state in self._states.items() if state.paused)

    async def open(self, pixel_id: str, reason: str) -> None:
        """A send to this pixel was refused for its token: pause it (alerting once)."""
        before = self.state(pixel_id)
        now_s = self._clock()
        await self._set(
            pixel_id, retry.on_token_error(before, now_s, reason=reason, policy=self._policy)
        )
        if not before.paused:
            log.error("delivery paused: access token refused", extra=_fields(pixel_id, reason))

    async def close(self, pixel_id: str) -> None:
        """Meta accepted a send for this pixel: the token works again."""
        if self.state(pixel_id).paused:
            await self._set(pixel_id, retry.on_success(self.state(pixel_id)))
            log.warning("delivery resumed", extra=_fields(pixel_id, "a send succeeded"))

    async def probe_due(self, probe: Probe, pixels: Collection[str] | None = None) -> list[str]:
        """Probe every paused pixel (of ``pixels``) whose probe is due; returns those resumed."""
        resumed = []
        for pixel_id, state in list(self._states.items()):
            if pixels is not None and pixel_id not in pixels:
                continue
            due = state.paused and retry.probe_due(state, self._clock())
            if due and await self._probe(pixel_id, state, probe):
                resumed.append(pixel_id)
        return resumed

    async def sync(self, *, force: bool = False) -> None:
        """Adopt circuits that other workers saved since this one last looked."""
        now_s = self._clock()
        if self._ledger is None or (not force and now_s - self._synced_at < self._sync_interval_s):
            return
        self._synced_at = now_s
        try:
            records = await self._ledger.circuits()
        except StoreError:
            log.exception("circuits: cannot read the saved circuits")
            return
        for record in records:
            if record.updated_at > self._updated_at.get(record.pixel_id, -math.inf):
                self._states[record.pixel_id] = _state(record)
                self._updated_at[record.pixel_id] = record.updated_at

    def snapshot(self) -> list[dict[str, Any]]:
        """Every known circuit, for ``/readyz`` and ``/metrics``."""
        return [circuit_report(_record(p, s, self._updated_at[p])) for p, s in self._items()]

    async def _probe(self, pixel_id: str, state: CircuitState, probe: Probe) -> bool:
        self._states[pixel_id] = retry.start_probe(state, self._clock(), policy=self._policy)
        outcome = await probe(pixel_id)
        verdict = probe_verdict(outcome)
        reason = None if verdict is ProbeVerdict.PASSED else f"probe: {_describe(outcome)}"
        after = retry.on_probe_result(
            self.state(pixel_id), verdict, self._clock(), reason=reason, policy=self._policy
        )
        await self._set(pixel_id, after)
        if after.paused:
            log.warning("token probe did not pass", extra=_fields(pixel_id, after.reason))
            return False
        log.warning("delivery resumed", extra=_fields(pixel_id, "token probe passed"))
        return True

    async def _set(self, pixel_id: str, state: CircuitState) -> None:
        now_s = self._clock()
        self._states[pixel_id] = state
        self._updated_at[pixel_id] = now_s
        if self._ledger is None:
            return
        try:
            await self._ledger.save_circuit(_record(pixel_id, state, now_s))
        except StoreError:
            log.exception("circuits: cannot save", extra=_fields(pixel_id, state.reason))

    def _items(self) -> list[tuple[str, CircuitState]]:
        return sorted(self._states.items())


def circuit_report(record: PixelCircuit) -> dict[str, Any]:
    """A circuit as ``/readyz`` shows it."""
    return {
        "pixel_id": record.pixel_id,
        "status": record.status,
        "reason": record.reason,
        "opened_at": record.opened_at,
        "next_probe_at": record.next_probe_at,
        "failed_probes": record.failed_probes,
    }


def _record(pixel_id: str, state: CircuitState, now_s: float) -> PixelCircuit:
    return PixelCircuit(
        pixel_id=pixel_id,
        status=state.status.value,
        reason=state.reason,
        opened_at=state.opened_at_s,
        next_probe_at=state.next_probe_at_s,
        failed_probes=state.failed_probes,
        updated_at=now_s,
    )


def _state(record: PixelCircuit) -> CircuitState:
    return CircuitState(
        status=CircuitStatus(record.status),
        opened_at_s=record.opened_at,
        reason=record.reason,
        next_probe_at_s=record.next_probe_at,
        failed_probes=record.failed_probes,
    )


def _describe(outcome: Outcome) -> str:
    text = outcome.user_title or outcome.message or outcome.kind.value
    if outcome.code is None:
        return text
    code = f"{outcome.code}/{outcome.subcode}" if outcome.subcode is not None else outcome.code
    return f"{text} (code {code})"


def _fields(pixel_id: str, reason: str) -> dict[str, Any]:
    return {"fields": {"pixel_id": pixel_id, "reason": reason}}
