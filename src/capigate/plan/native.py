"""The tracking plan as the tables that the C usual way (``capigate._cmapping``) reads.

``capigate.plan.mapping._usual`` stays the reference. The C function gets a plan's rules as
plain tuples, built here once per plan (it keeps the last few), and answers "unsure" for
anything they do not describe: a rule left out here simply takes the Python way.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from capigate.plan.model import LIFECYCLE_KIND, TEMPLATE_HOMES, TIME_VARIABLE, Plan, PlanEvent
from capigate.plan.userdata import CONSUMED_USER_KEYS, IDENTITY_KEYS, MAPPED_USER_KEYS, PII_TO_USER
from capigate.validate.custom_data import PII_KEYS

# Where an event_id variable is looked up: the item's sections, then the fallbacks.
USER, PROPERTIES, CONTEXT, TELEGRAM_ID, EVENT_TIME = range(5)
_SECTION = {"user": USER, "properties": PROPERTIES, "context": CONTEXT}

# One rule: event_name, action_source, action_source_by_source (true values only), sources,
# derived, custom_fields, the properties it knows (True or the custom field's index: declared;
# False: personal data, which only the long way handles), custom_constants as pairs, required
# as (name, the user_data key a PII property would fill or None), whether a currency is
# required, and the event_id template as parts (None without one).
RuleTable = tuple[
    Any, str, dict[str, str], frozenset[str], bool, tuple[str, ...], dict[str, bool | int],
    tuple[tuple[Any, Any], ...], tuple[tuple[str, str | None], ...], bool,
    tuple[tuple[str, str | None, tuple[int, ...]], ...] | None,
]  # fmt: skip
PlanTables = tuple[dict[str, RuleTable], bool]


def configuration(fallback: Callable[..., Any], mapped: type) -> dict[str, object]:
    """What ``_cmapping.configure`` takes: the mapping's key tables, the Python way to fall
    back on, the result type and the per-plan table builder."""
    return {
        "user_keys": dict(MAPPED_USER_KEYS),
        "identity_keys": IDENTITY_KEYS,
        "consumed_keys": frozenset(CONSUMED_USER_KEYS),
        "lifecycle_kind": LIFECYCLE_KIND,
        "mapped": mapped,
        "fallback": fallback,
        "plan_tables": plan_tables,
    }


def plan_tables(plan: Plan) -> PlanTables:
    """The rules C can map, by plan key, and whether undeclared properties are kept."""
    currency = bool(plan.defaults.currency)
    rules = {
        key: table
        for key, rule in plan.events.items()
        if type(key) is str and (table := rule_table(rule, currency=currency)) is not None
    }
    return rules, plan.defaults.undeclared_properties == "keep"


def rule_table(rule: PlanEvent, *, currency: bool) -> RuleTable | None:
    """``rule`` as C reads it, or None when a value is not of the type C expects."""
    by_source = {k: v for k, v in rule.action_source_by_source.items() if v}
    texts = (rule.action_source, *by_source, *by_source.values(), *rule.sources)
    names = (*rule.custom_fields, *rule.declared, *rule.required, *rule.custom_constants)
    if not all(type(text) is str for text in (*texts, *names)):
        return None
    if len(set(rule.custom_fields)) < len(rule.custom_fields):  # C keeps one slot per field
        return None
    return (
        rule.event_name,
        rule.action_source,
        by_source,
        frozenset(rule.sources),
        bool(rule.derived),
        tuple(rule.custom_fields),
        _known_properties(rule),
        tuple(rule.custom_constants.items()),
        tuple((name, _moved(name)) for name in rule.required),
        bool(rule.value_required) and currency,
        template_parts(rule.event_id) if rule.event_id else None,
    )


def _known_properties(rule: PlanEvent) -> dict[str, bool | int]:
    """Declared names (True, or their index among the custom fields) and personal data (False,
    for the long way), by property name."""
    known: dict[str, bool | int] = dict.fromkeys(rule.declared, True)
    known.update({name: i for i, name in enumerate(rule.custom_fields)})
    known.update(dict.fromkeys(PII_KEYS, False))
    return known


def _moved(name: str) -> str | None:
    targets = PII_TO_USER.get(name)
    return targets[0] if targets else None


def template_parts(template: str) -> tuple[tuple[str, str | None, tuple[int, ...]], ...]:
    """An event_id template as (literal text, variable or None, where to look it up) parts:
    ``format_map`` of ``_section_variable``'s values is the concatenation of the parts."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append((literal, name, () if name is None else _lookups(name)))
    return tuple(parts)


def _lookups(name: str) -> tuple[int, ...]:
    if name == TIME_VARIABLE:
        return (EVENT_TIME,)
    home = _SECTION[TEMPLATE_HOMES.get(name, "properties")]
    order = tuple(dict.fromkeys((home, USER, PROPERTIES, CONTEXT)))
    return (*order, TELEGRAM_ID) if name == "user_id" else order
