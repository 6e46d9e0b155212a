"""capigate._cwire: the pipeline's fast path in C (``capigate.validate.clean`` is the reference)."""

from collections.abc import Mapping
from typing import Any

from capigate.findings import Finding
from capigate.pipeline import PipelineOptions, Prepared
from capigate.quality import MatchQuality
from capigate.validate.options import ValidationOptions

def configure(tables: dict[str, object]) -> None:
    """``capigate.validate.clean.native_tables``, ``capigate.quality.native_tables``,
    ``prepared_type``/``prepared_fields`` (``capigate.pipeline.Prepared``) and
    ``capigate.pipeline._settings_tables``."""

def prepare(event: Any, now_s: float, options: PipelineOptions, /) -> Prepared | None:
    """``capigate.pipeline.prepare`` of an event that needs no finding, or ``None``."""

def clean_wire(
    event: dict[str, Any], user_data: dict[str, Any], now_s: float, options: ValidationOptions
) -> dict[str, Any] | None:
    """Exactly ``capigate.validate.clean.clean_wire``, or ``None`` when not certain."""

def prepare_clean(
    event: dict[str, Any],
    user_data: dict[str, Any],
    now_s: float,
    options: ValidationOptions,
    findings: list[Finding],
) -> Prepared | None:
    """``capigate.pipeline._prepare_pure``: Prepared of an event clean_wire answers, or None."""

def estimate(user_data: Mapping[str, Any]) -> MatchQuality:
    """``capigate.quality.estimate`` (its memo read in C)."""
