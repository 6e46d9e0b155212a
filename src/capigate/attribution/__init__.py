"""Attribution from the landing page to Telegram: link tokens, sessions and stitching rules.

The flow::

    landing page (/capigate.js)                     gateway
      landing_view / cta_click  ── context.landing_token ──▶  save the landing session
      "Open in Telegram"  ──▶  t.me/<bot>?start=<token>          (fbc, fbp, UTMs, IP, UA)
    Telegram bot
      start_bot  ── user.telegram_id + context.start_param ──▶  link the user to the session
      later bot, mini-app and payment events  ──────────────▶  carry the session's match keys

The token is random (the snippet draws it from ``crypto.getRandomValues``): it carries no data,
so no PII ever travels in a deep link, and the session's keys stay on the gateway. This package
is pure (``token``, ``config``, ``session``, ``rules``, ``snippet``); ``capigate.stitching`` is
the store-facing step that ingest runs before the plan mapping.
"""

from __future__ import annotations

from capigate.attribution.config import AttributionSettings
from capigate.attribution.session import UTM_KEYS, LandingSession
from capigate.attribution.token import is_token, new_token

__all__ = ["UTM_KEYS", "AttributionSettings", "LandingSession", "is_token", "new_token"]
