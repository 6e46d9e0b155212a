"""Helpers for the webhook tests: a plan with every outcome sent, signed bodies, Atmos callbacks."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from capigate.clock import FrozenClock
from capigate.ingest import Ingestor
from capigate.plan import Plan, load_plan
from capigate.secret import Secret
from capigate.settings import Settings
from capigate.settings_sources import Secrets
from capigate.sources import DEV_SOURCE
from capigate.store import InMemoryStore
from capigate.webhook_ingest import WebhookIngestor, providers_from
from capigate.webhooks.signature import sign

T0 = 1_763_800_000
BILLING_SECRET = "whsec_billing_0123456789"
ATMOS_SECRET = "whsec_atmos_0123456789ab"
ATMOS_KEY = "atmos-callback-key-0001"
ENV = {
    "CAPIGATE_WEBHOOK_BILLING_SECRET": BILLING_SECRET,
    "CAPIGATE_WEBHOOK_ATMOS_SECRET": ATMOS_SECRET,
    "CAPIGATE_ATMOS_CALLBACK_KEY": ATMOS_KEY,
}

_PAYMENT_EVENT = """
    action_source: app
    sources: [server, webhook]
    user_data: [external_id]
"""
# Seed 000's four payment rows, plus a renewal and a refund key so every outcome is sent.
PLAN_YAML = f"""
version: 1
defaults: {{currency: UZS, default_region: UZ}}
events:
  subscribe:
    event_name: Subscribe{_PAYMENT_EVENT}
    value_required: true
    required: [transaction_id, value, currency]
    optional: [subscription_plan, payment_method, is_renewal]
    custom_data: [value, currency, subscription_plan, payment_method, transaction_id]
    event_id: sub_{{transaction_id}}
  renew_subscription:
    event_name: Renew_Sub{_PAYMENT_EVENT}
    value_required: true
    required: [transaction_id, value, currency]
    optional: [subscription_plan, is_renewal]
    custom_data: [value, currency, subscription_plan]
    event_id: renew_{{transaction_id}}
  cancel_subscription:
    event_name: Unsubscribe{_PAYMENT_EVENT}
    required: [transaction_id]
    optional: [subscription_plan, reason, days_active]
    custom_data: [subscription_plan, reason, days_active]
    event_id: cancel_{{transaction_id}}
  reactivate_subscription:
    event_name: Reactivate_Sub{_PAYMENT_EVENT}
    value_required: true
    required: [transaction_id, value, currency]
    optional: [subscription_plan, discount_code]
    custom_data: [subscription_plan, discount_code, currency, value]
    event_id: reactivate_{{transaction_id}}
  plan_change:
    event_name: Plan_Change{_PAYMENT_EVENT}
    value_required: true
    value_property: value_diff
    required: [transaction_id, value_diff, currency]
    optional: [old_plan, new_plan]
    custom_data: [old_plan, new_plan, value_diff, currency]
    event_id: planchange_{{transaction_id}}
  refund:
    event_name: Refund{_PAYMENT_EVENT}
    value_required: true
    required: [transaction_id, value, currency]
    optional: [original_transaction_id, subscription_plan]
    custom_data: [value, currency, original_transaction_id, subscription_plan]
    event_id: refund_{{transaction_id}}
webhooks:
  billing:
    event_type: type
    events:
      payment.succeeded: charge
      subscription.canceled: cancel
      subscription.expired: expire
      payment.refunded: refund
    fields:
      transaction_id: id
      amount: amount
      currency: currency
      plan: plan
      event_time: time
      reason: reason
      original_transaction_id: refunded_id
    user: {{telegram_id: user.telegram_id, email: user.email}}
    properties: {{payment_method: payment_method}}
    currency: UZS
    keys: {{renewal: renew_subscription, refund: refund}}
  atmos:
    adapter: atmos
"""


def plan() -> Plan:
    """The test plan: payment rows, renewals and refunds sent, providers billing and atmos."""
    return load_plan(PLAN_YAML, name="webhook-plan.yaml")


def settings(env: dict[str, str] | None = None) -> Settings:
    """Sandbox settings whose secrets are ``env`` (the three webhook secrets by default)."""
    return Settings(sources=(DEV_SOURCE,), secrets=Secrets(ENV if env is None else env, {}))


def service(
    store: InMemoryStore | None = None, the_plan: Plan | None = None
) -> tuple[WebhookIngestor, InMemoryStore]:
    """The webhook use case over a memory store (and the store)."""
    store = store or InMemoryStore(clock=FrozenClock(T0))
    the_plan = the_plan or plan()
    config = settings()
    ingestor = Ingestor(plan=the_plan, store=store, settings=config)
    providers = providers_from(the_plan, config.secrets.get)
    return WebhookIngestor(providers, store=store, ingestor=ingestor), store


def billing(kind: str = "payment.succeeded", **fields: Any) -> dict[str, Any]:
    """A billing-backend body: a 49,000 UZS monthly charge of user 77123 unless overridden."""
    body: dict[str, Any] = {
        "type": kind,
        "id": "pay_1",
        "time": T0 - 5,
        "amount": 49000,
        "currency": "UZS",
        "plan": "monthly",
        "user": {"telegram_id": "77123"},
        "payment_method": "uzcard",
    }
    return {**body, **fields}


def signed(
    body: dict[str, Any] | bytes, *, secret: str = BILLING_SECRET, at: float = T0
) -> tuple[bytes, str]:
    """The raw body and its signature header value, signed at ``at``."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return raw, sign(raw, secret.encode(), timestamp=int(at))


def atmos_callback(
    transaction_id: int = 48151623,
    amount: int = 4_900_000,
    telegram_id: str = "77123",
    plan_name: str = "monthly",
    key: str = ATMOS_KEY,
) -> bytes:
    """A forwarded Atmos callback with a correct MD5 sign (numbers unquoted, as Atmos may)."""
    invoice = f"sub-{telegram_id}-2026-11"
    text = f"7453{transaction_id}{invoice}{amount}{key}"
    sign_hex = hashlib.md5(text.encode()).hexdigest()
    callback = {
        "store_id": "7453",
        "transaction_id": transaction_id,
        "transaction_time": "2026-11-22 14:05:10",
        "amount": amount,
        "invoice": invoice,
        "sign": sign_hex,
    }
    envelope = {"callback": callback, "user": {"telegram_id": telegram_id}, "plan": plan_name}
    return orjson.dumps(envelope)


def secret(name: str) -> Secret | None:
    """A lookup over :data:`ENV`."""
    value = ENV.get(name)
    return Secret(value) if value else None
