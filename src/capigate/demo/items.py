"""The ingest items each sender posts, in the default plan's terms (seed 000), as dicts.

The landing page reports ``landing_view`` and ``cta_click`` with its link token; the bot
reports ``start_bot`` with the token from ``/start``, each onboarding step both as its plan
key and as plain ``onboarding_step`` activity (as ``examples/aiogram_bot`` does with
``CAPIGATE_ACTIVITY=1``), the first expense, and plain activity that the lifecycle engine
derives AppLaunch, 7d_Return, retention, First_Entry and Drop_Off from; the billing backend
reports payments. Bot and billing items carry no ``event_time``: the client stamps it.
"""

from __future__ import annotations

from typing import Any

from capigate.demo.people import Person

Item = dict[str, Any]
PRICES = {  # plan -> currency -> price
    "monthly": {"UZS": 49_000, "USD": 3.99},
    "yearly": {"UZS": 399_000, "USD": 29.99},
}
EXPENSE_CATEGORIES = ("food", "taxi", "groceries", "rent", "coffee", "phone", "gifts")


def landing_view(person: Person, at_s: float, fbp: str) -> Item:
    """The landing page loaded (ViewContent); the snippet sends the ``_fbp`` cookie."""
    return _page("landing_view", person, at_s, fbp, dict(person.utms))


def cta_click(person: Person, at_s: float, fbp: str) -> Item:
    """ "Open in Telegram" clicked (Lead)."""
    properties = {**dict(person.utms), "button_id": "open_tg"}
    return _page("cta_click", person, at_s, fbp, properties)


def start_bot(person: Person, token: str | None) -> Item:
    """``/start <token>`` in the bot; ``token`` is None for users who came straight to it."""
    item = _bot("start_bot", person, language=person.language)
    if token is not None:
        item["context"] = {"start_param": token}
    return item


def onboarding_step(person: Person, step: str) -> list[Item]:
    """One onboarding step: its plan key, then the same step as lifecycle activity."""
    user = _user(person)
    properties: dict[str, Any] = {}
    if step == "language":
        value: str = person.language
        properties["language_selected"] = value
    elif step == "name":
        value = f"{person.first_name} {person.last_name}"
        user.update(first_name=person.first_name, last_name=person.last_name)
    elif step == "phone":
        value = person.phone
        user["phone"] = value
    elif step == "currency":
        value = person.currency
        properties["currency_selected"] = value
    else:
        value = str(person.capital)
        properties["start_capital_amount"] = person.capital
    step_item = {"event": f"onboarding_{step}", "user": user, "properties": properties}
    activity = _bot("onboarding_step", person, step=step, value=value)
    return [step_item, activity]


def expense(person: Person, amount: float, category: str, *, first: bool) -> list[Item]:
    """An expense as activity, plus ``first_entry`` for the user's first one."""
    entry = {"amount": amount, "currency": person.currency, "entry_mode": "text"}
    items = [_bot("expense_logged", person, category=category, **entry)]
    if first:
        items.append(_bot("first_entry", person, category_assigned=category, **entry))
    return items


def bot_message(person: Person) -> Item:
    """Any message or button press in the bot (activity)."""
    return _bot("bot_message", person)


def checkout(person: Person, name: str) -> Item:
    """``checkout_started`` / ``checkout_completed`` activity."""
    if name == "checkout_started":
        return _bot(name, person, step="plan_selected")
    return _bot(name, person)


def subscribe(person: Person, transaction_id: str, plan: str, *, again: bool = False) -> Item:
    """A successful first charge (Subscribe) or a reactivation (Reactivate_Sub)."""
    key = "reactivate_subscription" if again else "subscribe"
    properties: dict[str, Any] = {
        "transaction_id": transaction_id,
        "value": PRICES[plan][person.currency],
        "currency": person.currency,
        "subscription_plan": plan,
    }
    if not again:
        properties["payment_method"] = "uzcard" if person.index % 3 else "humo"
    return {"event": key, "user": _user(person), "properties": properties}


def cancel(person: Person, transaction_id: str, plan: str, days_active: int) -> Item:
    """The user cancelled the paid plan (Unsubscribe)."""
    properties = {
        "transaction_id": transaction_id,
        "subscription_plan": plan,
        "reason": "too_expensive" if person.index % 2 else "not_using",
        "days_active": days_active,
    }
    return {"event": "cancel_subscription", "user": _user(person), "properties": properties}


def plan_change(person: Person, transaction_id: str, old: str, new: str) -> Item:
    """A change of tier; ``value_diff`` is negative for a downgrade."""
    diff = PRICES[new][person.currency] - PRICES[old][person.currency]
    properties = {
        "transaction_id": transaction_id,
        "old_plan": old,
        "new_plan": new,
        "value_diff": round(diff, 2),
        "currency": person.currency,
    }
    return {"event": "plan_change", "user": _user(person), "properties": properties}


def _page(key: str, person: Person, at_s: float, fbp: str, properties: dict[str, Any]) -> Item:
    context = {
        "session_id": person.session_id,
        "page_url": person.page_url,
        "landing_token": person.landing_token,
    }
    user = {"fbp": fbp}  # IP and user agent come from the browser's request itself
    item: Item = {"event": key, "event_time": int(at_s), "user": user, "context": context}
    if properties:
        item["properties"] = properties
    return item


def _bot(key: str, person: Person, **properties: Any) -> Item:
    item: Item = {"event": key, "user": _user(person)}
    if properties:
        item["properties"] = properties
    return item


def _user(person: Person) -> dict[str, Any]:
    return {"telegram_id": str(person.telegram_id)}
