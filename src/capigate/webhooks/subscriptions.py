"""What a payment means for the user's subscription: the state machine, pure.

One :class:`SubscriptionState` per user (across providers). :func:`decide` takes the state
before a payment and returns the state after it and the :class:`Outcome` to send:

======================  =============================================  ===================
state before            payment                                        outcome
======================  =============================================  ===================
none                    charge                                         subscribe
active, same plan       charge                                         renewal
active, other plan      charge                                         plan_change
canceled or lapsed      charge                                         reactivate
active, uncharged for   charge                                         reactivate (lapsed)
``lapse_after``
active, no plan known   charge                                         renewal (adopts it)
active or none          cancel                                         cancel
canceled or lapsed      cancel                                         nothing (recorded)
any                     expire                                         nothing: lapsed
any                     refund                                         refund
======================  =============================================  ===================

Decisions: a user first seen through a cancellation, expiry or refund had a subscription
before, so their next charge is a reactivation. A charge without a plan name keeps the
current plan (so never a plan change). A
plan change's ``value_diff`` is the new charge minus the last one when both are in the same
currency (negative for a downgrade), else the whole new charge. A refund changes no status:
if it ends the subscription, the billing backend also sends a cancellation. A refund is sent
with its positive amount as ``value`` (Meta has no refund event and documents no negative
values; a negative Purchase would corrupt value optimization), so a plan sends it as a custom
event of its own, never as Purchase. Payments that arrive out of order never move
``last_charge_at`` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from capigate.webhooks.config import DAY_S, Action, Outcome
from capigate.webhooks.mapping import Payment


class Status(StrEnum):
    """Where a user's subscription is."""

    ACTIVE = "active"
    CANCELED = "canceled"
    LAPSED = "lapsed"


@dataclass(frozen=True, slots=True)
class SubscriptionState:
    """One user's subscription; ``version`` is the store's compare-and-set counter."""

    user_key: str
    status: Status
    plan: str | None = None
    value: Decimal | None = None  # the last charge, major units
    currency: str | None = None
    started_at: float | None = None  # the first charge of the current run (or reactivation)
    last_charge_at: float | None = None
    last_transaction_id: str | None = None
    charges: int = 0
    canceled_at: float | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The state after a payment, what to send (``None``: nothing) and its properties."""

    state: SubscriptionState
    outcome: Outcome | None
    properties: dict[str, Any] = field(default_factory=dict)
    note: str = ""  # why, for the answer and the log


def decide(
    state: SubscriptionState | None, payment: Payment, *, lapse_after_s: float | None
) -> Decision:
    """The decision for ``payment`` given the user's ``state`` before it (``None``: new)."""
    if payment.action is Action.CHARGE:
        return _charge(state, payment, lapse_after_s)
    if payment.action is Action.CANCEL:
        return _cancel(state, payment)
    if payment.action is Action.EXPIRE:
        base = state or SubscriptionState(payment.user_key, Status.LAPSED, plan=payment.plan)
        return Decision(replace(base, status=Status.LAPSED), None, note="subscription lapsed")
    return _refund(state, payment)


def _charge(
    state: SubscriptionState | None, payment: Payment, lapse_after_s: float | None
) -> Decision:
    plan = payment.plan or (state.plan if state else None)
    if state is None:
        outcome, note = Outcome.SUBSCRIBE, "first charge"
    elif state.status is not Status.ACTIVE:
        outcome, note = Outcome.REACTIVATE, f"charge after the subscription was {state.status}"
    elif _lapsed(state, float(payment.event_time), lapse_after_s):
        outcome, note = Outcome.REACTIVATE, "charge after the subscription lapsed unpaid"
    elif state.plan is not None and plan != state.plan:
        outcome, note = Outcome.PLAN_CHANGE, f"plan {state.plan} -> {plan}"
    else:
        outcome, note = Outcome.RENEWAL, "charge while active on the same plan"
    restart = outcome in (Outcome.SUBSCRIBE, Outcome.REACTIVATE)
    after = _charged(state, payment, plan, restart=restart)
    return Decision(after, outcome, _charge_properties(state, payment, plan, outcome), note)


def _charged(
    state: SubscriptionState | None, payment: Payment, plan: str | None, *, restart: bool
) -> SubscriptionState:
    t = float(payment.event_time)
    base = state or SubscriptionState(payment.user_key, Status.ACTIVE)
    return replace(
        base,
        status=Status.ACTIVE,
        plan=plan,
        value=payment.amount,
        currency=payment.currency,
        started_at=t if restart or base.started_at is None else base.started_at,
        last_charge_at=max(t, base.last_charge_at or t),
        last_transaction_id=payment.transaction_id,
        charges=base.charges + 1,
        canceled_at=None,
    )


def _lapsed(state: SubscriptionState, t: float, lapse_after_s: float | None) -> bool:
    if lapse_after_s is None or state.last_charge_at is None:
        return False
    return t - state.last_charge_at > lapse_after_s


def _charge_properties(
    state: SubscriptionState | None, payment: Payment, plan: str | None, outcome: Outcome
) -> dict[str, Any]:
    props: dict[str, Any] = {"transaction_id": payment.transaction_id}
    value = money(payment.amount)
    if outcome is Outcome.PLAN_CHANGE:
        assert state is not None  # a plan change needs a plan before
        props.update(old_plan=state.plan, new_plan=plan, value_diff=_diff(state, payment))
    else:
        props.update(value=value, subscription_plan=plan)
    if outcome in (Outcome.SUBSCRIBE, Outcome.RENEWAL):
        props["is_renewal"] = outcome is Outcome.RENEWAL
    props["currency"] = payment.currency
    return _present(props)


def _diff(state: SubscriptionState, payment: Payment) -> int | float | None:
    if payment.amount is None:
        return None
    if state.value is None or state.currency != payment.currency:
        return money(payment.amount)
    return money(payment.amount - state.value)


def _cancel(state: SubscriptionState | None, payment: Payment) -> Decision:
    t = float(payment.event_time)
    if state is not None and state.status is not Status.ACTIVE:
        return Decision(state, None, note=f"the subscription is already {state.status}")
    base = state or SubscriptionState(payment.user_key, Status.CANCELED, plan=payment.plan)
    after = replace(base, status=Status.CANCELED, canceled_at=t)
    started = base.started_at
    props = {
        "transaction_id": payment.transaction_id,
        "subscription_plan": base.plan or payment.plan,
        "days_active": int((t - started) // DAY_S)
        if started is not None and t >= started
        else None,
    }
    return Decision(after, Outcome.CANCEL, _present(props), "cancellation")


def _refund(state: SubscriptionState | None, payment: Payment) -> Decision:
    base = state or SubscriptionState(payment.user_key, Status.LAPSED, plan=payment.plan)
    props = {
        "transaction_id": payment.transaction_id,
        "original_transaction_id": payment.original_transaction_id,
        "value": money(payment.amount),
        "currency": payment.currency,
        "subscription_plan": payment.plan or base.plan,
    }
    return Decision(base, Outcome.REFUND, _present(props), "refund")


def money(amount: Decimal | None) -> int | float | None:
    """An amount as a JSON number: an int when whole, else a float of its 2-decimal value."""
    if amount is None:
        return None
    if amount == amount.to_integral_value():
        return int(amount)
    return float(round(amount, 2))


def _present(props: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if value is not None}
