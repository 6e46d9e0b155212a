"""The tracking plan as values: what each product step sends to Meta, and who may send it.

A :class:`Plan` maps plan keys (``start_bot``, ``subscribe``) to :class:`PlanEvent` rules.
Property values come from the ingest item's ``properties`` (then ``context``); the ids that
event_id templates use come from where they belong (:data:`TEMPLATE_HOMES`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from capigate.lifecycle.config import LifecycleConfig
from capigate.models import ActionSource
from capigate.webhooks.config import ProviderConfig

ACTION_SOURCES = frozenset(source.value for source in ActionSource)

# Who sends events. A plan's ``sources`` lists kinds or configured source names; a source
# matches by its name or its kind (``sources.Source.channel``).
SOURCE_KINDS = frozenset(
    {"website", "bot", "mini_app", "mobile_app", "server", "webhook", "lifecycle"}
)
LIFECYCLE_KIND = "lifecycle"  # the lifecycle engine; may send every ``derived`` event
APP_CONTEXT_KINDS = frozenset({"mini_app", "mobile_app"})  # can describe the device (app_data)

# Where an event_id template variable lives in the ingest item; ``ts`` is the event time.
TEMPLATE_HOMES: Mapping[str, str] = MappingProxyType(
    {
        "session_id": "context",
        "telegram_id": "user",
        "user_id": "user",
        "external_id": "user",
        "transaction_id": "properties",
    }
)
TIME_VARIABLE = "ts"

UndeclaredPolicy = Literal["keep", "warn", "drop"]
UNDECLARED_POLICIES = ("keep", "warn", "drop")


_LAST_STEP = re.compile(r"(\.[^.\[]+|\[[^\]]*\])$")  # ".name" or "[3]" / "['a b']"


def nearest(path: str, known: Mapping[str, object]) -> str:
    """``path`` or its nearest ancestor that is in ``known`` (``$`` at the latest)."""
    while path not in known and path not in ("$", ""):
        path = _LAST_STEP.sub("", path) or "$"
    return path


def template_fields(template: str) -> tuple[str, ...]:
    """The variable names of an event_id template; ``ValueError`` on a malformed one."""
    names: list[str] = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}}} is not a plain variable like {{session_id}}")
        names.append(name)
    return tuple(names)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The authenticated sender of an event, as the mapping needs to know it.

    ``kind`` is the source's channel (:data:`SOURCE_KINDS`); ``action_sources`` are the
    action sources it may claim (a browser key: only ``website``).
    """

    name: str
    kind: str
    action_sources: frozenset[str] = ACTION_SOURCES


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """One plan key: the Meta event it becomes and the rules its ingest items follow."""

    key: str
    event_name: str
    action_source: str
    event_id: str  # template, e.g. ``sub_{transaction_id}``
    sources: frozenset[str]
    fallback_action_source: str | None = "chat"  # for app events without app_data
    # source kind or name -> action source, e.g. {website: website} on a mostly-app event
    action_source_by_source: Mapping[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    custom_fields: tuple[str, ...] = ()  # properties copied into custom_data
    custom_constants: Mapping[str, Any] = field(default_factory=dict)  # fixed, e.g. status
    user_data: tuple[str, ...] = ()  # Meta user_data keys this event is expected to carry
    value_required: bool = False  # house rule: revenue events carry value and currency
    value_property: str = "value"
    derived: bool = False  # the lifecycle engine emits it; sources may send it too
    description: str = ""
    id_fields: tuple[str, ...] = field(init=False, repr=False, compare=False)
    declared: frozenset[str] = field(init=False, repr=False, compare=False)
    custom_field_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_fields", template_fields(self.event_id))
        names = {*self.required, *self.optional, *self.custom_fields}
        object.__setattr__(self, "declared", frozenset(names))
        object.__setattr__(self, "custom_field_set", frozenset(self.custom_fields))

    def allows(self, source: SourceInfo) -> bool:
        """Whether ``source`` may send this event."""
        if self.derived and source.kind == LIFECYCLE_KIND:
            return True
        return source.name in self.sources or source.kind in self.sources

    def action_source_for(self, source: SourceInfo) -> str:
        """The plan's action source for an event from ``source``."""
        by_source = self.action_source_by_source
        return by_source.get(source.name) or by_source.get(source.kind) or self.action_source


@dataclass(frozen=True, slots=True)
class PlanDefaults:
    """Plan-wide settings: phone region, currency, pixel, fallbacks and strictness."""

    currency: str | None = None  # fills a missing ``currency`` on events that declare it
    default_region: str | None = None  # ISO country for national phone numbers ("UZ")
    pixel: str | None = None
    fallback_action_source: str | None = "chat"
    undeclared_properties: UndeclaredPolicy = "keep"


@dataclass(frozen=True, slots=True)
class Plan:
    """A loaded tracking plan; ``lines`` maps JSONPaths in the plan file to line numbers."""

    events: Mapping[str, PlanEvent]
    defaults: PlanDefaults = PlanDefaults()
    allow_meta_names: bool = False
    name: str = "<plan>"
    lines: Mapping[str, int] = field(default_factory=dict)
    lifecycle: LifecycleConfig | None = None  # derived events from activity (lifecycle:)
    webhooks: Mapping[str, ProviderConfig] = field(default_factory=dict)  # (webhooks:)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.events)

    def where(self, path: str) -> str:
        """``file:line`` of ``path`` (or its nearest ancestor) in the plan file."""
        line = self.lines.get(nearest(path, self.lines))
        return self.name if line is None else f"{self.name}:{line}"
