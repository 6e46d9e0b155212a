"""A faithful local fake of Meta's ``POST /{version}/{pixel_id}/events`` (spec §12).

It validates like Meta with its own reference checks, sharing no code with capigate's core, so
that a bug there cannot agree with itself; records what it receives; and fails on request.
"""

from __future__ import annotations

from capigate.emulator.app import EmulatorApp, create_app
from capigate.emulator.config import EmulatorConfig

__all__ = ["EmulatorApp", "EmulatorConfig", "create_app"]
