"""The tracking plan's ``webhooks:`` section, read into one ``ProviderConfig`` per provider.

::

    webhooks:
      billing:                          # POST /webhooks/billing
        secret_env: CAPIGATE_WEBHOOK_BILLING_SECRET   # the default for this name
        event_type: type                # path of the provider's event type ...
        events: {payment.succeeded: charge, subscription.canceled: cancel}
        # action: charge                # ... or one action for every body
        fields: {transaction_id: data.id, amount: data.amount, currency: data.currency,
                 plan: data.plan}
        user: {telegram_id: data.customer.telegram_id}
        amount_unit: minor              # minor: hundredths (tiyin, cents); major: as sent
        keys: {renewal: subscribe}      # outcome -> plan key (null: record, do not send)

The plan loader passes its ``fail(path, rule, problem)`` so that problems name the file and
line like any other. ``check_against_plan`` checks the keys against the plan's events.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from capigate.validate.currency import is_currency
from capigate.validate.rules import child
from capigate.webhooks import atmos
from capigate.webhooks.config import (
    DAY_S,
    DEFAULT_KEYS,
    DEFAULT_LAPSE_AFTER_DAYS,
    FIELD_NAMES,
    IDENTITY_KEYS,
    MINOR_UNITS_PER_MAJOR,
    Action,
    Adapter,
    Outcome,
    ProviderConfig,
)
from capigate.webhooks.paths import Path, parse_path
from capigate.webhooks.signature import DEFAULT_TOLERANCE_S

Fail = Callable[[str, str, str], None]
WEBHOOK_SOURCE_KIND = "webhook"  # the plan's source kind of webhook events
MAX_TOLERANCE_S = 3_600
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ENV = re.compile(r"[A-Z][A-Z0-9_]*")
_USER_KEY = re.compile(r"[a-z][a-z0-9_]*")
_FIELDS = (
    "adapter", "secret_env", "callback_key_env", "tolerance_s", "event_type", "action",
    "events", "fields", "user", "properties", "amount_unit", "currency", "lapse_after_days",
    "keys",
)  # fmt: skip
_AMOUNT_UNITS = {"major": 1, "minor": MINOR_UNITS_PER_MAJOR}
_MONEY_ACTIONS = frozenset({Action.CHARGE, Action.REFUND})


def default_secret_env(name: str) -> str:
    """``CAPIGATE_WEBHOOK_<NAME>_SECRET`` for provider ``name``."""
    return f"CAPIGATE_WEBHOOK_{name.upper().replace('-', '_')}_SECRET"


def read_section(data: Any, path: str, fail: Fail) -> dict[str, ProviderConfig]:
    """Every well-formed provider at ``path``; ``fail`` is told about each problem."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        fail(path, "field_type", "must map provider names to their webhook settings")
        return {}
    providers: dict[str, ProviderConfig] = {}
    for name, entry in data.items():
        sub = child(path, str(name))
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            fail(sub, "webhook_name", "a provider name is 1-40 of a-z, 0-9, _ and -")
            continue
        config = _Reader(name, sub, fail).provider(entry)
        if config is not None:
            providers[name] = config
    return providers


def check_against_plan(
    providers: Mapping[str, ProviderConfig],
    sources: Mapping[str, frozenset[str]],
    path: str,
    fail: Fail,
) -> None:
    """Every key a provider sends exists in the plan and lets webhooks send it.

    ``sources`` maps each plan key to the sources its event allows.
    """
    for name, config in providers.items():
        keys_path = child(child(path, name), "keys")
        for outcome, key in config.keys.items():
            if key is None:
                continue
            where = child(keys_path, outcome.value)
            if key not in sources:
                fail(where, "webhook_key_missing", f"the plan has no key {key!r}")
            elif not sources[key] & {WEBHOOK_SOURCE_KIND, _source_name(name)}:
                problem = f"plan key {key!r} needs {WEBHOOK_SOURCE_KIND!r} in its sources"
                fail(where, "webhook_key_not_allowed", problem)


def _source_name(provider: str) -> str:
    return f"webhook-{provider}"


class _Reader:
    def __init__(self, name: str, path: str, fail: Fail) -> None:
        self.name, self.path, self._fail, self.failed = name, path, fail, False

    def fail(self, path: str, rule: str, problem: str) -> None:
        self.failed = True
        self._fail(path, rule, problem)

    def provider(self, entry: Any) -> ProviderConfig | None:
        if not isinstance(entry, Mapping):
            self.fail(self.path, "field_type", "must be a mapping (key: value)")
            return None
        for key in entry:
            if key not in _FIELDS:
                known = ", ".join(_FIELDS)
                self.fail(child(self.path, str(key)), "unknown_field", f"unknown; known: {known}")
        adapter = self.adapter(entry.get("adapter", Adapter.SIGNED.value))
        raw = atmos.with_defaults(entry) if adapter is Adapter.ATMOS else entry
        config = self.config(raw, adapter)
        return None if self.failed else config

    def config(self, raw: Mapping[str, Any], adapter: Adapter) -> ProviderConfig:
        event_type, action, events = self.actions(raw)
        fields = self.paths(raw, "fields", FIELD_NAMES)
        user = self.paths(raw, "user", None)
        lapse, by_plan = self.lapse(raw.get("lapse_after_days"))
        config = ProviderConfig(
            name=self.name,
            secret_env=self.env(raw, "secret_env", default_secret_env(self.name)),
            adapter=adapter,
            callback_key_env=self.callback_key_env(raw, adapter),
            tolerance_s=self.tolerance(raw.get("tolerance_s")),
            event_type=event_type,
            action=action,
            events=events,
            fields=fields,
            user=user,
            properties=self.paths(raw, "properties", None),
            amount_divisor=self.amount_unit(raw.get("amount_unit", "major")),
            currency=self.currency(raw.get("currency")),
            lapse_after_s=lapse,
            lapse_after_s_by_plan=by_plan,
            keys=self.keys(raw.get("keys")),
        )
        self.complete(config)
        return config

    def adapter(self, value: Any) -> Adapter:
        if value in set(Adapter):
            return Adapter(value)
        known = ", ".join(a.value for a in Adapter)
        self.fail(child(self.path, "adapter"), "field_value", f"must be one of: {known}")
        return Adapter.SIGNED

    def env(self, raw: Mapping[str, Any], key: str, default: str | None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str) or not _ENV.fullmatch(value):
            problem = "must name an environment variable (A-Z, 0-9, _); the value stays there"
            self.fail(child(self.path, key), "field_value", problem)
            return default or ""
        return value

    def callback_key_env(self, raw: Mapping[str, Any], adapter: Adapter) -> str | None:
        if adapter is Adapter.ATMOS:
            return self.env(raw, "callback_key_env", atmos.DEFAULT_CALLBACK_KEY_ENV)
        if "callback_key_env" in raw:
            problem = "only the atmos adapter has a callback key"
            self.fail(child(self.path, "callback_key_env"), "field_value", problem)
        return None

    def tolerance(self, value: Any) -> float:
        if value is None:
            return DEFAULT_TOLERANCE_S
        if not _is_number(value) or not 0 < value <= MAX_TOLERANCE_S:
            problem = f"must be seconds above 0, at most {MAX_TOLERANCE_S}"
            self.fail(child(self.path, "tolerance_s"), "field_value", problem)
            return DEFAULT_TOLERANCE_S
        return float(value)

    def actions(
        self, raw: Mapping[str, Any]
    ) -> tuple[Path | None, Action | None, dict[str, Action]]:
        has_type, has_action = "event_type" in raw, "action" in raw
        if has_type == has_action:
            problem = "needs event_type (a path) with events, or one action for every body"
            self.fail(self.path, "webhook_actions", problem)
            return None, None, {}
        if has_action:
            return None, self.action(raw["action"], child(self.path, "action")), {}
        event_type = self.path_of(raw["event_type"], child(self.path, "event_type"))
        return event_type, None, self.events(raw.get("events"))

    def events(self, value: Any) -> dict[str, Action]:
        path = child(self.path, "events")
        if not isinstance(value, Mapping) or not value:
            self.fail(path, "field_type", "must map the provider's event types to actions")
            return {}
        found: dict[str, Action] = {}
        for event_type, action in value.items():
            parsed = self.action(action, child(path, str(event_type)))
            if parsed is not None:
                found[str(event_type)] = parsed
        return found

    def action(self, value: Any, path: str) -> Action | None:
        if value in set(Action):
            return Action(value)
        known = ", ".join(a.value for a in Action)
        self.fail(path, "field_value", f"must be one of: {known}")
        return None

    def paths(
        self, raw: Mapping[str, Any], key: str, names: tuple[str, ...] | None
    ) -> dict[str, Path]:
        value = raw.get(key, {})
        path = child(self.path, key)
        if not isinstance(value, Mapping):
            self.fail(path, "field_type", "must map names to field paths")
            return {}
        found: dict[str, Path] = {}
        for name, text in value.items():
            sub = child(path, str(name))
            if names is not None and name not in names:
                self.fail(sub, "unknown_field", f"unknown; known: {', '.join(names)}")
            elif names is None and not (isinstance(name, str) and _USER_KEY.fullmatch(name)):
                self.fail(sub, "field_value", "a name is lower-case letters, digits and _")
            elif (parsed := self.path_of(text, sub)) is not None:
                found[str(name)] = parsed
        return found

    def path_of(self, value: Any, path: str) -> Path | None:
        if not isinstance(value, str):
            self.fail(path, "field_type", "must be a field path like data.amount")
            return None
        try:
            return parse_path(value)
        except ValueError as exc:
            self.fail(path, "field_path", str(exc))
            return None

    def amount_unit(self, value: Any) -> int:
        if value in _AMOUNT_UNITS:
            return _AMOUNT_UNITS[value]
        problem = "must be major (as sent) or minor (hundredths: tiyin, cents)"
        self.fail(child(self.path, "amount_unit"), "field_value", problem)
        return 1

    def currency(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not is_currency(value):
            problem = "must be an ISO 4217 code like UZS"
            self.fail(child(self.path, "currency"), "field_value", problem)
            return None
        return value.upper()

    def lapse(self, value: Any) -> tuple[float | None, dict[str, float]]:
        default = DEFAULT_LAPSE_AFTER_DAYS * DAY_S
        if value is None:
            return default, {}
        path = child(self.path, "lapse_after_days")
        if not isinstance(value, Mapping):
            return self.days(value, path), {}
        by_plan = {
            str(plan): self.days(days, child(path, str(plan))) for plan, days in value.items()
        }
        fallback = by_plan.pop("default", default)
        return fallback, {plan: days for plan, days in by_plan.items() if days is not None}

    def days(self, value: Any, path: str) -> float | None:
        if not _is_number(value) or value <= 0:
            self.fail(path, "field_value", "must be days above 0 (or a map of plan -> days)")
            return None
        return float(value) * DAY_S

    def keys(self, value: Any) -> dict[Outcome, str | None]:
        keys = dict(DEFAULT_KEYS)
        path = child(self.path, "keys")
        if value is None:
            return keys
        if not isinstance(value, Mapping):
            self.fail(path, "field_type", "must map outcomes to plan keys")
            return keys
        for outcome, key in value.items():
            sub = child(path, str(outcome))
            if outcome not in set(Outcome):
                known = ", ".join(o.value for o in Outcome)
                self.fail(sub, "unknown_field", f"unknown outcome; known: {known}")
            elif key is not None and not isinstance(key, str):
                self.fail(sub, "field_type", "must be a plan key, or null to send nothing")
            else:
                keys[Outcome(outcome)] = key
        return keys

    def complete(self, config: ProviderConfig) -> None:
        """Cross-field rules: an id, a user, and money wherever an action moves money."""
        if "transaction_id" not in config.fields:
            self.fail(child(self.path, "fields"), "field_required", "needs transaction_id")
        if not any(key in config.user for key in IDENTITY_KEYS):
            problem = f"needs one of {', '.join(IDENTITY_KEYS)}: whose subscription it is"
            self.fail(child(self.path, "user"), "field_required", problem)
        actions = {config.action} if config.action else set(config.events.values())
        if actions & _MONEY_ACTIONS:
            if "amount" not in config.fields:
                problem = "needs amount: charges and refunds carry value"
                self.fail(child(self.path, "fields"), "field_required", problem)
            if "currency" not in config.fields and config.currency is None:
                problem = "needs fields.currency or a currency: revenue events carry it"
                self.fail(self.path, "field_required", problem)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
