"""Load the aiogram example's pure helpers (``examples/aiogram_bot/tracking.py``) by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "aiogram_bot"


def load_tracking() -> ModuleType:
    """The example's ``tracking`` module (it imports capigate.client, never aiogram)."""
    name = "capigate_example_tracking"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EXAMPLE_DIR / "tracking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the body runs
    spec.loader.exec_module(module)
    return module
