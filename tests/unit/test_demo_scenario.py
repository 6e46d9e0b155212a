"""The demo's simulated month (pure): seeded, in time order, in the plan's terms, faults valid."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from typing import Any

import pytest

from capigate.attribution import is_token
from capigate.clock import FrozenClock
from capigate.demo import draw
from capigate.demo.journey import DAY_S, ONBOARDING_STEPS, Action, Sender
from capigate.demo.people import make_person
from capigate.demo.scenario import POISON_FAULT, Scenario, build
from capigate.emulator.faults import FaultPlan
from capigate.normalize import hash_field
from capigate.plan import ACTION_SOURCES, SourceInfo, default_plan, to_meta_event
from capigate.retry import MAX_EVENT_AGE_S, RetryPolicy

START_S = 1_763_769_600.0
PLAN = default_plan()
ACTIVITIES = set(PLAN.lifecycle.activities) if PLAN.lifecycle else set()
SOURCES = {
    Sender.WEBSITE: SourceInfo("landing", "website", frozenset({"website"})),
    Sender.BOT: SourceInfo("bot", "bot", ACTION_SOURCES),
    Sender.BILLING: SourceInfo("billing", "server", ACTION_SOURCES),
}
DOC_NETS = [
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


@pytest.fixture(scope="module")
def month() -> Scenario:
    """60 users over 30 days, seed 3."""
    return build(random.Random(3), users=60, days=30, start_s=START_S)


def _by_person(month: Scenario) -> dict[int, list[Action]]:
    found: dict[int, list[Action]] = {}
    for action in month.actions:
        found.setdefault(action.person, []).append(action)
    return found


def test_a_seed_gives_the_same_month_and_another_seed_another() -> None:
    """Same seed, same actions (items included); a different seed differs."""
    first = build(random.Random(9), users=20, days=10, start_s=START_S)
    again = build(random.Random(9), users=20, days=10, start_s=START_S)
    other = build(random.Random(10), users=20, days=10, start_s=START_S)
    assert [(a, a.item) for a in first.actions] == [(a, a.item) for a in again.actions]
    assert [a.item for a in first.actions] != [a.item for a in other.actions]


def test_actions_are_in_time_order_inside_the_month(month: Scenario) -> None:
    """Sorted by time, none before the start or at/after the end."""
    times = [a.at_s for a in month.actions]
    assert times == sorted(times)
    assert all(month.start_s <= t < month.end_s for t in times)


def test_every_item_maps_through_the_default_plan(month: Scenario) -> None:
    """Each plan-key item maps without an error finding from its sender; the rest are activity."""
    for action in month.actions:
        item: dict[str, Any] = {"event_time": int(action.at_s), **action.item}
        if item["event"] in ACTIVITIES:
            assert action.sender is Sender.BOT or item["event"] == "checkout_completed"
            continue
        mapped = to_meta_event(item, PLAN, source=SOURCES[action.sender], now_s=action.at_s)
        assert mapped.ok, (item["event"], [f.message for f in mapped.findings if f.is_error])


def test_the_funnel_runs_in_order_per_user(month: Scenario) -> None:
    """Landing view, click, /start with the page's token, steps in order, one first entry."""
    people = month.people
    for index, actions in _by_person(month).items():
        events = [a.item["event"] for a in actions]
        if "cta_click" in events:
            assert events.index("landing_view") < events.index("cta_click")
        if "start_bot" in events and "cta_click" in events:
            assert events.index("cta_click") < events.index("start_bot")
            start = actions[events.index("start_bot")].item
            assert start["context"]["start_param"] == people[index].landing_token
        keys = [e for e in events if e.startswith("onboarding_") and e not in ACTIVITIES]
        steps = [e.removeprefix("onboarding_") for e in keys]
        assert steps == list(ONBOARDING_STEPS[: len(steps)])
        assert events.count("first_entry") <= 1
        if "first_entry" in events:
            assert events.index("onboarding_capital") < events.index("first_entry")


def test_browser_items_claim_no_telegram_user_and_server_items_always_do(
    month: Scenario,
) -> None:
    """A browser key cannot claim a Telegram id; bot and billing items all name theirs."""
    for action in month.actions:
        user = action.item.get("user", {})
        if action.sender is Sender.WEBSITE:
            assert "telegram_id" not in user
            assert is_token(action.item["context"]["landing_token"])
        else:
            assert user["telegram_id"] == str(month.people[action.person].telegram_id)


def test_the_month_has_duplicates_abandonment_and_payments(month: Scenario) -> None:
    """Restarts and resent charges (duplicates), abandoned onboarding, the billing events."""
    events = Counter(a.item["event"] for a in month.actions)
    starts = Counter(a.person for a in month.actions if a.item["event"] == "start_bot")
    assert max(starts.values()) == 2  # someone pressed /start twice
    assert events["onboarding_language"] > events["onboarding_capital"]  # some gave up
    for key in ("subscribe", "checkout_started", "checkout_completed", "bot_message"):
        assert events[key] > 0


def test_one_poison_event_sent_by_a_user_without_a_landing_page(month: Scenario) -> None:
    """Exactly one poison action: a /start with no link token, at night, with its note."""
    [poison] = [a for a in month.actions if a.poison]
    assert poison.sender is Sender.BOT and poison.item["event"] == "start_bot"
    assert "context" not in poison.item
    assert (poison.at_s - month.start_s) % DAY_S == 3.5 * 3600
    assert poison.note and "2804050" in poison.note


def test_the_late_replay_is_accepted_but_past_the_workers_deadline(month: Scenario) -> None:
    """Its age is under Meta's 7 days yet past the deadline the worker keeps before them."""
    [late] = [a for a in month.actions if "event_time" in a.item and a.sender is Sender.BILLING]
    event_time = late.item["event_time"]
    assert late.at_s - event_time < MAX_EVENT_AGE_S
    assert late.at_s > RetryPolicy().deadline_s(event_time)
    assert late.note


def test_scripted_faults_are_what_the_emulator_takes(month: Scenario) -> None:
    """Each fault body (and the poison's) is accepted by the emulator's fault plan."""
    plan = FaultPlan(FrozenClock(START_S))
    for fault in month.faults:
        assert month.start_s <= fault.at_s < month.end_s
        plan.add(fault.spec)
    plan.add(POISON_FAULT)
    assert plan.snapshot()["faults"][0]["subcode"] == 2804050
    assert len({f.at_s for f in month.faults}) == len(month.faults)


def test_people_are_made_up_but_well_formed() -> None:
    """Unique Telegram ids, documentation IPs, phones that normalize, valid link tokens."""
    rng = random.Random(4)
    people = [make_person(rng, i) for i in range(300)]
    assert len({p.telegram_id for p in people}) == len(people)
    for person in people:
        address = ipaddress.ip_address(person.ip)
        assert any(address in net for net in DOC_NETS)
        assert hash_field("ph", person.phone, default_region="UZ")
        assert is_token(person.landing_token)
        assert ("fbclid=" in person.page_url) == (person.fbclid is not None)


def test_build_refuses_an_empty_month() -> None:
    """No users or no days is a mistake, said so."""
    with pytest.raises(ValueError, match="at least 1"):
        build(random.Random(1), users=0, days=3, start_s=START_S)


class _Fixed:
    """A source of randomness that always answers the same."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        low, high = (0, start) if stop is None else (start, stop)
        return low + int((high - low) * self.value)

    def getrandbits(self, k: int, /) -> int:
        return int((2**k - 1) * self.value)


def test_draw_helpers_follow_the_source() -> None:
    """chance, between, pick, digits and token read the source as documented."""
    low, high = _Fixed(0.0), _Fixed(0.999)
    assert draw.chance(low, 0.5) and not draw.chance(high, 0.5)
    assert draw.between(low, 10, 20) == 10 and 19.9 < draw.between(high, 10, 20) < 20
    assert draw.pick(low, "abc") == "a" and draw.pick(high, "abc") == "c"
    assert draw.digits(high, 4) == "9999"
    assert draw.token(low, 5) == "AAAAA" and len(draw.token(high, 64)) == 64
