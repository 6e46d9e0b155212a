"""One user's month as a list of timed actions: who sends what to the gateway, and when.

The funnel and its rates (seed 000's product: a Telegram expense tracker):

* landing page: every visitor loads it; ``CTA_RATE`` click "Open in Telegram", ``START_RATE``
  of them press ``/start``; ``DIRECT_TO_BOT_SHARE`` of users skip the page (no link token);
* ``RESTART_RATE`` press ``/start`` twice (the gateway answers ``duplicate``);
* onboarding: five steps a minute or so apart, each continued with ``STEP_RATE`` (an
  abandoned one becomes Drop_Off 30 minutes later, derived by the lifecycle engine);
* ``FIRST_EXPENSE_RATE`` log a first expense within a day and a half; afterwards each user
  comes back on a day with a personal probability that fades by ``FADE_PER_DAY``;
* ``CHECKOUT_RATE`` open the checkout within 8 days, ``PAY_RATE`` of them pay (the billing
  backend resends ``WEBHOOK_RESEND_RATE`` of charges: duplicates), the rest abandon it;
  subscribers cancel (``CANCEL_RATE``), come back (``REACTIVATE_RATE``) or change tier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from capigate.demo.draw import Rng, between, chance, pick
from capigate.demo.items import (
    EXPENSE_CATEGORIES,
    bot_message,
    cancel,
    checkout,
    cta_click,
    expense,
    landing_view,
    onboarding_step,
    plan_change,
    start_bot,
    subscribe,
)
from capigate.demo.people import Person

MINUTE_S = 60.0
HOUR_S = 3_600.0
DAY_S = 86_400.0
CTA_RATE = 0.65
START_RATE = 0.8
RESTART_RATE = 0.05
STEP_RATE = 0.93
ONBOARDING_STEPS = ("language", "name", "phone", "currency", "capital")
FIRST_EXPENSE_RATE = 0.85
FADE_PER_DAY = 0.97
EXPENSE_SHARE = 0.6  # sessions in which the user logs an expense
CHECKOUT_RATE = 0.35
PAY_RATE = 0.8
WEBHOOK_RESEND_RATE = 0.1
CANCEL_RATE = 0.2
REACTIVATE_RATE = 0.4
PLAN_CHANGE_RATE = 0.15


class Sender(StrEnum):
    """Who posts an item to the gateway."""

    WEBSITE = "website"  # the landing page, from the visitor's browser (a browser key)
    BOT = "bot"  # the Telegram bot's backend (a server key, through capigate.client)
    BILLING = "billing"  # the billing backend (a server key, through capigate.client)


@dataclass(frozen=True, slots=True)
class Action:
    """One item posted at ``at_s`` (Unix seconds) by ``sender`` for user ``person``."""

    at_s: float
    sender: Sender
    person: int
    item: dict[str, Any] = field(compare=False)
    poison: bool = False  # Meta refuses it for good (the scenario scripts the emulator)
    note: str | None = None  # what goes wrong on purpose with this action, for the summary


def journey(person: Person, rng: Rng, *, arrive_s: float, end_s: float) -> list[Action]:
    """Everything ``person`` does from ``arrive_s`` until ``end_s``, in time order."""
    plan = _Plan(person)
    started_s = arrive_s
    token: str | None = None
    if not person.direct_to_bot:
        fbp = f"fb.1.{int(arrive_s * 1000)}.{person.browser_id}"  # the Pixel's _fbp cookie
        plan.web(arrive_s, landing_view(person, arrive_s, fbp))
        if not chance(rng, CTA_RATE):
            return plan.before(end_s)
        clicked_s = arrive_s + between(rng, 20, 180)
        plan.web(clicked_s, cta_click(person, clicked_s, fbp))
        if not chance(rng, START_RATE):
            return plan.before(end_s)
        started_s, token = clicked_s + between(rng, 10, 120), person.landing_token
    plan.bot(started_s, start_bot(person, token))
    if chance(rng, RESTART_RATE):
        plan.bot(started_s + between(rng, 30, 300), start_bot(person, token))
    onboarded_s = _onboarding(plan, rng, started_s)
    if onboarded_s is not None:
        _usage(plan, rng, onboarded_s, end_s)
        _billing(plan, rng, onboarded_s, end_s)
    return plan.before(end_s)


class _Plan:
    """Actions being collected for one person."""

    def __init__(self, person: Person) -> None:
        self.person = person
        self.actions: list[Action] = []
        self.transactions = 0

    def web(self, at_s: float, item: dict[str, Any]) -> None:
        self.actions.append(Action(at_s, Sender.WEBSITE, self.person.index, item))

    def bot(self, at_s: float, *posted: dict[str, Any]) -> None:
        for item in posted:
            self.actions.append(Action(at_s, Sender.BOT, self.person.index, item))

    def billing(self, at_s: float, *posted: dict[str, Any]) -> None:
        for item in posted:
            self.actions.append(Action(at_s, Sender.BILLING, self.person.index, item))

    def transaction(self) -> str:
        self.transactions += 1
        return f"txn-{self.person.telegram_id}-{self.transactions}"

    def before(self, end_s: float) -> list[Action]:
        return sorted((a for a in self.actions if a.at_s < end_s), key=lambda a: a.at_s)


def _onboarding(plan: _Plan, rng: Rng, started_s: float) -> float | None:
    """The five steps; when the user completed them, else None (abandoned)."""
    at_s = started_s
    for step in ONBOARDING_STEPS:
        if step != ONBOARDING_STEPS[0] and not chance(rng, STEP_RATE):
            return None
        at_s += between(rng, 15, 120)
        plan.bot(at_s, *onboarding_step(plan.person, step))
    return at_s


def _usage(plan: _Plan, rng: Rng, onboarded_s: float, end_s: float) -> None:
    """The first expense, then sessions on the days the user comes back."""
    first_s = onboarded_s + between(rng, MINUTE_S, 36 * HOUR_S)
    logs_expenses = chance(rng, FIRST_EXPENSE_RATE)
    if logs_expenses:
        plan.bot(first_s, *_expense(plan.person, rng, first=True))
    engagement = between(rng, 0.15, 0.9)
    day = 1
    while (day_s := onboarded_s + day * DAY_S) < end_s:
        if chance(rng, engagement * FADE_PER_DAY**day):
            for _ in range(1 + rng.randrange(3)):
                at_s = day_s + between(rng, -6 * HOUR_S, 6 * HOUR_S)
                plan.bot(at_s, bot_message(plan.person))
                if logs_expenses and at_s > first_s and chance(rng, EXPENSE_SHARE):
                    plan.bot(at_s + between(rng, 5, 60), *_expense(plan.person, rng, first=False))
        day += 1


def _expense(person: Person, rng: Rng, *, first: bool) -> list[dict[str, Any]]:
    if person.currency == "UZS":
        amount = float(rng.randrange(5, 500) * 1_000)
    else:
        amount = 0.5 + rng.randrange(200) / 4
    return expense(person, amount, pick(rng, EXPENSE_CATEGORIES), first=first)


def _billing(plan: _Plan, rng: Rng, onboarded_s: float, end_s: float) -> None:
    """Checkout, payment (maybe resent), then cancellation, reactivation or a tier change."""
    if not chance(rng, CHECKOUT_RATE):
        return
    person = plan.person
    opened_s = onboarded_s + between(rng, HOUR_S, 8 * DAY_S)
    plan.bot(opened_s, checkout(person, "checkout_started"))
    if not chance(rng, PAY_RATE):
        return  # abandoned: the lifecycle engine derives Drop_Off
    tier = "yearly" if chance(rng, 0.25) else "monthly"
    paid_s = opened_s + between(rng, MINUTE_S, 10 * MINUTE_S)
    charge = subscribe(person, plan.transaction(), tier)
    plan.billing(paid_s, charge, checkout(person, "checkout_completed"))
    if chance(rng, WEBHOOK_RESEND_RATE):
        plan.billing(paid_s + between(rng, 30, 600), charge)
    if chance(rng, CANCEL_RATE):
        cancelled_s = paid_s + between(rng, 2 * DAY_S, 12 * DAY_S)
        days = int((cancelled_s - paid_s) // DAY_S)
        plan.billing(cancelled_s, cancel(person, plan.transaction(), tier, days))
        if chance(rng, REACTIVATE_RATE):
            back_s = cancelled_s + between(rng, DAY_S, 6 * DAY_S)
            plan.billing(back_s, subscribe(person, plan.transaction(), tier, again=True))
    elif chance(rng, PLAN_CHANGE_RATE):
        new = "monthly" if tier == "yearly" else "yearly"
        changed_s = paid_s + between(rng, 3 * DAY_S, 15 * DAY_S)
        plan.billing(changed_s, plan_change(person, plan.transaction(), tier, new))
