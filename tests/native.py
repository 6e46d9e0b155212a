"""The C accelerators for tests that compare them with the pure-Python reference."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require_native(name: str) -> ModuleType:
    """``capigate.<name>``; a module-level skip when it is not built, except under ``CI=true``,
    where a missing accelerator fails: CI never silently tests or measures the pure path alone."""
    try:
        return importlib.import_module(f"capigate.{name}")
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"capigate.{name} is not built (make native)", allow_module_level=True)
