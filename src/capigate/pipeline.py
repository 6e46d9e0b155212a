"""From an event in Meta's shape with raw ``user_data`` to the payload Meta receives. Pure.

``prepare`` runs, for one event:

1. normalize and hash ``user_data`` (``capigate.normalize``; bad values are dropped with a
   warning, the rest of the event still goes);
2. parse the event and write its canonical wire form (``capigate.models``: types, ids as
   strings, no empty keys, stable key order);
3. check it against Meta's rules (``capigate.validate``; may correct it, e.g. a milliseconds
   ``event_time`` becomes seconds);
4. estimate its match quality (``capigate.quality``).

The user_data of step 1 is trusted in steps 2 and 3: its values are not type-checked again, nor
its hashes re-matched. An event that breaks no rule, the common case, takes one walk instead of
steps 2 and 3: ``capigate.validate.clean`` writes its wire form and recognises that neither step
would find anything; any other event takes the two steps, which say what is wrong. Both ways
give the same result (``tests/unit/test_pipeline_fused.py`` compares them). With the C
accelerators built, that common event is prepared in one C call (``capigate._cwire.prepare``:
normalize, walk, estimate), and only the others run the Python code here
(``tests/unit/test_native_prepare.py`` compares the two).

Nothing here reads a clock: ``now_s`` comes from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from capigate.findings import Finding, error
from capigate.models import parse_wire
from capigate.normalize import memo, normalize_user_data, userdata
from capigate.normalize.dates import MONTH_FIRST_REGIONS
from capigate.normalize.phone import check_region
from capigate.quality import MatchQuality, estimate, plain_init_fields
from capigate.quality import native_tables as quality_tables
from capigate.validate import ValidationOptions, validate_event
from capigate.validate.clean import clean_wire, native_tables
from capigate.validate.event import check_event
from capigate.validate.request import MAX_EVENTS_PER_REQUEST, find_duplicates

DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """``default_region`` completes national phone numbers (``UZ``: ``90 123 45 67`` ->
    ``998901234567``); ``validation`` tunes the rules left open by Meta's documentation."""

    default_region: str | None = None
    validation: ValidationOptions = field(default_factory=ValidationOptions)

    def __post_init__(self) -> None:
        check_region(self.default_region)  # ConfigError now rather than on every event


DEFAULT_OPTIONS = PipelineOptions()


@dataclass(frozen=True, slots=True)
class Prepared:
    """One event after the pipeline: the wire ``payload`` (hashed; empty when the event could
    not be parsed), every finding on the way, and the match-quality estimate."""

    payload: dict[str, Any]
    findings: tuple[Finding, ...]
    quality: MatchQuality

    @property
    def ok(self) -> bool:
        """True when no finding is an error: the payload can be sent as it is."""
        return not self.findings or not any(f.is_error for f in self.findings)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A request's worth of events: request-level ``findings`` and one ``Prepared`` each."""

    items: tuple[Prepared, ...]
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when the request and every event in it can be sent as they are."""
        return not any(f.is_error for f in self.findings) and all(p.ok for p in self.items)

    @property
    def payloads(self) -> list[dict[str, Any]]:
        """The payloads of the events without errors, in order (the ``data`` to send)."""
        return [p.payload for p in self.items if p.ok]

    def all_findings(self) -> tuple[Finding, ...]:
        """Request findings, then each event's findings with paths under ``$.data[i]``."""
        nested = (f.under(f"$.data[{i}]") for i, p in enumerate(self.items) for f in p.findings)
        return (*self.findings, *nested)


def prepare(event: Any, *, now_s: float, options: PipelineOptions = DEFAULT_OPTIONS) -> Prepared:
    """Normalize, hash, build and validate one event (see the module docstring).

    ``event`` is a JSON object in Meta's shape whose ``user_data`` holds raw values under
    Meta's key names (``em``, ``ph``, ...); anything else is reported, never raised.
    """
    if _prepare_native is not None:  # the common clean event, all in C (or None)
        prepared = _prepare_native(event, now_s, options)
        if prepared is not None:
            return prepared
    return _prepare(event, now_s, options)


def _prepare(event: Any, now_s: float, options: PipelineOptions) -> Prepared:
    """``prepare`` in Python: the reference, and the way of every event C leaves to it."""
    if type(event) is not dict and not isinstance(event, Mapping):
        message = "an event must be a JSON object"
        return Prepared({}, (error("$", "event_not_object", message, "§2"),), estimate({}))
    findings: list[Finding] = []
    raw_user_data = event.get("user_data")
    normalized = False
    if type(raw_user_data) is dict or isinstance(raw_user_data, Mapping):
        normalized = True
        user_data, user_findings = normalize_user_data(
            raw_user_data,
            default_region=options.default_region,
            max_birth_year=_current_year(int(now_s // DAY_S)),
        )
        if type(event) is dict:
            clean = _prepare_clean(event, user_data, now_s, options.validation, user_findings)
            if clean is not None:
                return clean
        findings.extend(user_findings)
        event = {**event, "user_data": user_data}
    wire, parse_findings = parse_wire(event, normalized_user_data=normalized)
    findings.extend(parse_findings)
    if wire is None:
        return _unparsed(event, findings, now_s, options)
    check_event(wire, now_s, options.validation, findings, normalized_user_data=normalized)
    return Prepared(wire, tuple(findings), estimate(wire["user_data"]))


@lru_cache(maxsize=4)
def _current_year(day: int) -> int:
    """The UTC year of a day number: no one is born after today (``db`` range check)."""
    return datetime.fromtimestamp(day * DAY_S, tz=UTC).year


def _unparsed(
    event: Mapping[str, Any], findings: list[Finding], now_s: float, options: PipelineOptions
) -> Prepared:
    """A wrongly typed event: add what the validator says about other paths, send nothing."""
    reported = {f.path for f in findings}
    check = validate_event(event, now_s=now_s, options=options.validation)
    findings.extend(f for f in check.findings if f.path not in reported)
    user_data = event.get("user_data")
    quality = estimate(user_data if isinstance(user_data, Mapping) else {})
    return Prepared({}, tuple(findings), quality)


def prepare_many(
    events: Sequence[Any],
    *,
    now_s: float,
    options: PipelineOptions = DEFAULT_OPTIONS,
) -> PreparedBatch:
    """``prepare`` for each event of one request; more than 1,000 events is a request error
    and no event is prepared (Meta would reject the whole request, spec §1.2)."""
    if len(events) > MAX_EVENTS_PER_REQUEST:
        message = (
            f"data holds {len(events)} events; Meta accepts at most {MAX_EVENTS_PER_REQUEST} "
            "per request. Split it into smaller batches."
        )
        return PreparedBatch((), (error("$.data", "too_many_events", message, "§1.2"),))
    items = tuple(prepare(event, now_s=now_s, options=options) for event in events)
    duplicates = find_duplicates([p.payload for p in items if p.payload])
    return PreparedBatch(items, tuple(duplicates))


def _prepare_pure(
    event: dict[str, Any],
    user_data: dict[str, Any],
    now_s: float,
    options: ValidationOptions,
    findings: list[Finding],
) -> Prepared | None:
    """The fast path's Prepared, or None for the long way (``capigate._cwire`` does the same)."""
    wire = clean_wire(event, user_data, now_s, options)
    return None if wire is None else Prepared(wire, tuple(findings), estimate(user_data))


PrepareClean = Callable[
    [dict[str, Any], dict[str, Any], float, ValidationOptions, list[Finding]], Prepared | None
]
PrepareNative = Callable[[Any, float, PipelineOptions], Prepared | None]


def _load_native() -> tuple[PrepareClean, PrepareNative] | None:
    """``capigate._cwire`` (the fast path in C) configured with the Python tables, if built:
    its ``prepare_clean`` and its ``prepare`` (the whole of ``prepare`` for a clean event,
    normalizing with the C function ``capigate.normalize.userdata`` uses, if it uses one)."""
    try:
        import capigate._cwire as cwire
    except ImportError:
        return None
    prepared = {"prepared_type": Prepared, "prepared_fields": plain_init_fields(Prepared)}
    cwire.configure({**native_tables(), **quality_tables(), **prepared, **_settings_tables()})
    return cwire.prepare_clean, cwire.prepare


def _settings_tables() -> dict[str, object]:
    """What ``capigate._cwire.prepare`` needs to normalize as ``_prepare`` does."""
    return {
        "options_type": PipelineOptions,
        "current_year": _current_year,
        "memo_tables": memo.tables,
        "memos": memo._memos,  # read in C on every call, so that a cleared memo is seen
        "month_first_regions": MONTH_FIRST_REGIONS,
        "userdata_globals": vars(userdata),
        "validation_type": ValidationOptions,
    }


def use_native(enabled: bool) -> bool:
    """Take the C fast path when ``enabled`` and built (the default), else the Python one,
    which stays the reference; returns whether C is in use. For tests and comparisons."""
    global _prepare_clean, _prepare_native  # prepare reads globals, not a holder's attributes
    native = _load_native() if enabled else None
    _prepare_clean, _prepare_native = native or (_prepare_pure, None)
    return native is not None


_prepare_clean: PrepareClean = _prepare_pure
_prepare_native: PrepareNative | None = None
use_native(True)
