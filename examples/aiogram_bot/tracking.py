"""What the example bot reports to capigate, as pure functions (no aiogram import).

Each function returns an ingest item (``capigate.client.Event``) for a plan key of the
default tracking plan (seed 000). The client pins ``event_time`` when the bot tracks it, so
the plan's ids (``startbot_{telegram_id}``, ``onboard_lang_{user_id}_{ts}``) come out the
same on every resend. Personal data goes where the gateway hashes it: the name and phone
steps send ``user.first_name``/``user.last_name`` and ``user.phone``, never properties.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from capigate.client import Event, event

START_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what t.me/<bot>?start= may carry
ONBOARDING_STEPS = ("language", "name", "phone", "currency", "capital")
CURRENCY = re.compile(r"^[A-Za-z]{3}$")


@dataclass(frozen=True, slots=True)
class Expense:
    """One expense as the user typed it: ``25000 food`` or ``12.5 usd taxi``."""

    amount: float
    currency: str | None = None
    category: str | None = None


def start_token(args: str | None) -> str | None:
    """The deep-link token of ``/start <token>``; ``None`` when absent or not a valid token.

    The token is user-editable: anything outside Telegram's 64 characters of
    ``[A-Za-z0-9_-]`` is dropped rather than passed on.
    """
    token = (args or "").strip()
    return token if START_TOKEN.match(token) else None


def start_bot(telegram_id: int, token: str | None, *, language: str | None = None) -> Event:
    """``/start``: the gateway links this user to the landing-page session of ``token``."""
    return event(
        "start_bot",
        user={"telegram_id": str(telegram_id)},
        properties={"language": language},
        context={"start_param": token},
    )


def onboarding(step: str, telegram_id: int, value: str) -> Event:
    """One onboarding step (``language``, ``name``, ``phone``, ``currency``, ``capital``)."""
    user: dict[str, str | None] = {"telegram_id": str(telegram_id)}
    properties: dict[str, object] = {}
    if step == "language":
        properties["language_selected"] = value.strip().lower()
    elif step == "name":
        first, _, last = value.strip().partition(" ")
        user.update(first_name=first, last_name=last.strip() or None)
    elif step == "phone":
        user["phone"] = value.strip()
    elif step == "currency":
        properties["currency_selected"] = value.strip().upper()
    elif step == "capital":
        properties["start_capital_amount"] = parse_amount(value)
    else:
        raise ValueError(f"unknown onboarding step {step!r}; steps: {', '.join(ONBOARDING_STEPS)}")
    return event(f"onboarding_{step}", user=user, properties=properties)


def onboarding_activity(step: str, telegram_id: int, value: str) -> Event:
    """The same step as plain activity, for a gateway whose lifecycle engine derives events."""
    return event(
        "onboarding_step",
        user={"telegram_id": str(telegram_id)},
        properties={"step": step, "value": value.strip()},
    )


def parse_amount(text: str) -> float | None:
    """A positive amount from ``25000``, ``25 000``, ``12,5`` or ``12.5``; else ``None``."""
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return None
    return float(amount) if amount.is_finite() and amount > 0 else None


def parse_expense(text: str) -> Expense | None:
    """``<amount> [currency] [category...]``; ``None`` when the text is not an expense."""
    words = text.split()
    amount = parse_amount(words[0]) if words else None
    if amount is None:
        return None
    rest = words[1:]
    currency = rest.pop(0).upper() if rest and CURRENCY.match(rest[0]) else None
    return Expense(amount, currency, " ".join(rest).lower() or None)


def expense_events(
    telegram_id: int, expense: Expense, *, first: bool, activity: bool, entry_mode: str = "text"
) -> list[Event]:
    """What one expense reports: ``first_entry`` for the user's first one, and with
    ``activity`` the plain ``expense_logged`` the lifecycle engine counts (it derives
    First_Entry itself; both carry ``firstentry_{telegram_id}``, so Meta sees it once)."""
    user = {"telegram_id": str(telegram_id)}
    amounts = {"amount": expense.amount, "currency": expense.currency}
    events: list[Event] = []
    if activity:
        properties = {**amounts, "category": expense.category, "entry_mode": entry_mode}
        events.append(event("expense_logged", user=user, properties=properties))
    if first:
        properties = {**amounts, "category_assigned": expense.category, "entry_mode": entry_mode}
        events.append(event("first_entry", user=user, properties=properties))
    return events
