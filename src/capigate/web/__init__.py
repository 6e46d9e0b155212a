"""The HTTP edge: ingest API, health, readiness and metrics endpoints."""

from __future__ import annotations
