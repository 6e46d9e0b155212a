"""YAML text -> plain data plus the line of every key, so plan errors can name ``file:line``.

PyYAML's composed nodes carry marks; the constructed dicts do not. We compose, record the
line of each JSONPath, then construct. Keys that appear twice (which YAML silently resolves
to the last one) are reported instead of ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from capigate.errors import PlanError
from capigate.findings import error
from capigate.validate.rules import child as _child

SPEC = "DESIGN The tracking plan"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A mapping key written twice: its JSONPath and the line of the second one."""

    path: str
    key: object
    line: int


@dataclass(slots=True)
class Document:
    """A parsed YAML document: its data, JSONPath -> line, and duplicate keys."""

    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)


def child(parent: str, key: object) -> str:
    """The JSONPath of ``key`` below ``parent``: ``$.events.subscribe``, ``$.a[3]``."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    return _child(parent, str(key))


def parse(text: str, name: str) -> Document:
    """Parse one YAML document; a syntax error is a ``PlanError`` naming ``name:line``."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            doc = Document()
            if node is not None:
                _index(node, "$", doc)  # before construction: merge keys rewrite the nodes
                doc.data = loader.construct_document(node)
            return doc
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = f"{where}: not valid YAML: {exc.problem or exc.context}"
    except yaml.YAMLError as exc:
        problem = f"{name}: not valid YAML: {exc}"
    raise PlanError(problem, [error("$", "yaml_syntax", problem, SPEC)])


def _index(node: yaml.Node, path: str, doc: Document) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key, sub, line = key_node.value, child(path, key_node.value), key_node.start_mark.line
            if key in seen:
                doc.duplicates.append(Duplicate(sub, key, line + 1))
            seen.add(key)
            doc.lines[sub] = line + 1
            _index(value_node, sub, doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, child(path, i), doc)
