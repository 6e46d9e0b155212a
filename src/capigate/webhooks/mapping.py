"""A provider's payload -> one :class:`Payment`, by the field paths of its ``ProviderConfig``.

Required wherever they are configured: the event type, ``transaction_id``, one identity of the
user (``telegram_id``, ``user_id`` or ``external_id``, the first present keys the state), and
for charges and refunds ``amount`` and ``currency`` (or the provider's default currency). The
rest (``plan``, ``event_time``, ``reason``, ``original_transaction_id``, ``properties`` and
other user keys) is read when present. Every problem is a finding whose path points into the
payload (``$.data.amount``), so a 422 names the caller's own field. An event type the
provider does not map is ``Ignored``: providers send many kinds of events, and a refusal
would only make them retry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from capigate.findings import Finding, error
from capigate.validate.currency import is_currency
from capigate.webhooks.config import IDENTITY_KEYS, Action, ProviderConfig
from capigate.webhooks.paths import MISSING, Path, json_path, lookup

SPEC = "DESIGN Payments (plan webhooks section)"
MAX_ID_CHARS = 128
MS_THRESHOLD = 100_000_000_000  # a larger event time is in milliseconds (year 5138 in s)
_ID = re.compile(r"[^\s\x00-\x1f\x7f]+")
_MONEY_ACTIONS = frozenset({Action.CHARGE, Action.REFUND})


@dataclass(frozen=True, slots=True)
class Payment:
    """What a webhook says happened, in capigate's terms (amount in major units)."""

    provider: str
    action: Action
    transaction_id: str
    user_key: str  # whose subscription: the first identity present
    event_time: int
    user: Mapping[str, Any] = field(default_factory=dict)  # ingest ``user`` keys, raw
    amount: Decimal | None = None
    currency: str | None = None
    plan: str | None = None
    reason: str | None = None
    original_transaction_id: str | None = None
    event_type: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A payload whose event type the provider's ``events`` do not map: acknowledged, unused."""

    event_type: str


def read_payment(
    payload: object, config: ProviderConfig, *, now_s: float
) -> Payment | Ignored | list[Finding]:
    """The payment in ``payload``, ``Ignored``, or every finding that stops it."""
    reader = _Reader(payload, config)
    event_type = reader.text("event_type", config.event_type, required=True)
    if reader.findings:
        return reader.findings
    action = config.action_for(event_type)
    if action is None:
        return Ignored(event_type or "")
    transaction_id = reader.identifier("transaction_id")
    user, user_key = reader.user()
    money = action in _MONEY_ACTIONS
    amount = reader.amount(required=money)
    currency = reader.currency(required=money)
    event_time = reader.event_time(now_s)
    plan = reader.text("plan", config.fields.get("plan"))
    reason = reader.text("reason", config.fields.get("reason"))
    original = reader.text("original_transaction_id", config.fields.get("original_transaction_id"))
    if reader.findings or transaction_id is None or user_key is None:
        return reader.findings
    return Payment(
        provider=config.name,
        action=action,
        transaction_id=transaction_id,
        user_key=user_key,
        event_time=event_time,
        user=user,
        amount=amount,
        currency=currency,
        plan=plan,
        reason=reason,
        original_transaction_id=original,
        event_type=event_type,
        properties=reader.properties(),
    )


class _Reader:
    def __init__(self, payload: object, config: ProviderConfig) -> None:
        self.payload, self.config = payload, config
        self.findings: list[Finding] = []

    def fail(self, path: Path, rule: str, problem: str) -> None:
        self.findings.append(error(json_path(path), rule, problem, SPEC))

    def missing(self, name: str, path: Path, hint: str | None = None) -> None:
        where = json_path(path).removeprefix("$.")
        problem = f"the payload has no {where} ({self.config.name} maps {name} to it)"
        self.fail(path, "field_required", f"{problem}; {hint}" if hint else problem)

    def value(self, name: str, path: Path | None, *, required: bool) -> object:
        if path is None:
            return MISSING
        value = lookup(self.payload, path)
        if value is MISSING and required:
            self.missing(name, path)
        return value

    def text(self, name: str, path: Path | None, *, required: bool = False) -> str | None:
        value = self.value(name, path, required=required)
        if value is MISSING or path is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(path, "field_type", f"{name} must be a string, not {type(value).__name__}")
            return None
        return str(value).strip() or None

    def identifier(self, name: str) -> str | None:
        path = self.config.fields.get(name)
        text = self.text(name, path, required=True)
        if text is None or path is None:
            return None
        if len(text) > MAX_ID_CHARS or not _ID.fullmatch(text):
            problem = f"{name} must be 1-{MAX_ID_CHARS} characters without spaces"
            self.fail(path, "id_format", problem)
            return None
        return text

    def user(self) -> tuple[dict[str, Any], str | None]:
        user: dict[str, Any] = {}
        for key, path in self.config.user.items():
            value = lookup(self.payload, path)
            if value is not MISSING:
                user[key] = self.text(key, path) if key in IDENTITY_KEYS else value
        user = {key: value for key, value in user.items() if value is not None}
        identity = next((str(user[key]) for key in IDENTITY_KEYS if key in user), None)
        if identity is None:
            mapped = [key for key in IDENTITY_KEYS if key in self.config.user]
            need = f"one of {', '.join(mapped)} is needed" if len(mapped) > 1 else None
            for key in mapped:
                if not self.findings_at(self.config.user[key]):
                    self.missing(f"user.{key}", self.config.user[key], need)
        return user, identity

    def findings_at(self, path: Path) -> bool:
        return any(f.path == json_path(path) for f in self.findings)

    def amount(self, *, required: bool) -> Decimal | None:
        path = self.config.fields.get("amount")
        value = self.value("amount", path, required=required)
        if value is MISSING or path is None:
            return None
        number = _decimal(value)
        if number is None or number < 0:
            self.fail(path, "amount_type", "amount must be a number of 0 or more")
            return None
        return number / self.config.amount_divisor

    def currency(self, *, required: bool) -> str | None:
        path = self.config.fields.get("currency")
        text = self.text("currency", path) or self.config.currency
        if text is None:
            if required and path is not None:
                self.missing("currency", path)
            return None
        if not is_currency(text):
            self.fail(path or (), "currency_code", "currency must be an ISO 4217 code like UZS")
            return None
        return text.upper()

    def event_time(self, now_s: float) -> int:
        path = self.config.fields.get("event_time")
        value = self.value("event_time", path, required=False)
        if value is MISSING or path is None:
            return int(now_s)
        seconds = _unix_seconds(value)
        if seconds is None:
            problem = "event_time must be Unix seconds (or ms) or an ISO 8601 time with a zone"
            self.fail(path, "event_time_format", problem)
            return int(now_s)
        return seconds

    def properties(self) -> dict[str, Any]:
        found = {name: lookup(self.payload, p) for name, p in self.config.properties.items()}
        return {name: value for name, value in found.items() if value is not MISSING}


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _unix_seconds(value: object) -> int | None:
    number = _decimal(value) if not isinstance(value, str) or _is_numeric(value) else None
    if number is not None:
        seconds = number / 1000 if number > MS_THRESHOLD else number
        return int(seconds) if seconds > 0 else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return int(moment.timestamp()) if moment.tzinfo is not None else None


def _is_numeric(text: str) -> bool:
    return _decimal(text) is not None
