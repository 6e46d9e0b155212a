"""The plans, sources and item strategies that both ways of the plan mapping are tested on
(``test_plan_mapping_usual``: ``_usual`` against the long way; ``test_native_mapping``: C
against ``_usual``)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from capigate.plan import SourceInfo, default_plan, load_plan

NOW_S = 1_763_800_000.0
WEBSITE = SourceInfo("landing", "website", frozenset({"website"}))
BOT = SourceInfo("bot", "bot")
SERVER = SourceInfo("billing", "server")
SOURCES = (
    WEBSITE,
    BOT,
    SERVER,
    SourceInfo("miniapp", "mini_app"),
    SourceInfo("lifecycle", "lifecycle"),
    SourceInfo("bench", "website"),
    SourceInfo("checkout", "server"),  # named in the plan's sources and by_source
)
PLAN_TEXT = """\
version: 1
defaults: {currency: USD, undeclared_properties: %s}
events:
  checkout:
    event_name: Purchase
    action_source: website
    action_source_by_source: {bot: chat, checkout: system_generated}
    sources: [website, server, bot, checkout]
    value_required: true
    required: [order_id, value]
    optional: [coupon]
    custom_data:
      fields: [order_id, value, currency, coupon]
      constants: {status: paid, tip: 0}
    event_id: order_{order_id}_{user_id}
  signup:
    event_name: CompleteRegistration
    action_source: website
    sources: [website, bot]
    required: [phone_number]
    event_id: "signup_{{x}}_{session_id}_{ts}"
  cta_click:
    event_name: Lead
    action_source: website
    sources: [website]
    custom_data: [button_id, utm_source]
    event_id: cta_{session_id}
  renewal:
    event_name: Subscribe
    action_source: chat
    sources: [bot]
    derived: true
    custom_data: [transaction_id]
    event_id: "{transaction_id}{external_id}{telegram_id}"
"""
PLANS = (
    default_plan(),
    *(load_plan(PLAN_TEXT % policy) for policy in ("keep", "warn", "drop")),
)

TEXT = st.sampled_from(
    ["", " ", "a", " b ", "ü", "\u00a0c\u2003", "\x1cd\x1f", "fb", "+998901234567", "x@y.uz", "0"]
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.sampled_from([0, 2**53, -(2**53), 2**53 - 1, 1 - 2**53, 2**63, -(2**63), 10**20, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
USER_KEYS = [
    "email", "phone", "first_name", "ip", "user_agent", "fbp", "fbc", "em", "ph", "external_id",
    "client_ip_address", "telegram_id", "user_id", "fbclid", "nickname", "country",
]  # fmt: skip
PROPERTY_KEYS = [
    "order_id", "value", "currency", "coupon", "button_id", "utm_source", "utm_campaign", "email",
    "phone_number", "user_name", "address", "status", "session_id", "tip", "transaction_id",
    "language", "a", "b",
]  # fmt: skip
CONTEXT_KEYS = [
    "session_id", "page_url", "referrer", "test_event_code", "order_id", "currency", "coupon",
    "user_id", "telegram_id", "button_id", "b", "value", "transaction_id", "init_data", "platform",
]  # fmt: skip
EVENTS = [
    "cta_click", "landing_view", "start_bot", "subscribe", "checkout", "signup", "renewal",
    "raw", "odd", "Purchase", "",
]  # fmt: skip
CLEAN_TEXT = st.sampled_from(["a", " b ", "fb", "o-1", "+998901234567", "x@y.uz", "", "0", " "])


def ordered(value: Any) -> Any:
    """Dict key order made visible to ``==`` (it reaches the stored payload's JSON)."""
    if isinstance(value, dict):
        return [(key, ordered(v)) for key, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value
