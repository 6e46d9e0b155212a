"""One ingest item -> one Meta server event, as the tracking plan says (runs on every event).

The item is DESIGN.md's ingest shape: ``{"event", "event_id"?, "event_time"?,
"action_source"?, "user", "properties", "context"}``. The result keeps ``user_data`` raw under
Meta's key names; ``capigate.pipeline`` normalizes, hashes and validates it afterwards. Every
finding's path points into the ingest item (``$.properties.transaction_id``), so the API can
answer 422 naming the caller's own field.

Decisions: properties the plan does not declare go to ``custom_data`` as they are (Meta allows
custom properties; ``defaults.undeclared_properties`` can make that ``warn`` or ``drop``);
plan constants win over properties of the same name; ``{user_id}`` falls back to the Telegram
id, so a bot that knows only that id still gets seed 000's ids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, NamedTuple, TypedDict, TypeGuard

from capigate.findings import Finding, error, warning
from capigate.plan import native
from capigate.plan.appdata import build_app_data
from capigate.plan.model import (
    ACTION_SOURCES,
    TEMPLATE_HOMES,
    TIME_VARIABLE,
    Plan,
    PlanDefaults,
    PlanEvent,
    SourceInfo,
    UndeclaredPolicy,
)
from capigate.plan.userdata import (
    CONSUMED_USER_KEYS,
    IDENTITY_KEYS,
    MAPPED_USER_KEYS,
    PII_TO_USER,
    map_user,
    move_pii,
)
from capigate.validate.custom_data import PII_KEYS
from capigate.validate.names import check_event_name
from capigate.validate.options import DEFAULT_OPTIONS
from capigate.validate.rules import child

ITEM_FIELDS = frozenset(
    {"event", "event_id", "event_time", "action_source", "user", "properties", "context"}
)
PLAN_SPEC = "DESIGN The tracking plan"
_SECTIONS = ("user", "properties", "context")
_MAPPED = MAPPED_USER_KEYS


class MetaEvent(TypedDict, total=False):
    """One server event in Meta's wire shape (spec §2), ``user_data`` still raw."""

    event_name: str
    event_time: int
    event_id: str
    action_source: str
    user_data: dict[str, Any]
    custom_data: dict[str, Any]
    app_data: dict[str, Any]
    event_source_url: str
    referrer_url: str


class Mapped(NamedTuple):
    """The Meta event for one ingest item, the plan key it came from, and every finding.

    A NamedTuple: built once per event, and a frozen dataclass costs four times as much."""

    event: MetaEvent
    plan_key: str | None
    findings: tuple[Finding, ...]
    test_event_code: str | None = None

    @property
    def ok(self) -> bool:
        """True when no finding is an error: the event may be sent."""
        return not any(f.is_error for f in self.findings)


@dataclass(slots=True)
class _Item:
    user: Mapping[str, Any]
    properties: dict[str, Any]
    context: Mapping[str, Any]
    findings: list[Finding]

    def value(self, name: str) -> Any:
        """A property, else a context value; ``None`` when absent or empty."""
        value = self.properties.get(name)
        if value is None or value == "":
            value = self.context.get(name)
            if value == "":
                return None
        return value


def to_meta_event(item: object, plan: Plan, *, source: SourceInfo, now_s: float) -> Mapped:
    """Map one ingest ``item`` (a JSON object) from ``source`` through ``plan`` at ``now_s``."""
    if type(item) is dict:
        mapped = _usual_way(item, plan, source, now_s)
        if mapped is not None:
            return mapped
    return _long_way(item, plan, source=source, now_s=now_s)


def _long_way(item: object, plan: Plan, *, source: SourceInfo, now_s: float) -> Mapped:
    """``to_meta_event`` for any item: every check, every finding."""
    if not _is_mapping(item):
        return Mapped({}, None, (error("$", "item_type", "an event must be a JSON object"),))
    it = _Item(*_sections(item), findings=[])
    _check_shape(item, it.findings)
    test_event_code = it.context.get("test_event_code")
    test_event_code = test_event_code if isinstance(test_event_code, str) else None
    rule, plan_key = _rule(item, plan, source, it.findings)
    if rule is None:
        return Mapped({}, None, tuple(it.findings), test_event_code)
    # A raw Meta event name has no declared properties: all of them are its custom_data.
    defaults = plan.defaults if plan_key else replace(plan.defaults, undeclared_properties="keep")
    event = _event(item, rule, defaults=defaults, source=source, now_s=now_s, it=it)
    return Mapped(event, plan_key, tuple(it.findings), test_event_code)


# --- the usual event, in one pass ------------------------------------------------------------
# An item of a plan key with plain JSON values that yields no finding at all. ``_usual`` gives
# the same Mapped as ``_long_way`` for it and answers None for everything else, before it
# changes anything, so the long way then runs on the untouched item and reports the findings.
# ``capigate._cmapping`` is the same in C (``use_native``), reading the plan through the tables
# of ``capigate.plan.native``; whatever it is not sure of, it hands to ``_usual``.

_NOTHING: Mapping[str, Any] = MappingProxyType({})
_TEXT_ID_LIMIT = 2**53  # ints beyond it take the long way (its float check would differ)


def _usual(item: dict[str, Any], plan: Plan, source: SourceInfo, now_s: float) -> Mapped | None:
    name = item.get("event")
    rule = plan.events.get(name) if type(name) is str else None
    user = item.get("user", _NOTHING)
    properties = item.get("properties", _NOTHING)
    context = item.get("context", _NOTHING)
    if rule is None or not _plain(user, properties, context):
        return None
    action_source = _usual_action_source(item, rule, source, properties)
    event_time = item.get("event_time")
    if event_time is None:
        event_time = int(now_s)
    if action_source is None or type(event_time) is not int:
        return None
    user_data = _usual_user(user)
    if user_data is None or not _usual_values(rule, plan.defaults, user_data, properties, context):
        return None
    event_id = _usual_event_id(item.get("event_id"), rule, event_time, (user, properties, context))
    custom_data = _usual_custom_data(rule, plan.defaults.undeclared_properties, properties, context)
    if event_id is None or custom_data is None:
        return None
    event: MetaEvent = {
        "event_name": rule.event_name,
        "event_time": event_time,
        "event_id": event_id,
        "action_source": action_source,
        "user_data": user_data,
    }
    if custom_data:
        event["custom_data"] = custom_data
    _urls(context, event)
    test_event_code = context.get("test_event_code")
    test_event_code = test_event_code if isinstance(test_event_code, str) else None
    return Mapped(event, name, (), test_event_code)


UsualWay = Callable[[dict[str, Any], Plan, SourceInfo, float], Mapped | None]


def _load_native() -> UsualWay | None:
    """``capigate._cmapping.usual`` (``_usual`` in C, which falls back on it), if built."""
    try:
        import capigate._cmapping as cmapping
    except ImportError:
        return None
    cmapping.configure(native.configuration(_usual, Mapped))
    return cmapping.usual


def use_native(enabled: bool) -> bool:
    """Take the C usual way when ``enabled`` and built (the default), else ``_usual``, which
    stays the reference; returns whether C is in use. For tests and comparisons."""
    global _usual_way  # noqa: PLW0603 - to_meta_event reads one global, not a holder's attribute
    native_way = _load_native() if enabled else None
    _usual_way = native_way or _usual
    return native_way is not None


_usual_way: UsualWay = _usual
use_native(True)


def _plain(user: object, properties: object, context: object) -> bool:
    """Whether each section is a plain dict or absent."""
    return (
        (type(user) is dict or user is _NOTHING)
        and (type(properties) is dict or properties is _NOTHING)
        and (type(context) is dict or context is _NOTHING)
    )


def _usual_action_source(
    item: dict[str, Any], rule: PlanEvent, source: SourceInfo, properties: Mapping[str, Any]
) -> str | None:
    """The plan's action source when nothing about the item needs the long way, else None."""
    chosen = rule.action_source_for(source)
    if (
        ITEM_FIELDS.issuperset(item)
        and rule.allows(source)
        and item.get("action_source") is None
        and chosen in source.action_sources
        and chosen != "app"  # app_data or its fallback
        and PII_KEYS.isdisjoint(properties)
    ):
        return chosen
    return None


def _usual_user(user: Mapping[str, Any]) -> dict[str, Any] | None:
    """``map_user`` for text values under distinct Meta keys and text or int ids."""
    out: dict[str, Any] = {}
    ids: dict[str, str] = {}
    for key, raw in user.items():
        meta = _MAPPED.get(key)
        if meta is None:
            if key in IDENTITY_KEYS:
                if type(raw) is str:
                    if raw := raw.strip():
                        ids[key] = raw
                    continue
                if type(raw) is int and -_TEXT_ID_LIMIT < raw < _TEXT_ID_LIMIT:
                    ids[key] = str(raw)
                    continue
                return None
            if key in CONSUMED_USER_KEYS:
                continue
            return None
        if type(raw) is not str or meta in out:
            return None
        if raw := raw.strip():
            out[meta] = raw
    if ids:
        unique = list(dict.fromkeys(ids[key] for key in IDENTITY_KEYS if key in ids))
        out["external_id"] = unique[0] if len(unique) == 1 else unique
    return out


def _usual_values(
    rule: PlanEvent,
    defaults: PlanDefaults,
    user_data: Mapping[str, Any],
    properties: Mapping[str, Any],
    context: Mapping[str, Any],
) -> bool:
    """Whether the item has the currency and the required properties it needs."""
    if (
        rule.value_required
        and defaults.currency
        and _section_value(properties, context, "currency") is None
    ):
        return False
    for name in rule.required:
        if _section_value(properties, context, name) is None:
            moved = PII_TO_USER.get(name)
            if not (moved and moved[0] in user_data):
                return False
    return True


def _section_value(properties: Mapping[str, Any], context: Mapping[str, Any], name: str) -> Any:
    """``_Item.value``: a property, else a context value; ``None`` when absent or empty."""
    value = properties.get(name)
    if value is None or value == "":
        value = context.get(name)
        if value == "":
            return None
    return value


def _usual_event_id(
    explicit: object,
    rule: PlanEvent,
    event_time: int,
    sections: tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]],
) -> str | None:
    if type(explicit) is str:
        return explicit.strip() or None
    if type(explicit) is int:
        return str(explicit)
    if explicit is not None or not rule.event_id:
        return None
    values: dict[str, str] = {}
    for name in rule.id_fields:
        if name == TIME_VARIABLE:
            values[name] = str(event_time)
            continue
        value = _section_variable(name, *sections)
        if value is None:
            return None
        values[name] = value
    return rule.event_id.format_map(values)


def _usual_custom_data(
    rule: PlanEvent,
    policy: UndeclaredPolicy,
    properties: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any] | None:
    """``_custom_data`` when it has no finding to give, else None."""
    if rule.custom_field_set.isdisjoint(context):  # the usual context: no field to fall back on
        fields = rule.custom_fields
        out = {name: v for name in fields if (v := properties.get(name)) is not None and v != ""}
    else:
        out = {}
        for name in rule.custom_fields:
            value = _section_value(properties, context, name)
            if value is not None:
                out[name] = value
    declared = rule.declared
    if not declared.issuperset(properties):
        if policy != "keep":
            return None
        out.update({name: v for name, v in properties.items() if name not in declared})
    if rule.custom_constants:
        out.update(rule.custom_constants)
    return out


# --- the long way ---------------------------------------------------------------------------


def _sections(
    item: Mapping[str, Any],
) -> tuple[Mapping[str, Any], dict[str, Any], Mapping[str, Any]]:
    """``user``, a copy of ``properties`` (the mapping edits it) and ``context``; ``{}`` for any
    that is missing or not an object (``_check_shape`` reports those)."""
    user, properties, context = item.get("user"), item.get("properties"), item.get("context")
    return (
        user if _is_mapping(user) else {},
        dict(properties) if _is_mapping(properties) else {},
        context if _is_mapping(context) else {},
    )


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, quick for the dicts that JSON parsing gives."""
    return type(value) is dict or isinstance(value, Mapping)


def _event(
    item: Mapping[str, Any],
    rule: PlanEvent,
    *,
    defaults: PlanDefaults,
    source: SourceInfo,
    now_s: float,
    it: _Item,
) -> MetaEvent:
    event_time = _event_time(item.get("event_time"), now_s, it.findings)
    action_source = _action_source(item.get("action_source"), rule, source, it.findings)
    user_data = map_user(it.user, it.findings)
    if not PII_KEYS.isdisjoint(it.properties):
        move_pii(it.properties, user_data, it.findings)
    if rule.value_required:
        _default_currency(defaults.currency, it)
    if rule.required:
        _check_required(rule, user_data, it)
    event: MetaEvent = {"event_name": rule.event_name, "event_time": event_time}
    event_id = _event_id(item.get("event_id"), rule, event_time, it)
    if event_id is not None:
        event["event_id"] = event_id
    event["action_source"] = action_source
    event["user_data"] = user_data
    custom_data = _custom_data(rule, defaults.undeclared_properties, it)
    if custom_data:
        event["custom_data"] = custom_data
    _urls(it.context, event)
    if action_source == "app":
        _app_data(event, rule, it)
    return event


# --- which rule ---------------------------------------------------------------------------


def _rule(
    item: Mapping[str, Any], plan: Plan, source: SourceInfo, findings: list[Finding]
) -> tuple[PlanEvent | None, str | None]:
    name = item.get("event")
    if not isinstance(name, str) or not name:
        message = f"event is required: a plan key ({_key_list(plan)})"
        findings.append(error("$.event", "event_required", message, PLAN_SPEC))
        return None, None
    rule = plan.events.get(name)
    if rule is not None:
        if not rule.allows(source):
            allowed = ", ".join(sorted(rule.sources))
            message = f"source {source.name!r} ({source.kind}) may not send {name!r}"
            message += f" (allowed: {allowed})"
            findings.append(error("$.event", "source_not_allowed", message, PLAN_SPEC))
        return rule, name
    if plan.allow_meta_names and _is_meta_name(name, findings):
        return _raw_rule(name, item, plan, source, findings), None
    message = f"unknown event {name!r}; valid keys: {_key_list(plan)}"
    findings.append(error("$.event", "unknown_event", message, PLAN_SPEC))
    return None, None


def _key_list(plan: Plan) -> str:
    return ", ".join(plan.events)


def _is_meta_name(name: str, findings: list[Finding]) -> bool:
    found: list[Finding] = []
    check_event_name(name, DEFAULT_OPTIONS, found)
    if any(f.is_error for f in found):
        return False
    findings.extend(Finding(f.severity, "$.event", f.rule, f.message, f.spec) for f in found)
    return True


def _raw_rule(
    name: str, item: Mapping[str, Any], plan: Plan, source: SourceInfo, findings: list[Finding]
) -> PlanEvent | None:
    """A rule for a raw Meta event name: all properties go to custom_data as they are."""
    action_source = item.get("action_source")
    if action_source is None and len(source.action_sources) == 1:
        (action_source,) = source.action_sources
    if not isinstance(action_source, str):
        message = f"action_source is required with the Meta event name {name!r}"
        findings.append(error("$.action_source", "action_source_required", message, "§2"))
        return None
    return PlanEvent(
        key=name,
        event_name=name,
        action_source=action_source,
        event_id="",
        sources=frozenset({source.name}),
        fallback_action_source=plan.defaults.fallback_action_source,
    )


# --- fields -------------------------------------------------------------------------------


def _check_shape(item: Mapping[str, Any], findings: list[Finding]) -> None:
    for name in _SECTIONS:
        if name in item and type(item[name]) is not dict and not _is_mapping(item[name]):
            findings.append(error(f"$.{name}", "field_type", f"{name} must be an object"))
    if ITEM_FIELDS.issuperset(item):
        return
    for key in item:
        if key not in ITEM_FIELDS:
            message = f"unknown field {key!r}; it was ignored (known: {', '.join(ITEM_FIELDS)})"
            findings.append(warning(child("$", str(key)), "unknown_field", message, PLAN_SPEC))


def _event_time(value: object, now_s: float, findings: list[Finding]) -> int:
    """Unix seconds: the item's ``event_time`` (number or digit string), else now."""
    if value is None:
        return int(now_s)
    if type(value) is int:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    message = "event_time must be Unix seconds (a number); the current time was used"
    findings.append(error("$.event_time", "event_time_type", message, "§2"))
    return int(now_s)


def _action_source(
    override: object, rule: PlanEvent, source: SourceInfo, findings: list[Finding]
) -> str:
    chosen = rule.action_source_for(source)
    path = "$.event"
    if override is not None:
        if not isinstance(override, str) or override not in ACTION_SOURCES:
            message = f"action_source must be one of {', '.join(sorted(ACTION_SOURCES))}"
            findings.append(error("$.action_source", "action_source_invalid", message, "§2"))
            return chosen
        chosen, path = override, "$.action_source"
    if chosen not in source.action_sources:
        allowed = ", ".join(sorted(source.action_sources))
        message = f"source {source.name!r} may not send action_source={chosen} (allowed: {allowed})"
        findings.append(error(path, "action_source_not_allowed", message, PLAN_SPEC))
    return chosen


def _default_currency(currency: str | None, it: _Item) -> None:
    """An event that requires a value gets the plan's default currency if it has none."""
    if currency and it.value("currency") is None:
        it.properties["currency"] = currency
        message = f"currency missing: used the plan's default {currency}"
        it.findings.append(warning("$.properties.currency", "currency_defaulted", message))


def _check_required(rule: PlanEvent, user_data: Mapping[str, Any], it: _Item) -> None:
    for name in rule.required:
        if it.value(name) is not None:
            continue
        moved = PII_TO_USER.get(name)
        if moved and moved[0] in user_data:
            continue
        message = f"{rule.key!r} requires properties.{name}"
        it.findings.append(error(child("$.properties", name), "property_required", message))


def _custom_data(rule: PlanEvent, policy: UndeclaredPolicy, it: _Item) -> dict[str, Any]:
    """Declared fields, then undeclared properties (per the plan's policy), then constants."""
    out: dict[str, Any] = {}
    properties, context = it.properties, it.context
    for name in rule.custom_fields:  # it.value(name), inline: this runs for every field
        value = properties.get(name)
        if value is None or value == "":
            value = context.get(name)
            if value is None or value == "":
                continue
        out[name] = value
    declared = rule.declared
    if policy == "keep":
        out.update({name: v for name, v in it.properties.items() if name not in declared})
        out.update(rule.custom_constants)
        return out
    verdict = "sent in custom_data" if policy == "warn" else "dropped"
    for name, value in it.properties.items():
        if name in declared:
            continue
        message = f"{name} is not in the plan for {rule.key!r}; {verdict}"
        it.findings.append(warning(child("$.properties", name), "undeclared_property", message))
        if policy == "warn":
            out[name] = value
    out.update(rule.custom_constants)
    return out


def _event_id(explicit: object, rule: PlanEvent, event_time: int, it: _Item) -> str | None:
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    if isinstance(explicit, int) and not isinstance(explicit, bool):
        return str(explicit)
    if explicit is not None:
        it.findings.append(error("$.event_id", "field_type", "event_id must be a string"))
        return None
    if not rule.event_id:
        message = f"event_id is required with the Meta event name {rule.event_name!r}"
        it.findings.append(error("$.event_id", "event_id_required", message, "§7.2"))
        return None
    values: dict[str, str] = {}
    for name in rule.id_fields:
        value = str(event_time) if name == TIME_VARIABLE else _variable(name, it)
        if value is None:
            home = TEMPLATE_HOMES.get(name, "properties")
            message = f"event_id {rule.event_id!r} needs {home}.{name} (or send event_id)"
            it.findings.append(error(child(f"$.{home}", name), "event_id_variable", message))
            return None
        values[name] = value
    return rule.event_id.format_map(values)


def _variable(name: str, it: _Item) -> str | None:
    """``name`` from its home section first, then user, properties and context."""
    return _section_variable(name, it.user, it.properties, it.context)


def _section_variable(
    name: str, user: Mapping[str, Any], properties: Mapping[str, Any], context: Mapping[str, Any]
) -> str | None:
    home = TEMPLATE_HOMES.get(name, "properties")
    sections = {"user": user, "properties": properties, "context": context}
    for section in (home, *_SECTIONS):
        value = _id_text(sections[section].get(name))
        if value is not None:
            return value
    return _id_text(user.get("telegram_id")) if name == "user_id" else None


def _id_text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _urls(context: Mapping[str, Any], event: MetaEvent) -> None:
    page_url, referrer = context.get("page_url"), context.get("referrer")
    if isinstance(page_url, str) and page_url:
        event["event_source_url"] = page_url
    if isinstance(referrer, str) and referrer:
        event["referrer_url"] = referrer


def _app_data(event: MetaEvent, rule: PlanEvent, it: _Item) -> None:
    user_agent = event["user_data"].get("client_user_agent")
    app_data, problem = build_app_data(it.context, user_agent)
    if app_data is not None:
        event["app_data"] = app_data
        return
    fallback = rule.fallback_action_source
    if fallback is None:
        message = f"action_source=app needs app_data, and the plan has no fallback: {problem}"
        it.findings.append(error("$.context.app", "app_data_missing", message, "§5"))
        return
    event["action_source"] = fallback
    message = (
        f"sent as action_source={fallback}, because Meta rejects app events without app_data "
        f"and {problem}"
    )
    it.findings.append(
        warning("$.context.app", "app_data_fallback", message, "DESIGN Seed conflicts")
    )
