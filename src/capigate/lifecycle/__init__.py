"""The lifecycle engine's pure part: seed 000's derived events from plain activity.

``read_activity`` reads an activity item, ``on_activity`` and ``on_tick`` apply the rules
(``capigate.lifecycle.rules`` documents each one), ``to_item`` turns a derived event into an
ingest item for the plan. ``capigate.lifecycle_engine`` runs them against the store.
"""

from __future__ import annotations

from capigate.lifecycle.activity import Activity, from_sent, read_activity
from capigate.lifecycle.config import DEFAULT_CONFIG, LifecycleConfig
from capigate.lifecycle.derived import DerivedEvent, to_item
from capigate.lifecycle.rules import day_of, on_activity, on_sent, on_tick
from capigate.lifecycle.section import check_against_plan, read_section
from capigate.lifecycle.state import Flow, UserState

__all__ = [
    "DEFAULT_CONFIG",
    "Activity",
    "DerivedEvent",
    "Flow",
    "LifecycleConfig",
    "UserState",
    "check_against_plan",
    "day_of",
    "from_sent",
    "on_activity",
    "on_sent",
    "on_tick",
    "read_activity",
    "read_section",
    "to_item",
]
