"""Read a tracking plan from YAML; every problem names the file, the line and the field.

``load_plan`` parses a string (pure); ``load_file`` and ``default_plan`` are the only
functions in the plan package that read anything. The loader checks structure and types;
what Meta would say about the plan is :func:`capigate.plan.check.check_plan`'s job.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from capigate.errors import PlanError
from capigate.findings import Finding, error
from capigate.lifecycle.section import check_against_plan, read_section
from capigate.plan.model import (
    UNDECLARED_POLICIES,
    Plan,
    PlanDefaults,
    PlanEvent,
    UndeclaredPolicy,
    nearest,
    template_fields,
)
from capigate.plan.yamldoc import SPEC, child, parse
from capigate.webhooks import section as webhook_section

PLAN_VERSION = 1
_KEY = re.compile(r"[a-z][a-z0-9_]*")
_TOP_FIELDS = ("version", "defaults", "allow_meta_names", "events", "lifecycle", "webhooks")
_DEFAULT_FIELDS = (
    "currency",
    "default_region",
    "pixel",
    "fallback_action_source",
    "undeclared_properties",
)
_EVENT_FIELDS = (
    "event_name",
    "action_source",
    "fallback_action_source",
    "action_source_by_source",
    "sources",
    "required",
    "optional",
    "custom_data",
    "user_data",
    "event_id",
    "value_required",
    "value_property",
    "derived",
    "description",
)
_SCALARS = (str, int, float, bool)


def load_plan(text: str, *, name: str = "<plan>") -> Plan:
    """Parse and check the structure of a plan; ``PlanError`` lists every problem."""
    doc = parse(text, name)
    reader = _Reader(name, doc.lines)
    for dup in doc.duplicates:
        reader.fail(dup.path, "duplicate_key", f"{dup.key!r} appears twice", line=dup.line)
    plan = reader.plan(doc.data)
    if reader.findings:
        raise PlanError(_summary(name, reader.findings), reader.findings)
    return plan


def load_file(path: str | Path) -> Plan:
    """Load the plan in ``path``; a missing or unreadable file is a ``PlanError`` too."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"{path}: cannot read the plan: {exc}"
        raise PlanError(problem, [error("$", "plan_unreadable", problem, SPEC)]) from exc
    return load_plan(text, name=str(path))


@lru_cache(maxsize=1)
def default_plan() -> Plan:
    """The built-in plan: seed 000, row by row (``capigate/plan/default.yaml``)."""
    text = resources.files("capigate.plan").joinpath("default.yaml").read_text(encoding="utf-8")
    return load_plan(text, name="default.yaml")


def _summary(name: str, findings: list[Finding]) -> str:
    lines = "\n".join(f"  {f.message} [{f.rule}]" for f in findings)
    return f"{name}: the tracking plan has {len(findings)} problem(s):\n{lines}"


class _Reader:
    """Walks the plan data, collecting findings that carry ``file:line``."""

    def __init__(self, name: str, lines: dict[str, int]) -> None:
        self.name = name
        self.lines = lines
        self.findings: list[Finding] = []

    def fail(self, path: str, rule: str, problem: str, *, line: int | None = None) -> None:
        line = line or self.lines.get(nearest(path, self.lines), 1)
        field = path.removeprefix("$.").removeprefix("$")
        where = f"{field}: " if field else ""
        self.findings.append(error(path, rule, f"{self.name}:{line}: {where}{problem}", SPEC))

    # --- the plan -------------------------------------------------------------------------

    def plan(self, data: Any) -> Plan:
        root = self.mapping(data, "$")
        if root is None:
            return Plan(events={}, name=self.name)
        self.known(root, _TOP_FIELDS, "$")
        version = root.get("version", PLAN_VERSION)
        if version != PLAN_VERSION:
            self.fail("$.version", "plan_version", f"must be {PLAN_VERSION}, not {version!r}")
        defaults = self.defaults(root.get("defaults", {}), "$.defaults")
        events = self.events(root.get("events"), "$.events", defaults)
        allow = self.flag(root, "allow_meta_names", "$")
        lifecycle = read_section(
            root.get("lifecycle"), "$.lifecycle", self.fail, default_region=defaults.default_region
        )
        if lifecycle is not None:
            derived = {key: event.derived for key, event in events.items()}
            check_against_plan(lifecycle, derived, "$.lifecycle", self.fail)
        webhooks = webhook_section.read_section(root.get("webhooks"), "$.webhooks", self.fail)
        sources = {key: event.sources for key, event in events.items()}
        webhook_section.check_against_plan(webhooks, sources, "$.webhooks", self.fail)
        return Plan(events, defaults, allow, self.name, self.lines, lifecycle, webhooks)

    def defaults(self, data: Any, path: str) -> PlanDefaults:
        raw = self.mapping(data, path)
        if raw is None:
            return PlanDefaults()
        self.known(raw, _DEFAULT_FIELDS, path)
        policy = raw.get("undeclared_properties", "keep")
        if policy not in UNDECLARED_POLICIES:
            choices = ", ".join(UNDECLARED_POLICIES)
            self.fail(child(path, "undeclared_properties"), "field_value", f"must be {choices}")
            policy = "keep"
        return PlanDefaults(
            currency=self.text(raw, "currency", path),
            default_region=self.text(raw, "default_region", path),
            pixel=self.text(raw, "pixel", path, numbers=True),
            fallback_action_source=self.text(raw, "fallback_action_source", path)
            if "fallback_action_source" in raw
            else "chat",
            undeclared_properties=cast(UndeclaredPolicy, policy),
        )

    def events(self, data: Any, path: str, defaults: PlanDefaults) -> dict[str, PlanEvent]:
        if data is None:
            self.fail(path, "field_required", "is required: a mapping of plan keys to events")
            return {}
        raw = self.mapping(data, path)
        if raw is None:
            return {}
        if not raw:
            self.fail(path, "field_value", "must define at least one event")
        events: dict[str, PlanEvent] = {}
        for key, value in raw.items():
            sub = child(path, key)
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                self.fail(sub, "plan_key_format", f"key {key!r} must match [a-z][a-z0-9_]*")
                continue
            event = self.event(key, value, sub, defaults)
            if event is not None:
                events[key] = event
        return events

    def event(self, key: str, data: Any, path: str, defaults: PlanDefaults) -> PlanEvent | None:
        raw = self.mapping(data, path)
        if raw is None:
            return None
        before = len(self.findings)
        self.known(raw, _EVENT_FIELDS, path)
        name = self.text(raw, "event_name", path, required=True)
        action_source = self.text(raw, "action_source", path, required=True)
        template = self.template(raw, path)
        sources = self.names(raw.get("sources"), child(path, "sources"), required=True)
        required = self.names(raw.get("required"), child(path, "required"))
        optional = self.names(raw.get("optional"), child(path, "optional"))
        self.disjoint(required, optional, path)
        fields, constants = self.custom_data(raw.get("custom_data"), child(path, "custom_data"))
        fallback = defaults.fallback_action_source
        if "fallback_action_source" in raw:
            fallback = self.text(raw, "fallback_action_source", path)
        by_source = self.text_map(raw, "action_source_by_source", path)
        user_data = self.names(raw.get("user_data"), child(path, "user_data"))
        value_required = self.flag(raw, "value_required", path)
        value_property = self.text(raw, "value_property", path) or "value"
        derived = self.flag(raw, "derived", path)
        description = self.text(raw, "description", path) or ""
        if len(self.findings) > before or not (name and action_source and template):
            return None
        return PlanEvent(
            key=key,
            event_name=name,
            action_source=action_source,
            event_id=template,
            sources=frozenset(sources),
            fallback_action_source=fallback,
            action_source_by_source=by_source,
            required=required,
            optional=optional,
            custom_fields=fields,
            custom_constants=constants,
            user_data=user_data,
            value_required=value_required,
            value_property=value_property,
            derived=derived,
            description=description,
        )

    def template(self, raw: Mapping[str, Any], path: str) -> str | None:
        template = self.text(raw, "event_id", path, required=True)
        if template is None:
            return None
        try:
            template_fields(template)
        except ValueError as exc:
            self.fail(child(path, "event_id"), "event_id_template", f"bad template: {exc}")
            return None
        return template

    def custom_data(self, data: Any, path: str) -> tuple[tuple[str, ...], dict[str, Any]]:
        if data is None:
            return (), {}
        if isinstance(data, list):
            return self.names(data, path), {}
        raw = self.mapping(data, path, "a list of property names or {fields, constants}")
        if raw is None:
            return (), {}
        self.known(raw, ("fields", "constants"), path)
        fields = self.names(raw.get("fields"), child(path, "fields"))
        constants = self.mapping(raw.get("constants", {}), child(path, "constants")) or {}
        for name, value in constants.items():
            sub = child(child(path, "constants"), name)
            if not isinstance(name, str) or not isinstance(value, _SCALARS):
                self.fail(sub, "field_type", "a constant must be a string, number or boolean")
            elif name in fields:
                self.fail(sub, "custom_data_conflict", f"{name!r} is both a field and a constant")
        return fields, dict(constants)

    def disjoint(self, required: tuple[str, ...], optional: tuple[str, ...], path: str) -> None:
        for name in sorted(set(required) & set(optional)):
            problem = f"{name!r} is listed in both required and optional"
            self.fail(child(path, "optional"), "property_declared_twice", problem)

    # --- typed getters --------------------------------------------------------------------

    def mapping(
        self, data: Any, path: str, what: str = "a mapping (key: value)"
    ) -> dict[Any, Any] | None:
        if isinstance(data, dict):
            return data
        self.fail(path, "field_type", f"must be {what}, not {_kind(data)}")
        return None

    def known(self, raw: Mapping[Any, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in raw:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(allowed)}"
                )
                self.fail(child(path, key), "unknown_field", f"unknown field{hint}")

    def text(
        self,
        raw: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        numbers: bool = False,
    ) -> str | None:
        sub = child(path, key)
        if key not in raw:
            if required:
                self.fail(sub, "field_required", "is required")
            return None
        value = raw[key]
        if value is None and not required:
            return None
        if numbers and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            self.fail(sub, "field_type", f"must be a non-empty string, not {_kind(value)}")
            return None
        return value

    def names(self, value: Any, path: str, *, required: bool = False) -> tuple[str, ...]:
        if value is None:
            if required:
                self.fail(path, "field_required", "is required: a list of names")
            return ()
        if not isinstance(value, list) or (required and not value):
            self.fail(path, "field_type", f"must be a non-empty list of names, not {_kind(value)}")
            return ()
        good = [item for item in value if isinstance(item, str) and item.strip()]
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.fail(child(path, i), "field_type", f"must be a name, not {_kind(item)}")
        if len(set(good)) < len(good):
            self.fail(path, "duplicate_name", "lists a name twice")
        return tuple(dict.fromkeys(good))

    def text_map(self, raw: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
        sub = child(path, key)
        value = self.mapping(raw.get(key, {}), sub) or {}
        for name, item in value.items():
            if not isinstance(name, str) or not isinstance(item, str):
                self.fail(child(sub, name), "field_type", "must map a source to an action source")
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

    def flag(self, raw: Mapping[str, Any], key: str, path: str) -> bool:
        value = raw.get(key, False)
        if not isinstance(value, bool):
            self.fail(child(path, key), "field_type", f"must be true or false, not {_kind(value)}")
            return False
        return value


_KINDS: Mapping[type, str] = {
    dict: "a mapping",
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "empty",
}


def _kind(value: object) -> str:
    kind = _KINDS.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if kind in ("a string", "a number", "a boolean") else str(kind)
