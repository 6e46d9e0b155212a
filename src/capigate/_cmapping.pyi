"""The usual event of the plan mapping in C (``_cmapping.c``); see ``capigate.plan.mapping``."""

from typing import Any

from capigate.plan.mapping import Mapped
from capigate.plan.model import Plan, SourceInfo
from capigate.plan.native import PlanTables

ITEM_FIELDS: tuple[str, ...]

def configure(tables: dict[str, object], /) -> None:
    """``capigate.plan.native.configuration(...)``."""

def usual(item: dict[str, Any], plan: Plan, source: SourceInfo, now_s: float, /) -> Mapped | None:
    """``capigate.plan.mapping._usual``: in C when certain, else through the Python fallback."""

def decide(
    item: dict[str, Any], plan_tables: PlanTables, source: SourceInfo, now_s: float, /
) -> Mapped | None:
    """The C way alone: the Mapped ``_usual`` gives, or None when C is not certain."""
