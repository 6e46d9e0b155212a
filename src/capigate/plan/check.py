"""Lint a tracking plan against Meta's rules and the house rules (``capigate plan check``).

Each finding names its rule and its source: a section of ``meta-capi-spec.md`` (``§10``) or
DESIGN.md (``DESIGN Seed conflicts``). Errors mean Meta would reject (or silently misread) what
the plan sends; warnings say what capigate changes on the way and why. The default plan has
warnings only: ``app_data_fallback`` and ``pii_property``, both documented in default.yaml.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from capigate.errors import PlanError
from capigate.findings import Finding, error, warning
from capigate.plan.model import (
    ACTION_SOURCES,
    APP_CONTEXT_KINDS,
    LIFECYCLE_KIND,
    SOURCE_KINDS,
    TEMPLATE_HOMES,
    TIME_VARIABLE,
    Plan,
    PlanEvent,
)
from capigate.plan.userdata import META_USER_KEYS, PII_TO_USER
from capigate.validate.custom_data import PII_KEYS
from capigate.validate.messaging import OFFICIAL_MESSAGING_NAMES
from capigate.validate.names import check_event_name
from capigate.validate.options import STRICT_MESSAGING_NAMES, ValidationOptions
from capigate.validate.rules import child

SEED_CONFLICTS = "DESIGN Seed conflicts"
PLAN_SPEC = "DESIGN The tracking plan"
REVENUE_EVENT_NAMES = frozenset({"Purchase", "Subscribe", "StartTrial"})
APP_ONLY_USER_KEYS = frozenset({"madid", "anon_id"})


def check_plan(plan: Plan, *, strict_names: bool = False) -> list[Finding]:
    """Every finding for ``plan``; ``strict_names`` adds seed 004's naming style as warnings."""
    options = ValidationOptions(custom_name_style="strict" if strict_names else "meta")
    findings: list[Finding] = []
    if plan.allow_meta_names:
        message = "any Meta event name is accepted as it is, without the plan's rules"
        findings.append(warning("$.allow_meta_names", "meta_names_allowed", message, PLAN_SPEC))
    for event in plan.events.values():
        findings.extend(_check_event(event, options))
    findings.extend(_duplicate_ids(plan))
    return findings


def ensure_valid(plan: Plan, *, strict_names: bool = False) -> list[Finding]:
    """The plan's warnings; ``PlanError`` (listing each ``file:line``) when it has errors."""
    findings = check_plan(plan, strict_names=strict_names)
    errors = [f for f in findings if f.is_error]
    if errors:
        lines = "\n".join(f"  {plan.where(f.path)}: {f.message} [{f.rule}]" for f in errors)
        raise PlanError(f"{plan.name}: the tracking plan has errors:\n{lines}", errors)
    return findings


def _check_event(event: PlanEvent, options: ValidationOptions) -> Iterator[Finding]:
    base = f"$.events.{event.key}"
    names: list[Finding] = []
    check_event_name(event.event_name, options, names)
    yield from (finding.under(base) for finding in names)
    for check in (_action_sources, _app_data, _revenue, _event_id, _sources, _pii, _user_data):
        yield from check(event, base)


def _action_sources(event: PlanEvent, base: str) -> Iterator[Finding]:
    chosen = {f"{base}.action_source": event.action_source}
    for sender, value in sorted(event.action_source_by_source.items()):
        chosen[child(f"{base}.action_source_by_source", sender)] = value
    if event.fallback_action_source is not None:
        chosen[f"{base}.fallback_action_source"] = event.fallback_action_source
    for path, value in chosen.items():
        if value not in ACTION_SOURCES:
            message = f"{value!r} is not an action source: use one of {_sorted(ACTION_SOURCES)}"
            yield error(path, "action_source_invalid", message, "§2")
    if event.fallback_action_source == "app":
        message = "the fallback for app events without app_data cannot be app itself"
        yield error(f"{base}.fallback_action_source", "fallback_is_app", message, "§5")
    if "business_messaging" in chosen.values():
        yield from _messaging_name(event, base)


def _messaging_name(event: PlanEvent, base: str) -> Iterator[Finding]:
    path = f"{base}.event_name"
    if event.event_name not in OFFICIAL_MESSAGING_NAMES:
        message = f"business_messaging allows only {_sorted(OFFICIAL_MESSAGING_NAMES)}"
        yield error(path, "messaging_event_name", message, "§6.1")
    elif event.event_name not in STRICT_MESSAGING_NAMES:
        message = f"{event.event_name} is on Meta's list, but the live API was seen refusing it"
        yield warning(path, "messaging_event_name_observed", message, "§6.2")


def _app_data(event: PlanEvent, base: str) -> Iterator[Finding]:
    """App events from senders that cannot describe a device fall back (or fail)."""
    senders = sorted(event.sources | ({LIFECYCLE_KIND} if event.derived else set()))
    by_source = event.action_source_by_source
    blind = [
        sender
        for sender in senders
        if sender not in APP_CONTEXT_KINDS and by_source.get(sender, event.action_source) == "app"
    ]
    if not blind:
        return
    names, fallback = ", ".join(blind), event.fallback_action_source
    if fallback is None:
        message = f"app events from {names} have no app_data and no fallback: all are refused"
        yield error(f"{base}.action_source", "app_data_no_fallback", message, "§5")
        return
    message = (
        f"Meta rejects app events without app_data; from {names} (no device context) they are "
        f"sent as {fallback}. Senders with context.platform + user agent (or context.app) stay app."
    )
    yield warning(f"{base}.action_source", "app_data_fallback", message, SEED_CONFLICTS)


def _revenue(event: PlanEvent, base: str) -> Iterator[Finding]:
    needed = ("value", "currency") if event.event_name == "Purchase" else ()
    if event.value_required:
        needed = (event.value_property, "currency")
    missing = [name for name in needed if name not in event.required]
    if missing:
        message = f"{event.event_name} must require {' and '.join(missing)} (add to required)"
        spec = "§4" if event.event_name == "Purchase" else SEED_CONFLICTS
        yield error(f"{base}.required", "revenue_value_required", message, spec)
    elif event.event_name in REVENUE_EVENT_NAMES and not event.value_required:
        message = "house rule: revenue events carry value and currency (set value_required)"
        yield warning(f"{base}.value_required", "revenue_value", message, SEED_CONFLICTS)


def _event_id(event: PlanEvent, base: str) -> Iterator[Finding]:
    path = f"{base}.event_id"
    if not event.id_fields:
        message = "the template has no variable: every event gets the same id and Meta keeps one"
        yield error(path, "event_id_constant", message, "§7.2")
    for name in event.id_fields:
        if name == TIME_VARIABLE or name in TEMPLATE_HOMES or name in event.required:
            continue
        if name in event.optional or name in event.custom_fields:
            message = f"{{{name}}} is an optional property: events without it are refused"
            yield warning(path, "event_id_optional_variable", message, PLAN_SPEC)
        else:
            known = _sorted({TIME_VARIABLE, *TEMPLATE_HOMES, *event.required})
            message = f"{{{name}}} is unknown: use {known}, or declare it in required"
            yield error(path, "event_id_variable", message, PLAN_SPEC)


def _sources(event: PlanEvent, base: str) -> Iterator[Finding]:
    for name in sorted(event.sources - SOURCE_KINDS):
        message = f"{name!r} is not a source kind ({_sorted(SOURCE_KINDS)}): taken as a source name"
        yield warning(f"{base}.sources", "source_not_a_kind", message, PLAN_SPEC)


def _pii(event: PlanEvent, base: str) -> Iterator[Finding]:
    for name in sorted((set(event.custom_fields) | set(event.custom_constants)) & PII_KEYS):
        message = f"{name} is personal data: it may not go to custom_data"
        yield error(f"{base}.custom_data", "pii_custom_data", message, "§13")
    for field in ("required", "optional"):
        for name in sorted(set(getattr(event, field)) & PII_KEYS):
            keys = PII_TO_USER.get(name)
            where = f"hashed as user_data.{'/'.join(keys)}" if keys else "nowhere (no match key)"
            message = f"{name} is personal data: it is sent {where}, never in custom_data"
            yield warning(f"{base}.{field}", "pii_property", message, SEED_CONFLICTS)


def _user_data(event: PlanEvent, base: str) -> Iterator[Finding]:
    path = f"{base}.user_data"
    for key in event.user_data:
        if key not in META_USER_KEYS:
            message = f"{key!r} is not a Meta user_data key (em, ph, external_id, fbp, ...)"
            yield error(path, "user_data_key", message, "§3.1")
        elif key in APP_ONLY_USER_KEYS and event.action_source != "app":
            message = f"{key} is for app events only; Meta ignores it here"
            yield warning(path, "app_only_user_key", message, "§3.1")


def _duplicate_ids(plan: Plan) -> Iterator[Finding]:
    """Two keys with one event_id template collide (fatally when the event name is the same)."""
    by_template: dict[str, list[PlanEvent]] = defaultdict(list)
    for event in plan.events.values():
        by_template[event.event_id].append(event)
    for template, events in by_template.items():
        for later in events[1:]:
            first = events[0]
            path = f"$.events.{later.key}.event_id"
            if later.event_name == first.event_name:
                message = f"same id {template!r} and name as {first.key!r}: Meta keeps only one"
                yield error(path, "event_id_duplicate", message, "§7.2")
            else:
                message = f"same id template {template!r} as {first.key!r} (different event)"
                yield warning(path, "event_id_shared", message, "§7.2")


def _sorted(names: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(names))
