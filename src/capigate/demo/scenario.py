"""The demo's month: its users, their actions, and the bad days scripted into the emulator.

Users arrive over the first ``ARRIVAL_SHARE`` of the month, in the daytime. Four things go
wrong, each at a fixed point of the month so that they never overlap:

* an outage at Meta (every request answers HTTP 500, code 2) for ``OUTAGE_S``: batches back
  off and are delivered once it ends;
* a throttling window (code 80004 with Meta's usage header) for ``THROTTLE_S``: batches wait
  for the time Meta says;
* a poison event: at night, a user who found the bot on their own sends ``/start``; Meta
  refuses it for good as "insufficient customer information" (100/2804050), a judgement only
  Meta can make. The runner scripts the emulator to refuse the one request that carries it,
  which it sends alone, so the worker dead-letters it with Meta's code and subcode;
* a late replay: the billing backend re-sends a charge from almost 7 days ago. The gateway
  accepts it (it is inside Meta's window), but too close to the limit to send safely, so the
  worker expires it with a reason instead of risking the whole batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capigate.demo.draw import Rng, between
from capigate.demo.items import subscribe
from capigate.demo.journey import DAY_S, HOUR_S, MINUTE_S, Action, Sender, journey
from capigate.demo.people import Person, make_person

ARRIVAL_SHARE = 0.75
OUTAGE_S = 2 * HOUR_S
THROTTLE_S = 45 * MINUTE_S
MAX_EVENT_AGE_S = 7 * DAY_S
LATE_BY_S = 5 * MINUTE_S  # the replayed charge is this far from Meta's 7-day limit
POISON_FAULT: Mapping[str, Any] = {
    "count": 1,
    "code": 100,
    "subcode": 2804050,
    "status": 400,
    "message": "Invalid parameter",
    "error_user_title": (
        "You haven't added sufficient customer information parameter data for this event"
    ),
    "error_user_msg": "The event has no customer information parameters that allow matching.",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """A failure scripted into the emulator at ``at_s`` (``spec``: the POST /faults body)."""

    at_s: float
    name: str
    description: str
    spec: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the runner plays: people, their actions in time order, scripted faults."""

    start_s: float
    days: int
    people: tuple[Person, ...]
    actions: tuple[Action, ...]
    faults: tuple[Fault, ...]

    @property
    def end_s(self) -> float:
        """The end of the simulated month (exclusive)."""
        return self.start_s + self.days * DAY_S


def build(rng: Rng, *, users: int, days: int, start_s: float) -> Scenario:
    """The month for ``users`` people over ``days`` days from ``start_s`` (midnight UTC)."""
    if users < 1 or days < 1:
        raise ValueError("users and days: must be at least 1")
    end_s = start_s + days * DAY_S
    people = [make_person(rng, index) for index in range(users)]
    actions: list[Action] = []
    for person in people:
        actions += journey(person, rng, arrive_s=_arrival(rng, start_s, days), end_s=end_s)
    night_owl = _poison_person(rng, users, start_s, days, end_s)
    legacy = make_person(rng, users + 1)
    actions += [*night_owl[1], _late_replay(legacy, _day(start_s, days, 0.75) + 10 * HOUR_S)]
    return Scenario(
        start_s=start_s,
        days=days,
        people=(*people, night_owl[0], legacy),
        actions=tuple(sorted(actions, key=lambda a: a.at_s)),
        faults=_faults(start_s, days),
    )


def _arrival(rng: Rng, start_s: float, days: int) -> float:
    day = int(between(rng, 0, max(1.0, days * ARRIVAL_SHARE)))
    return start_s + day * DAY_S + between(rng, 7 * HOUR_S, 23 * HOUR_S)


def _day(start_s: float, days: int, share: float) -> float:
    """Midnight of the day ``share`` of the way through the month."""
    return start_s + int(days * share) * DAY_S


def _poison_person(
    rng: Rng, index: int, start_s: float, days: int, end_s: float
) -> tuple[Person, list[Action]]:
    person = dataclasses.replace(make_person(rng, index), direct_to_bot=True)
    at_s = _day(start_s, days, 0.45) + 3.5 * HOUR_S
    first, *rest = journey(person, rng, arrive_s=at_s, end_s=end_s)
    assert first.sender is Sender.BOT and first.item["event"] == "start_bot"
    note = (
        "Meta refuses a /start event for good: insufficient customer information "
        f"(code {POISON_FAULT['code']}/{POISON_FAULT['subcode']})"
    )
    return person, [dataclasses.replace(first, poison=True, note=note), *rest]


def _late_replay(person: Person, at_s: float) -> Action:
    """A charge from just inside Meta's 7-day window, re-sent by the billing backend."""
    item = subscribe(person, f"txn-{person.telegram_id}-legacy", "monthly")
    item["event_time"] = int(at_s - MAX_EVENT_AGE_S + LATE_BY_S)
    note = (
        "the billing backend re-sends a charge from 6 days 23 h 55 min ago: accepted, "
        "too close to Meta's 7-day limit to send"
    )
    return Action(at_s, Sender.BILLING, person.index, item, note=note)


def _faults(start_s: float, days: int) -> tuple[Fault, ...]:
    outage = {"duration_s": OUTAGE_S, "code": 2, "status": 500, "usage_header": False}
    throttle = {"duration_s": THROTTLE_S, "code": 80004}
    return (
        Fault(
            _day(start_s, days, 0.3) + 12 * HOUR_S,
            "outage",
            f"Meta answers HTTP 500 (code 2) to everything for {_span(OUTAGE_S)}",
            {"throttle": outage},
        ),
        Fault(
            _day(start_s, days, 0.6) + 20 * HOUR_S,
            "throttle",
            f"Meta throttles the pixel (code 80004, usage header) for {_span(THROTTLE_S)}",
            {"throttle": throttle},
        ),
    )


def _span(seconds: float) -> str:
    """``2 h`` or ``45 min``."""
    return f"{seconds / HOUR_S:g} h" if seconds % HOUR_S == 0 else f"{seconds / MINUTE_S:g} min"
