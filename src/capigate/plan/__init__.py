"""The tracking plan: YAML rules that turn product steps into Meta events.

``load_plan`` / ``load_file`` / ``default_plan`` read a plan, ``to_meta_event`` maps one ingest
item through it (on every event), ``check_plan`` lints it against Meta's rules.
"""

from __future__ import annotations

from capigate.plan.check import check_plan, ensure_valid
from capigate.plan.load import default_plan, load_file, load_plan
from capigate.plan.mapping import Mapped, MetaEvent, to_meta_event
from capigate.plan.model import (
    ACTION_SOURCES,
    SOURCE_KINDS,
    Plan,
    PlanDefaults,
    PlanEvent,
    SourceInfo,
)

__all__ = [
    "ACTION_SOURCES",
    "SOURCE_KINDS",
    "Mapped",
    "MetaEvent",
    "Plan",
    "PlanDefaults",
    "PlanEvent",
    "SourceInfo",
    "check_plan",
    "default_plan",
    "ensure_valid",
    "load_file",
    "load_plan",
    "to_meta_event",
]
