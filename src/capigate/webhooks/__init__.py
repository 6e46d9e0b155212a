"""Payment webhooks: ``POST /webhooks/{provider}`` from the merchant's billing backend.

Pure parts: ``signature`` (HMAC-SHA256 with a timestamp), ``paths`` and ``mapping`` (a
provider's payload -> a :class:`~capigate.webhooks.mapping.Payment`, by field paths configured
in the plan's ``webhooks:`` section, read by ``section``), ``subscriptions`` (what a payment
means for the user's subscription), ``items`` (the ingest items it becomes) and ``atmos`` (the
adapter for an Atmos callback forwarded by the merchant). ``capigate.webhook_ingest`` runs them
against the store and the ingest use case; ``capigate.web.webhooks`` is the HTTP route.
"""

from __future__ import annotations
