"""The tracking plan: YAML rules that turn product steps into Meta events."""

from __future__ import annotations
