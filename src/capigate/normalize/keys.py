"""Meta's ``user_data`` keys (spec §3.1): which are hashed, which are sent raw."""

from __future__ import annotations

# In the order of Meta's customer-information table; the event-level output follows it.
HASHED_ORDER = ("em", "ph", "fn", "ln", "db", "ge", "ct", "st", "zp", "country", "external_id")
NEVER_HASH_ORDER = (
    "client_ip_address",
    "client_user_agent",
    "fbc",
    "fbp",
    "subscription_id",
    "fb_login_id",
    "lead_id",
    "anon_id",
    "madid",
    "page_id",
    "page_scoped_user_id",
    "ctwa_clid",
    "ig_account_id",
    "ig_sid",
    "whatsapp_business_account_id",
    "instagram_business_account_id",
)

HASHED_KEYS = frozenset(HASHED_ORDER)
"""Keys Meta receives as SHA-256 of the normalized value; each also accepts a list of values."""

NEVER_HASH_KEYS = frozenset(NEVER_HASH_ORDER)
"""Keys Meta must receive raw (hashing them breaks matching); one value each, never a list."""

USER_DATA_ORDER = HASHED_ORDER + NEVER_HASH_ORDER
