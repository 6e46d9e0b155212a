"""Playing the demo's month: build the scenario, stage the gateway, step through simulated time.

Each ``STEP_S`` of simulated time the runner first lets the worker deliver what has waited the
flush interval (scripted faults start at their step), then plays the step's actions: the
landing page's at once, the bot's and billing backend's as one batch each at the step's end,
as their clients would, and the scenario's incidents at once. After the last day it keeps
delivering, moving the clock to each next retry, until the outbox is empty. The poison event
is played on its own: everything before it is delivered first, so the one request the
emulator is told to refuse carries it alone and the worker cannot split it.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from capigate.clock import FrozenClock
from capigate.demo.journey import DAY_S, MINUTE_S, Action
from capigate.demo.report import Report, build_report
from capigate.demo.scenario import POISON_FAULT, Fault, Scenario, build
from capigate.demo.stage import WORKER, Stage, staged
from capigate.plan import default_plan
from capigate.store import open_store

DEMO_START_S = 1_763_769_600.0  # 2025-11-22 00:00 UTC; a fixed start makes a seed's month fixed
STEP_S = 15 * MINUTE_S
SETTLE_S = WORKER.flush_interval_s  # how long an event waits in the outbox before it may go
MAX_DRAIN_S = 8 * DAY_S  # retries still waiting this long after the month are a bug
MAX_ALONE_ROUNDS = 20


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``capigate demo`` was asked for; ``db_url`` None means a temporary SQLite file."""

    users: int = 300
    days: int = 30
    seed: int = 1
    db_url: str | None = None


@dataclass(frozen=True, slots=True)
class DayDone:
    """Progress after a simulated day: stored events by where they are."""

    day: int
    days: int
    accepted: int
    delivered: int
    waiting: int
    dead: int
    expired: int


@dataclass(frozen=True, slots=True)
class DemoResult:
    """The report, the scenario played, what went wrong on purpose, and what it cost."""

    report: Report
    scenario: Scenario
    incidents: tuple[str, ...]
    refusals: tuple[str, ...]
    received: tuple[dict[str, Any], ...]  # the emulator's record: every event Meta accepted
    posted: int  # items the senders posted
    activity: int  # of which plain activity (kept as user state, never sent to Meta)
    elapsed_s: float
    db_url: str


async def run_demo(
    options: DemoOptions, *, on_day: Callable[[DayDone], None] | None = None
) -> DemoResult:
    """Simulate the month and return its report; ``on_day`` hears after each simulated day."""
    started = time.perf_counter()
    rng = random.Random(options.seed)
    scenario = build(rng, users=options.users, days=options.days, start_s=DEMO_START_S)
    with _database(options.db_url) as url:
        clock = FrozenClock(scenario.start_s)
        store = open_store(url, clock=clock)
        try:
            await store.migrate()
            async with staged(store, clock, seed=options.seed) as stage:
                incidents = await _play(stage, scenario, on_day)
                await _drain(stage)
                report, received = await _report(stage)
                refusals = tuple(stage.refusals)
        finally:
            await store.close()
    elapsed_s = time.perf_counter() - started
    activities = default_plan().lifecycle
    names = set(activities.activities) if activities else set()
    activity = sum(action.item["event"] in names for action in scenario.actions)
    return DemoResult(
        report, scenario, tuple(incidents), refusals, tuple(received), len(scenario.actions),
        activity, elapsed_s, url,
    )  # fmt: skip


@contextmanager
def _database(db_url: str | None) -> Iterator[str]:
    if db_url is not None:
        yield db_url
        return
    with tempfile.TemporaryDirectory(prefix="capigate-demo-") as folder:
        yield f"sqlite:///{folder}/demo.db?synchronous=normal"  # throwaway data: no fsync


async def _play(
    stage: Stage, scenario: Scenario, on_day: Callable[[DayDone], None] | None
) -> list[str]:
    actions = deque(scenario.actions)
    faults = deque(scenario.faults)
    incidents: list[str] = []
    for day in range(scenario.days):
        for step in range(int(DAY_S // STEP_S)):
            step_s = scenario.start_s + day * DAY_S + step * STEP_S
            incidents += await _advance(stage, scenario, step_s + SETTLE_S, faults)
            while actions and actions[0].at_s < step_s + STEP_S:
                action = actions.popleft()
                if action.note is not None:
                    incidents.append(f"{_when(scenario, action.at_s)}: {action.note}")
                if action.poison:
                    await _poison(stage, scenario, action)
                elif action.note is not None:
                    await _at_once(stage, scenario, action)
                else:
                    await stage.post(action, scenario.people[action.person])
            await stage.flush()
        if on_day is not None:
            on_day(await _progress(stage, day + 1, scenario.days))
    return incidents


async def _advance(
    stage: Stage, scenario: Scenario, now_s: float, faults: deque[Fault]
) -> list[str]:
    """Move the clock to ``now_s``, start the faults due by then, deliver what is due."""
    stage.clock.set(max(stage.clock(), now_s))
    started = []
    while faults and faults[0].at_s <= stage.clock():
        fault = faults.popleft()
        await stage.fault(fault.spec)
        started.append(f"{_when(scenario, stage.clock())}: {fault.description}")
    await stage.deliver()
    return started


async def _poison(stage: Stage, scenario: Scenario, action: Action) -> None:
    """Send the poison event alone in its request, which the emulator refuses for good."""
    await stage.flush()
    await _deliver_all_due(stage)
    await stage.post(action, scenario.people[action.person])
    await stage.flush()
    stage.clock.advance(SETTLE_S)
    await stage.fault(POISON_FAULT)
    await stage.deliver()


async def _at_once(stage: Stage, scenario: Scenario, action: Action) -> None:
    """Post and deliver an incident's action without waiting for the step's end."""
    await stage.post(action, scenario.people[action.person])
    await stage.flush()
    stage.clock.advance(SETTLE_S)
    await stage.deliver()


async def _deliver_all_due(stage: Stage) -> None:
    """Deliver until nothing else is due when the next event may go (the tick may add some)."""
    for _ in range(MAX_ALONE_ROUNDS):
        stage.clock.advance(SETTLE_S)
        await stage.deliver()
        horizon_s = stage.clock() + 2 * SETTLE_S
        due = [e for e in await stage.pending() if (e.next_attempt_at or 0.0) <= horizon_s]
        if not due:
            return


async def _drain(stage: Stage) -> None:
    """After the month: deliver, then jump to the next due retry, until the outbox is empty."""
    deadline_s = stage.clock() + MAX_DRAIN_S
    while stage.clock() < deadline_s:
        await stage.deliver()
        pending = await stage.pending()
        if not pending:
            return
        due_s = min(e.next_attempt_at or stage.clock() for e in pending)
        stage.clock.set(max(stage.clock(), due_s) + SETTLE_S)


async def _progress(stage: Stage, day: int, days: int) -> DayDone:
    counts = (await stage.store.stats()).by_status
    waiting = sum(counts.get(status, 0) for status in ("queued", "retry", "leased"))
    return DayDone(
        day=day,
        days=days,
        accepted=sum(counts.values()),
        delivered=counts.get("delivered", 0),
        waiting=waiting,
        dead=counts.get("dead", 0),
        expired=counts.get("expired", 0),
    )


async def _report(stage: Stage) -> tuple[Report, list[dict[str, Any]]]:
    requests, received = await stage.received()
    report = build_report(
        await stage.records(),
        duplicates=stage.duplicates,
        received=received,
        graph_requests=requests,
        plan_order=default_plan().keys,
        graph_log=await stage.graph_log(),
    )
    return report, received


def _when(scenario: Scenario, at_s: float) -> str:
    """``day 10 12:00`` of the simulated month."""
    offset_s = at_s - scenario.start_s
    day, rest_s = int(offset_s // DAY_S) + 1, offset_s % DAY_S
    return f"day {day} {int(rest_s // 3600):02d}:{int(rest_s % 3600 // 60):02d}"
