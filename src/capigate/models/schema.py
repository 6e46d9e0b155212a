"""One table per JSON object of Meta's event: the single source of types, wire form and key order.

Each object's table maps a key to its check (``capigate.models.checks``: wire value -> model
value, or ``BadValue``) and, where the two differ, its wire converter (model value -> JSON).
Three walks share the tables:

* ``parse(..., build=True)``: wire dict -> dataclasses (``ServerEvent.from_dict``);
* ``parse(..., build=False)``: wire dict -> the canonical wire dict, with no dataclass built
  (the pipeline's fast path; equal to ``write(parse(..., build=True))``, a tested property);
* ``write(obj)``: dataclasses -> the canonical wire dict (``capigate.payload.event_to_wire``).

Canonical means: ``null`` and empty strings, lists and objects dropped (except ``keep``
keys), keys in the dataclass's field order, custom properties after the standard keys.
A scalar's JSONPath string is built only when it is wrong, to keep the walks fast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from capigate.findings import Finding, error
from capigate.models import checks as c
from capigate.models.app import EXTINFO_SLOTS, ExtInfo

Check = c.Check
Convert = c.Convert


# isinstance() with tuples: an ``X | Y`` union would be rebuilt on every call.
_SIZED = (str, list, tuple, dict)
_SEQUENCE = (list, tuple)
_SCALAR = (str, int, float)


def is_empty(value: Any) -> bool:
    """What the wire never carries: ``None`` and empty strings, lists, tuples and objects."""
    return value is None or (isinstance(value, _SIZED) and not value)


class Node:
    """A check that needs the path and the findings list: objects and arrays."""

    def parse(self, value: Any, path: str, findings: list[Finding], build: bool) -> Any:
        raise NotImplementedError

    def write(self, value: Any) -> Any:
        raise NotImplementedError


# check, node, wire converter, and the value types the check would return unchanged.
Entry = tuple[Check | None, Node | None, Convert | None, frozenset[type]]
# The same, plus the key's position in the dataclass (its rank in the wire order).
_Ranked = tuple[Check | None, Node | None, Convert | None, frozenset[type], int]

# The value types each check returns unchanged: the walks skip the call for them.
_PASSES: dict[Check, frozenset[type]] = {
    c.as_str: frozenset({str}),
    c.as_id: frozenset({str}),
    c.as_user_value: frozenset({str}),
    c.as_str_or_int: frozenset({str, int}),
    c.as_str_or_flag: frozenset({str, bool}),
    c.as_int: frozenset({int}),
    c.as_seconds: frozenset({int}),
    c.as_number: frozenset({int}),
    c.as_flag: frozenset({bool}),
}
_NONE: frozenset[type] = frozenset()


def field(check: Check | Node, to_wire: Convert | None = None) -> Entry:
    """A table entry: a scalar check with its wire converter, or a nested node."""
    if isinstance(check, Node):
        return (None, check, None, _NONE)
    return (check, None, to_wire, _PASSES.get(check, _NONE))


class Shape(Node):
    """A JSON object and the dataclass it parses into; an ``open`` one keeps unknown keys
    as ``custom_properties``."""

    def __init__(
        self,
        cls: Callable[..., Any],
        table: Mapping[str, Entry],
        spec: str,
        *,
        required: tuple[str, ...] = (),
        keep: frozenset[str] = frozenset(),
        open_: bool = False,
    ) -> None:
        self.cls, self.spec, self.required, self.keep, self.open = cls, spec, required, keep, open_
        order = [key for key in getattr(cls, "__dataclass_fields__", table) if key in table]
        self.table: dict[str, _Ranked] = {key: (*table[key], i) for i, key in enumerate(order)}
        self.rank = {key: i for i, key in enumerate(order)}
        self.order = tuple(order)

    def parse(self, value: Any, path: str, findings: list[Finding], build: bool) -> Any:
        if not isinstance(value, dict) and not isinstance(value, Mapping):
            where = path[2:] or "the event"
            findings.append(error(path, "type", f"{where} must be an object", self.spec))
            return None
        if build:
            return self._build(value, path, findings)
        return self._wire(value, path, findings)

    def _build(self, value: Mapping[str, Any], path: str, findings: list[Finding]) -> Any:
        out: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        table = self.table
        for key, raw in value.items():
            if raw is None:
                continue
            entry = table.get(key)
            if entry is None:
                self._unknown(key, raw, path, extra, findings)
                continue
            check, node, _, passes, _ = entry
            if node is not None:
                out[key] = node.parse(raw, f"{path}.{key}", findings, True)
            elif raw.__class__ in passes:
                out[key] = raw
            else:
                try:
                    out[key] = check(raw)  # type: ignore[misc]
                except c.BadValue as bad:
                    self._bad(key, path, bad, findings)
        if self.required and not self._has_required(value, out, path, findings):
            return None
        if extra:
            out["custom_properties"] = extra
        return self.cls(**out)

    # One inline loop on purpose: it runs for every key of every event (PLR0912). It walks the
    # table, not the input, so the output comes out in canonical order without a sort.
    def _wire(self, value: Mapping[str, Any], path: str, findings: list[Finding]) -> Any:
        out: dict[str, Any] = {}
        table, keep, seen = self.table, self.keep, 0
        for key in filter(value.__contains__, self.order):
            raw = value[key]
            if raw is None:
                continue
            seen += 1
            check, node, to_wire, passes, _ = table[key]
            if node is not None:
                item = node.parse(raw, f"{path}.{key}", findings, False)
            else:
                if raw.__class__ in passes:
                    item = raw
                else:
                    try:
                        item = check(raw)  # type: ignore[misc]
                    except c.BadValue as bad:
                        self._bad(key, path, bad, findings)
                        continue
                if to_wire is not None:
                    item = to_wire(item)
            if item or key in keep or not is_empty(item):
                out[key] = item
        if self.required and not self._has_required(value, out, path, findings):
            return None
        if seen != len(value):
            self._others(value, path, out, findings)
        return out

    def _others(
        self, value: Mapping[str, Any], path: str, out: dict[str, Any], findings: list[Finding]
    ) -> None:
        """Keys outside the table: custom properties (after the standard keys) or errors."""
        extra: dict[str, Any] = {}
        for key, raw in value.items():
            if raw is not None and key not in self.table:
                self._unknown(key, raw, path, extra, findings)
        for key, item in extra.items():
            if item or not is_empty(item):
                out[key] = item

    def write(self, value: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keep = self.keep
        for key, (_, node, to_wire, _, _) in self.table.items():
            item = getattr(value, key)
            if item is None:
                continue
            if node is not None:
                item = node.write(item)
            elif to_wire is not None:
                item = to_wire(item)
            if not item and key not in keep and is_empty(item):
                continue
            out[key] = item
        if self.open:
            for key, item in value.custom_properties.items():
                if item or not is_empty(item):
                    out[key] = item
        return out

    def _bad(self, key: str, path: str, bad: c.BadValue, findings: list[Finding]) -> None:
        where = f"{path}.{key}"
        findings.append(error(where, bad.rule, f"{where[2:]} must be {bad.expected}", self.spec))

    def _has_required(
        self, value: Mapping[str, Any], out: dict[str, Any], path: str, findings: list[Finding]
    ) -> bool:
        """Report absent required keys; a present but invalid one was reported already."""
        complete = True
        for key in self.required:
            if out.get(key) is None:
                complete = False
                if value.get(key) is None:
                    where = f"{path}.{key}"
                    message = f"{where[2:]} is required"
                    findings.append(error(where, "required", message, self.spec))
        return complete

    def _unknown(
        self, key: str, item: Any, path: str, extra: dict[str, Any], findings: list[Finding]
    ) -> None:
        if self.open:
            extra[key] = item
            return
        where = f"{path}.{key}"
        message = f"unexpected key {key!r} in {path[2:] or 'the event'}: Meta rejects unknown keys"
        findings.append(error(where, "unknown_key", message, self.spec))


class Trusted(Node):
    """An object that ``capigate.normalize`` already wrote in wire form (``user_data``).

    Its values are not checked again; its keys are put in ``shape``'s order when they are not
    already. An unknown key sends it through the full check, which reports the key.
    """

    def __init__(self, shape: Shape) -> None:
        self.shape = shape

    def parse(self, value: Any, path: str, findings: list[Finding], build: bool) -> Any:
        if build or not isinstance(value, dict):
            return self.shape.parse(value, path, findings, build)
        rank, last = self.shape.rank, -1
        for key in value:
            position = rank.get(key)
            if position is None:
                return self.shape.parse(value, path, findings, build)
            if position < last:
                return {key: value[key] for key in sorted(value, key=rank.__getitem__)}
            last = position
        return value

    def write(self, value: Any) -> Any:
        return self.shape.write(value)


class Items(Node):
    """A JSON array whose items all pass one check or node: a tuple in the model."""

    def __init__(self, item: Check | Node, spec: str) -> None:
        self.item, self.spec = item, spec

    def parse(self, value: Any, path: str, findings: list[Finding], build: bool) -> Any:
        if not isinstance(value, _SEQUENCE):
            findings.append(error(path, "type", f"{path[2:]} must be a list", self.spec))
            return None
        item = self.item
        if isinstance(item, Node):
            parsed = [item.parse(v, f"{path}[{i}]", findings, build) for i, v in enumerate(value)]
        else:
            parsed = []
            for i, v in enumerate(value):
                try:
                    parsed.append(item(v))
                except c.BadValue as bad:
                    where = f"{path}[{i}]"
                    message = f"{where[2:]} must be {bad.expected}"
                    findings.append(error(where, bad.rule, message, self.spec))
        return tuple(parsed) if build else [v for v in parsed if v or not is_empty(v)]

    def write(self, value: Any) -> list[Any]:
        item = self.item
        if isinstance(item, Node):
            return [w for w in (item.write(v) for v in value) if w or not is_empty(w)]
        return [v for v in value if v or not is_empty(v)]


class ExtInfoNode(Node):
    """``extinfo``: exactly 16 entries; numbers become strings and ``null`` an empty string."""

    def parse(self, value: Any, path: str, findings: list[Finding], build: bool) -> Any:
        if not isinstance(value, _SEQUENCE):
            findings.append(error(path, "type", "app_data.extinfo must be a list", "§5.1"))
            return None
        if len(value) != EXTINFO_SLOTS:
            message = f"app_data.extinfo needs exactly 16 entries (got {len(value)})"
            findings.append(error(path, "extinfo_length", message, "§5.1"))
            return None
        slots = []
        for i, v in enumerate(value):
            if v is None:
                slots.append("")
            elif isinstance(v, _SCALAR) and not isinstance(v, bool):
                slots.append(v if isinstance(v, str) else str(v))
            else:
                message = f"app_data.extinfo[{i}] must be a string"
                findings.append(error(f"{path}[{i}]", "type", message, "§5.1"))
        if len(slots) != EXTINFO_SLOTS:
            return None
        return ExtInfo.from_list(slots) if build else slots

    def write(self, value: ExtInfo) -> list[str]:
        return value.to_list()
