"""The subscription state machine: first charge, renewal, plan change, cancel, reactivation,
lapse, expiry and refund, on payments dated by an injected clock."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from capigate.clock import FrozenClock
from capigate.webhooks.config import DAY_S, Action, Outcome
from capigate.webhooks.mapping import Payment
from capigate.webhooks.subscriptions import (
    Decision,
    Status,
    SubscriptionState,
    decide,
    money,
)

T0 = 1_763_800_000
LAPSE_S = 35 * DAY_S


class Life:
    """One user's payments over time: each ``pay``/``cancel``/... applies the decision."""

    def __init__(self) -> None:
        self.clock = FrozenClock(T0)
        self.state: SubscriptionState | None = None
        self.count = 0

    def do(self, action: Action, **fields: Any) -> Decision:
        self.count += 1
        defaults: dict[str, Any] = {"currency": "UZS", "plan": "monthly"}
        if action in (Action.CHARGE, Action.REFUND):
            defaults["amount"] = Decimal(49000)
        payment = Payment(
            provider="billing",
            action=action,
            transaction_id=f"t{self.count}",
            user_key="77123",
            event_time=int(self.clock()),
            **{**defaults, **fields},
        )
        decision = decide(self.state, payment, lapse_after_s=LAPSE_S)
        self.state = decision.state
        return decision

    def after_days(self, days: float) -> Life:
        self.clock.advance(days * DAY_S)
        return self


def test_the_first_charge_is_a_subscribe_with_value_and_currency() -> None:
    """A user never seen before who pays subscribes; the state becomes active."""
    decision = Life().do(Action.CHARGE)
    assert decision.outcome is Outcome.SUBSCRIBE
    assert decision.properties == {
        "transaction_id": "t1",
        "value": 49000,
        "currency": "UZS",
        "subscription_plan": "monthly",
        "is_renewal": False,
    }
    assert decision.state == SubscriptionState(
        "77123", Status.ACTIVE, "monthly", Decimal(49000), "UZS", T0, T0, "t1", 1
    )


def test_a_charge_a_month_later_on_the_same_plan_is_a_renewal() -> None:
    """Renewals carry their own transaction, value and is_renewal; started_at stays."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.after_days(30).do(Action.CHARGE)
    assert decision.outcome is Outcome.RENEWAL
    assert decision.properties["transaction_id"] == "t2"
    assert decision.properties["is_renewal"] is True
    assert decision.state.started_at == T0
    assert decision.state.charges == 2


def test_a_charge_on_another_plan_is_a_plan_change_with_the_difference() -> None:
    """Monthly 49,000 -> yearly 490,000: Plan_Change with old, new and value_diff."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.after_days(10).do(Action.CHARGE, plan="yearly", amount=Decimal(490000))
    assert decision.outcome is Outcome.PLAN_CHANGE
    assert decision.properties == {
        "transaction_id": "t2",
        "old_plan": "monthly",
        "new_plan": "yearly",
        "value_diff": 441000,
        "currency": "UZS",
    }
    assert (decision.state.plan, decision.state.started_at) == ("yearly", T0)


def test_a_downgrade_has_a_negative_value_diff() -> None:
    """A cheaper plan makes value_diff negative (it is not Meta's value)."""
    life = Life()
    life.do(Action.CHARGE, plan="yearly", amount=Decimal("490000.50"))
    decision = life.do(Action.CHARGE, plan="monthly", amount=Decimal(49000))
    assert decision.properties["value_diff"] == -441000.5


def test_a_plan_change_across_currencies_reports_the_new_charge() -> None:
    """UZS then USD: the difference is meaningless, so value_diff is the whole new charge."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.do(Action.CHARGE, plan="pro", amount=Decimal("9.99"), currency="USD")
    assert decision.properties["value_diff"] == 9.99


def test_a_charge_without_a_plan_keeps_the_current_one() -> None:
    """No plan in the payload is never a plan change."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.do(Action.CHARGE, plan=None)
    assert decision.outcome is Outcome.RENEWAL
    assert decision.state.plan == "monthly"


def test_a_first_plan_name_after_planless_charges_is_adopted() -> None:
    """If no plan was known, naming one is a renewal, not a change from nothing."""
    life = Life()
    life.do(Action.CHARGE, plan=None)
    decision = life.do(Action.CHARGE, plan="monthly")
    assert (decision.outcome, decision.state.plan) == (Outcome.RENEWAL, "monthly")


def test_cancel_sends_days_active_and_marks_canceled() -> None:
    """Unsubscribe after 45 days carries days_active=45 (the reason rides on the item)."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.after_days(45.5).do(Action.CANCEL, reason="too expensive", amount=None)
    assert decision.outcome is Outcome.CANCEL
    assert decision.properties == {
        "transaction_id": "t2",
        "subscription_plan": "monthly",
        "days_active": 45,
    }
    assert decision.state.status is Status.CANCELED
    assert decision.state.canceled_at == T0 + 45.5 * DAY_S


def test_a_second_cancel_sends_nothing() -> None:
    """Cancelling a canceled subscription is recorded, not sent again."""
    life = Life()
    life.do(Action.CHARGE)
    life.do(Action.CANCEL)
    decision = life.do(Action.CANCEL)
    assert decision.outcome is None
    assert "already canceled" in decision.note


def test_a_charge_after_cancel_is_a_reactivation_that_restarts_the_run() -> None:
    """Reactivate_Sub with value; days_active of the next cancel counts from it."""
    life = Life()
    life.do(Action.CHARGE)
    life.after_days(10).do(Action.CANCEL)
    decision = life.after_days(20).do(Action.CHARGE)
    assert decision.outcome is Outcome.REACTIVATE
    assert decision.properties["value"] == 49000
    assert "is_renewal" not in decision.properties
    assert decision.state.started_at == T0 + 30 * DAY_S
    assert life.after_days(3).do(Action.CANCEL).properties["days_active"] == 3


def test_a_charge_after_the_lapse_window_is_a_reactivation() -> None:
    """Active but unpaid for more than 35 days: the subscription had lapsed."""
    life = Life()
    life.do(Action.CHARGE)
    assert life.after_days(35).do(Action.CHARGE).outcome is Outcome.RENEWAL
    decision = life.after_days(35.01).do(Action.CHARGE)
    assert decision.outcome is Outcome.REACTIVATE
    assert "lapsed" in decision.note


def test_without_a_lapse_window_an_old_charge_is_still_a_renewal() -> None:
    """lapse_after_s=None never infers a lapse from time."""
    life = Life()
    first = life.do(Action.CHARGE)
    later = replace(
        Payment("b", Action.CHARGE, "t9", "77123", T0 + 400 * DAY_S),
        amount=Decimal(1),
        currency="UZS",
        plan="monthly",
    )
    assert decide(first.state, later, lapse_after_s=None).outcome is Outcome.RENEWAL


def test_expire_marks_lapsed_and_the_next_charge_reactivates() -> None:
    """subscription.expired sends nothing; the next payment is Reactivate_Sub."""
    life = Life()
    life.do(Action.CHARGE)
    expired = life.after_days(31).do(Action.EXPIRE)
    assert (expired.outcome, expired.state.status) == (None, Status.LAPSED)
    assert life.do(Action.CHARGE).outcome is Outcome.REACTIVATE


def test_a_refund_sends_its_positive_amount_and_keeps_the_status() -> None:
    """Refund: value is what was refunded (positive), status unchanged."""
    life = Life()
    life.do(Action.CHARGE)
    decision = life.do(Action.REFUND, amount=Decimal("24500.50"), original_transaction_id="t1")
    assert decision.outcome is Outcome.REFUND
    assert decision.properties == {
        "transaction_id": "t2",
        "original_transaction_id": "t1",
        "value": 24500.5,
        "currency": "UZS",
        "subscription_plan": "monthly",
    }
    assert decision.state.status is Status.ACTIVE


@pytest.mark.parametrize("action", [Action.CANCEL, Action.EXPIRE, Action.REFUND])
def test_a_user_first_seen_without_a_charge_reactivates_on_paying(action: Action) -> None:
    """A cancellation, expiry or refund proves an earlier subscription we never saw."""
    life = Life()
    first = life.do(action, amount=Decimal(1) if action is Action.REFUND else None)
    assert first.state.status is not Status.ACTIVE
    assert life.do(Action.CHARGE).outcome is Outcome.REACTIVATE


def test_a_cancel_of_an_unknown_user_is_sent_without_days_active() -> None:
    """We do not know since when they paid: days_active is left out."""
    decision = Life().do(Action.CANCEL)
    assert decision.outcome is Outcome.CANCEL
    assert "days_active" not in decision.properties


def test_an_older_charge_arriving_late_never_moves_last_charge_back() -> None:
    """Out-of-order delivery keeps the newest charge time."""
    life = Life()
    life.after_days(30).do(Action.CHARGE)
    late = Payment("b", Action.CHARGE, "old", "77123", T0, amount=Decimal(1), currency="UZS")
    assert decide(life.state, late, lapse_after_s=LAPSE_S).state.last_charge_at == (T0 + 30 * DAY_S)


def test_a_year_of_monthly_payments_then_churn_and_return() -> None:
    """12 charges: 1 subscribe and 11 renewals; a cancel; a return 2 months later."""
    life = Life()
    outcomes = [life.after_days(0 if i == 0 else 30).do(Action.CHARGE).outcome for i in range(12)]
    assert outcomes == [Outcome.SUBSCRIBE] + [Outcome.RENEWAL] * 11
    assert life.after_days(5).do(Action.CANCEL).properties["days_active"] == 335
    assert life.after_days(60).do(Action.CHARGE).outcome is Outcome.REACTIVATE
    assert life.state is not None and life.state.charges == 13


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(Decimal(49000), 49000), (Decimal("49000.00"), 49000), (Decimal("0.105"), 0.1), (None, None)],
)
def test_money_is_an_int_when_whole(amount: Decimal | None, expected: object) -> None:
    """Whole amounts are sent as integers, others rounded to cents."""
    assert money(amount) == expected
