"""Ingest: items -> identity check -> enrichment -> attribution -> plan -> pipeline -> outbox.

Items that name an activity of the plan's ``lifecycle:`` section (``bot_message``, ...) are not
sent to Meta: the lifecycle engine keeps them as user state and stores the events it derives,
which it prepares through ``prepare_derived`` like any sent event (source ``lifecycle``).

Batch semantics: a request is all or nothing. If any event has an error, the request is
refused (422, every finding listed with its JSONPath into the request body) and nothing is
stored; a caller fixes the listed fields and resends the whole batch, and dedup makes the
resend safe. Raw PII stays inside this module: only hashed payloads reach the store, and
stored warnings keep path and rule, never a message that could quote a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeGuard

from capigate import enrich, pipeline, telegram
from capigate.errors import AuthError, ConfigError, ValidationError
from capigate.findings import Finding
from capigate.ingest_paths import request_path
from capigate.lifecycle_engine import LifecycleEngine, Observed
from capigate.plan.mapping import Mapped, to_meta_event
from capigate.plan.model import ACTION_SOURCES, Plan, SourceInfo
from capigate.settings import Settings
from capigate.sources import BROWSER_ACTION_SOURCE, DEV_SOURCE, Source, SourceKind
from capigate.stitching import Stitcher
from capigate.store import EnqueueResult, NewEvent, Store
from capigate.worker.routing import pixels_for

IDENTITY_CLAIMS = ("telegram_id", "user_id")  # a browser key may claim these only with initData
FORBIDDEN_RULES = frozenset({"source_not_allowed", "action_source_not_allowed"})
UNKNOWN_EVENT_RULE = "unknown_event"
ACTIVITY_STATUS = "recorded"  # an activity item: kept as user state, not sent itself
LIFECYCLE_CHANNEL = "lifecycle"  # the plan's source kind of derived events


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the request and what the request itself says about the user."""

    source: Source
    facts: enrich.RequestFacts | None = None
    init_data: str | None = None  # header X-Telegram-Init-Data


@dataclass(slots=True)  # never changed; frozen would cost a setattr call per field, per event
class EventResult:
    """The outcome for one event of an accepted request."""

    index: int
    status: str
    event_id: str
    event_name: str
    warnings: tuple[Finding, ...]
    derived: tuple[tuple[str, str, str], ...] = ()  # activity: (event_name, event_id, status)


class Rejected(ValidationError):
    """422: the request's events have errors; ``valid_keys`` is set when a key was unknown."""

    def __init__(self, findings: Sequence[Finding], valid_keys: Sequence[str] | None) -> None:
        super().__init__("invalid events", findings)
        self.valid_keys = valid_keys


class NotAllowed(AuthError):
    """403: the source may not send these events; ``findings`` says which and why."""

    def __init__(self, message: str, findings: Sequence[Finding]) -> None:
        super().__init__(message, status=403)
        self.findings = list(findings)


@dataclass(slots=True)  # never changed; frozen would cost a setattr call per field
class _Ready:
    event: NewEvent
    warnings: tuple[Finding, ...]
    copies: tuple[NewEvent, ...] = ()  # the same event for more pixels (routes:)


class Ingestor:
    """Turns ingest items into stored outbox events (the only writer of ingest data)."""

    def __init__(self, *, plan: Plan, store: Store, settings: Settings) -> None:
        self._plan = plan
        self._store = store
        self._settings = settings
        self._pixels = {p.id: p for p in settings.pixels}
        self._default_pixel = _default_pixel(plan, settings)
        token = settings.telegram_bot_token
        self._telegram_key = telegram.secret_key(token) if token else None
        self._options = pipeline.PipelineOptions(default_region=plan.defaults.default_region)
        self._stitcher = Stitcher(store, plan, settings.attribution)
        config = plan.lifecycle
        self.lifecycle = (
            LifecycleEngine(store, config, prepare=self.prepare_derived) if config else None
        )

    @property
    def plan(self) -> Plan:
        return self._plan

    async def ingest(
        self, items: Sequence[object], *, prefix: str, caller: Caller, now_s: float
    ) -> list[EventResult]:
        """Store every item or none; ``prefix`` is the items' JSONPath (``$`` or ``$.batch``).

        Raises ``Rejected`` (422), ``NotAllowed`` or ``AuthError`` (401/403); the store's
        ``StoreError`` passes through.
        """
        paths = [prefix] if prefix == "$" else [f"{prefix}[{i}]" for i in range(len(items))]
        ready: list[tuple[int, _Ready]] = []
        observed: list[tuple[int, Observed]] = []
        findings: list[Finding] = []
        checked = [self._checked(item, caller, now_s) for item in items]
        checked = await self._stitcher.stitch(checked, now_s=now_s)
        info = (
            None if caller.source is DEV_SOURCE else _source_info(caller.source, None, self._plan)
        )
        for index, (item, path) in enumerate(zip(checked, paths, strict=True)):
            outcome = self._prepare(item, path, caller, now_s, info)
            if isinstance(outcome, _Ready):
                ready.append((index, outcome))
            elif isinstance(outcome, Observed):
                observed.append((index, outcome))
            else:
                findings.extend(outcome)
        if findings:
            raise _refusal(findings, self._plan)
        results = await self._store_ready(ready, now_s)
        if self.lifecycle is not None:
            await self._note_sent(self.lifecycle, checked, ready, now_s)
        if not observed:
            return results  # in item order already
        results.extend(await self._record(observed, paths, now_s))
        return sorted(results, key=lambda result: result.index)

    async def _store_ready(
        self, ready: list[tuple[int, _Ready]], now_s: float
    ) -> list[EventResult]:
        """Store the events (with their copies for more pixels); one result per item."""
        events = [e for _, r in ready for e in (r.event, *r.copies)]  # copies follow theirs
        stored = await self._store.enqueue(events, now_s=now_s)
        if len(events) > len(ready):  # some went to several pixels
            stored = _first_of_each(stored, [1 + len(r.copies) for _, r in ready])
        return [
            EventResult(i, res.status, r.event.event_id, r.event.event_name, r.warnings)
            for (i, r), res in zip(ready, stored, strict=True)
        ]

    async def _note_sent(
        self,
        lifecycle: LifecycleEngine,
        checked: list[object],
        ready: list[tuple[int, _Ready]],
        now_s: float,
    ) -> None:
        """Backfills of once-only derived events. Only items of a noted plan key can change a
        user's state, and most name none: the others are not handed over at all."""
        noted = lifecycle.config.noted_keys
        sent = [(checked[i], r.event.plan_key) for i, r in ready if r.event.plan_key in noted]
        if sent:
            await lifecycle.note_sent(sent, now_s=now_s)

    async def _record(
        self, observed: list[tuple[int, Observed]], paths: list[str], now_s: float
    ) -> list[EventResult]:
        assert self.lifecycle is not None  # only the engine's activities are observed
        stored = await self.lifecycle.record([o for _, o in observed], now_s=now_s)
        return [
            EventResult(
                i,
                ACTIVITY_STATUS,
                "",
                o.activity.name,
                tuple(w.under(paths[i]) for w in o.warnings),
                tuple((d.event_name, d.event_id, d.status) for d in derived),
            )
            for (i, o), derived in zip(observed, stored, strict=True)
        ]

    async def prepare_derived(
        self, item: dict[str, Any], pixel_id: str | None, now_s: float
    ) -> tuple[NewEvent, ...] | list[Finding]:
        """A derived event's item, stitched like a sent one, as stored events (source
        ``lifecycle``; one per routed pixel, its own first), or its findings."""
        known = pixel_id if pixel_id in self._pixels else None
        kind = SourceKind.SERVER
        source = Source(LIFECYCLE_CHANNEL, kind, channel=LIFECYCLE_CHANNEL, pixel_id=known)
        caller = Caller(source)
        (checked,) = await self._stitcher.carry([self._checked(item, caller, now_s)], now_s=now_s)
        outcome = self._prepare(checked, "$", caller, now_s)
        if isinstance(outcome, list):
            return outcome
        assert isinstance(outcome, _Ready)  # derived items name plan keys, never activities
        return (outcome.event, *outcome.copies)

    def _checked(self, item: object, caller: Caller, now_s: float) -> object:
        """The item with its identity claims checked and the request's facts filled in (a
        dict: a changed copy, or the item itself when nothing changed)."""
        if type(item) is not dict:
            if not isinstance(item, Mapping):
                return item
            item = dict(item)
        checked = self._checked_identity(item, caller, now_s)
        return enrich.enrich_item(checked, caller.facts, now_s=now_s)

    def _prepare(
        self, item: object, path: str, caller: Caller, now_s: float, info: SourceInfo | None = None
    ) -> _Ready | Observed | list[Finding]:
        """A checked item (``_checked``, then stitched) as a stored event, or its findings;
        ``info`` is the mapping's view of the caller when it is the same for every item."""
        lifecycle = self.lifecycle
        if lifecycle is not None and lifecycle.is_activity(item) and _is_mapping(item):
            observed = lifecycle.read(item, source=caller.source, now_s=now_s)
            return [f.under(path) for f in observed] if isinstance(observed, list) else observed
        source = info if info is not None else _source_info(caller.source, item, self._plan)
        mapped = to_meta_event(item, self._plan, source=source, now_s=now_s)
        mapped_findings = [f.under(path) for f in mapped.findings] if mapped.findings else []
        if mapped_findings and not mapped.ok:
            return mapped_findings
        prepared = pipeline.prepare(mapped.event, now_s=now_s, options=self._options)
        if not mapped_findings and not prepared.findings:  # the usual clean event
            return self._ready(mapped, prepared, caller.source, ())
        pipeline_findings = (
            [f.under(path) for f in _item_paths(prepared.findings)] if prepared.findings else []
        )
        if not prepared.ok:
            return [*mapped_findings, *pipeline_findings]
        found = (*mapped_findings, *pipeline_findings)
        warnings = tuple(f for f in found if not f.is_error) if found else ()
        return self._ready(mapped, prepared, caller.source, warnings)

    def _ready(
        self,
        mapped: Mapped,
        prepared: pipeline.Prepared,
        source: Source,
        warnings: tuple[Finding, ...],
    ) -> _Ready:
        """The stored events of a prepared event: one per pixel its routes name."""
        default = source.pixel_id or self._default_pixel
        routes = self._settings.routes
        if not routes:
            return _Ready(self._new_event(mapped, prepared, source, warnings, default), warnings)
        pixels = pixels_for(
            routes,
            source=source.name,
            plan_key=mapped.plan_key,
            event_name=prepared.payload["event_name"],
            default=default,
        )
        first, *copies = [self._new_event(mapped, prepared, source, warnings, p) for p in pixels]
        return _Ready(first, warnings, tuple(copies))

    def _checked_identity(
        self, item: dict[str, Any], caller: Caller, now_s: float
    ) -> dict[str, Any]:
        """Drop initData from the item; believe identity claims only when it verifies. The
        item itself is never changed: a changed one is a copy."""
        context = item.get("context")
        raw = caller.init_data
        if context is not None and _is_mapping(context) and "init_data" in context:
            raw = raw or _text(context.get("init_data"))
            item = {**item, "context": {k: v for k, v in context.items() if k != "init_data"}}
        browser = caller.source.is_browser
        if raw is None or (self._telegram_key is None and not browser):
            if browser and _claims_identity(item.get("user")):
                raise AuthError(
                    f"source {caller.source.name!r} has a browser key: user.telegram_id and "
                    "user.user_id need Telegram initData (context.init_data or "
                    "X-Telegram-Init-Data)",
                    status=403,
                )
            return item
        return _with_verified_user(dict(item), self._verify(raw, now_s))

    def _verify(self, raw: str, now_s: float) -> telegram.InitData:
        if self._telegram_key is None:
            raise AuthError(
                "Telegram initData cannot be checked: CAPIGATE_TELEGRAM_BOT_TOKEN is not set",
                status=403,
            )
        max_age_s = self._settings.init_data_max_age_s
        return telegram.verify(raw, self._telegram_key, now_s=now_s, max_age_s=max_age_s)

    def _new_event(
        self,
        mapped: Mapped,
        prepared: pipeline.Prepared,
        source: Source,
        warnings: tuple[Finding, ...],
        pixel_id: str,
    ) -> NewEvent:
        payload = prepared.payload
        pixel = self._pixels[pixel_id]
        test_event_code = (
            mapped.test_event_code
            or source.test_event_code
            or pixel.test_event_code
            or self._settings.test_event_code
        )
        return NewEvent(  # by position: keywords cost a tenth of the call, once per event
            pixel.id,
            payload["event_name"],
            payload["event_id"],
            payload["event_time"],
            payload["action_source"],
            source.name,
            mapped.plan_key,
            test_event_code,
            payload,
            prepared.quality.score,
            [_stored_warning(f) for f in warnings] if warnings else [],
        )


def _first_of_each(results: Sequence[EnqueueResult], sizes: Sequence[int]) -> list[EnqueueResult]:
    """One result per item whose event went to ``size`` pixels: queued if any copy was."""
    firsts, start = [], 0
    for size in sizes:
        group = results[start : start + size]
        firsts.append(next((r for r in group if r.status == "queued"), group[0]))
        start += size
    return firsts


def _default_pixel(plan: Plan, settings: Settings) -> str:
    wanted = plan.defaults.pixel
    if wanted is None:
        return settings.default_pixel.id
    if all(p.id != wanted for p in settings.pixels):
        raise ConfigError(f"plan defaults.pixel: {wanted} is not one of the configured pixels")
    return wanted


def _source_info(source: Source, item: object, plan: Plan) -> SourceInfo:
    """The mapping's view of the source; the dev source acts as whichever kind the plan wants."""
    if source is DEV_SOURCE:
        key = item.get("event") if isinstance(item, Mapping) else None
        rule = plan.events.get(key) if isinstance(key, str) else None
        kind = sorted(rule.sources)[0] if rule is not None and rule.sources else "server"
        return SourceInfo(source.name, kind, ACTION_SOURCES)
    return _configured_source_info(source.name, source.channel, source.is_browser)


@cache  # one per configured source: built once, not for every event
def _configured_source_info(name: str, channel: str, browser: bool) -> SourceInfo:
    action_sources = frozenset({BROWSER_ACTION_SOURCE}) if browser else ACTION_SOURCES
    return SourceInfo(name, channel, action_sources)


def _with_verified_user(item: dict[str, Any], init: telegram.InitData) -> dict[str, Any]:
    if init.user_id is None:
        raise AuthError("Telegram initData: it names no user", status=403)
    user = dict(item.get("user") or {}) if isinstance(item.get("user"), Mapping) else {}
    claimed = user.get("telegram_id")
    if claimed not in (None, "") and str(claimed) != init.user_id:
        raise AuthError("user.telegram_id differs from the user in Telegram initData", status=403)
    user["telegram_id"] = init.user_id
    item["user"] = user
    context = item.get("context")
    if init.start_param and isinstance(context, Mapping) and not context.get("start_param"):
        item["context"] = {**context, "start_param": init.start_param}
    return item


def _item_paths(findings: Sequence[Finding]) -> list[Finding]:
    """Pipeline findings point into the Meta event; move them to the ingest item's fields."""
    return [Finding(f.severity, request_path(f.path), f.rule, f.message, f.spec) for f in findings]


def _refusal(findings: list[Finding], plan: Plan) -> AuthError | Rejected:
    forbidden = [f for f in findings if f.rule in FORBIDDEN_RULES]
    if forbidden:
        return NotAllowed(forbidden[0].message, forbidden)
    unknown = any(f.rule == UNKNOWN_EVENT_RULE for f in findings)
    return Rejected(findings, list(plan.keys) if unknown else None)


def _stored_warning(finding: Finding) -> dict[str, Any]:
    """What the store keeps of a warning: no message, since a message might quote a value."""
    return {"path": finding.path, "rule": finding.rule, "spec": finding.spec}


def _claims_identity(user: object) -> bool:
    """Whether the item's ``user`` names a Telegram id or user id."""
    return isinstance(user, Mapping) and any(user.get(c) not in (None, "") for c in IDENTITY_CLAIMS)


def _is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    """``isinstance(value, Mapping)``, without the ABC check for the usual plain dict."""
    return type(value) is dict or isinstance(value, Mapping)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
