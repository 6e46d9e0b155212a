"""capigate._cwire: the pipeline's fast path in C (``capigate.validate.clean`` is the reference)."""

from collections.abc import Mapping
from typing import Any

from capigate.quality import MatchQuality
from capigate.validate.options import ValidationOptions

def configure(tables: dict[str, object]) -> None:
    """The tables, caches and rule functions of ``capigate.validate.clean.native_tables``,
    plus ``quality_memo`` and ``estimate`` from ``capigate.quality``."""

def clean_wire(
    event: dict[str, Any], user_data: dict[str, Any], now_s: float, options: ValidationOptions
) -> dict[str, Any] | None:
    """Exactly ``capigate.validate.clean.clean_wire``, or ``None`` when not certain."""

def estimate(user_data: Mapping[str, Any]) -> MatchQuality:
    """``capigate.quality.estimate`` (its memo read in C)."""
