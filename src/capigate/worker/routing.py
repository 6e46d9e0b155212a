"""Which pixels (datasets) an event goes to: routing rules by source and event (pure).

The ``routes:`` section of ``capigate.yaml`` lists rules; an event goes to the pixels of
every rule it matches, in rule order without repeats, and to its default pixel (the source's
``pixel``, else the plan's or the first configured one) when it matches none::

    routes:
      - events: [subscribe, Purchase]     # plan keys or Meta event names; absent: any event
        sources: [billing]                # source names; absent: any source
        pixels: ["111111111111111", "222222222222222"]

Each pixel receives its own copy, deduplicated on (pixel, event_name, event_id) as usual.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capigate.errors import ConfigError

_KEYS = ("events", "sources", "pixels")


@dataclass(frozen=True, slots=True)
class Route:
    """One rule: events of ``sources`` named in ``events`` go to ``pixels`` (None: any)."""

    pixels: tuple[str, ...]
    sources: frozenset[str] | None = None
    events: frozenset[str] | None = None

    def matches(self, *, source: str, plan_key: str | None, event_name: str) -> bool:
        """Whether an event from ``source`` with this plan key or Meta name is routed here."""
        if self.sources is not None and source not in self.sources:
            return False
        return self.events is None or bool({plan_key, event_name} & self.events)


def pixels_for(
    routes: Iterable[Route],
    *,
    source: str,
    plan_key: str | None,
    event_name: str,
    default: str,
) -> tuple[str, ...]:
    """The pixels of every matching route in order, without repeats; ``(default,)`` if none."""
    chosen: dict[str, None] = {}
    for route in routes:
        if route.matches(source=source, plan_key=plan_key, event_name=event_name):
            chosen.update(dict.fromkeys(route.pixels))
    return tuple(chosen) or (default,)


def parse_routes(
    raw: Any, *, pixel_ids: Collection[str], source_names: Collection[str]
) -> tuple[Route, ...]:
    """The ``routes:`` section, every pixel and source checked against the configuration."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("routes: must be a list of {events, sources, pixels}")
    return tuple(
        _route(f"routes[{i}]", entry, pixel_ids, source_names) for i, entry in enumerate(raw)
    )


def _route(
    where: str, entry: Any, pixel_ids: Collection[str], source_names: Collection[str]
) -> Route:
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: must be a mapping with pixels (and events, sources)")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown (known: {', '.join(_KEYS)})")
    pixels = _names(f"{where}.pixels", entry.get("pixels"))
    if pixels is None:
        raise ConfigError(f"{where}.pixels: required, a list of configured pixel ids")
    for pixel in pixels:
        if pixel not in pixel_ids:
            raise ConfigError(f"{where}.pixels: {pixel} is not one of the configured pixels")
    sources = _names(f"{where}.sources", entry.get("sources"))
    for name in sources or ():
        if name not in source_names:
            raise ConfigError(f"{where}.sources: {name!r} is not a configured source")
    events = _names(f"{where}.events", entry.get("events"))
    return Route(
        pixels=tuple(dict.fromkeys(pixels)),
        sources=None if sources is None else frozenset(sources),
        events=None if events is None else frozenset(events),
    )


def _names(where: str, value: Any) -> Sequence[str] | None:
    """A non-empty list of names; a single name or number counts as a list of one."""
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    names = [str(v).strip() for v in items if isinstance(v, str | int) and not isinstance(v, bool)]
    if not items or len(names) != len(items) or not all(names):
        raise ConfigError(f"{where}: must be a non-empty list of names")
    return names
