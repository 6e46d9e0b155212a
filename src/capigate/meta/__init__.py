"""Talking to Meta's Graph API: the Conversions API client (``capigate.meta.client``)."""

from __future__ import annotations
