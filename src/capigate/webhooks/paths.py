"""Field paths into a JSON payload: ``data.customer.telegram_id``, ``items[0].price``.

A path is dot-separated keys with optional ``[index]`` steps; a leading ``$.`` is allowed, so
the JSONPaths that problem documents show can be pasted back into the plan. Keys that contain
dots or brackets are not supported (no provider we know of uses them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

Step = str | int
Path = tuple[Step, ...]

MISSING: Final = object()  # what ``lookup`` answers when the payload has no value there
_SEGMENT = re.compile(r"([A-Za-z0-9_\-]+)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def parse_path(text: str) -> Path:
    """The steps of ``text``; ``ValueError`` says what is wrong with a malformed path."""
    body = text.strip().removeprefix("$.")
    if not body:
        raise ValueError("a field path must name at least one key, e.g. data.amount")
    steps: list[Step] = []
    for segment in body.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise ValueError(f"{text!r} is not a field path like data.items[0].price")
        steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return tuple(steps)


def lookup(document: object, path: Path) -> object:
    """The value at ``path`` in ``document``; ``MISSING`` when a step is absent or null."""
    current = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, Sequence) or isinstance(current, str):
                return MISSING
            if step >= len(current):
                return MISSING
            current = current[step]
        else:
            if not isinstance(current, Mapping) or step not in current:
                return MISSING
            current = current[step]
        if current is None:
            return MISSING
    return current


def json_path(path: Path) -> str:
    """``path`` as the JSONPath a problem document names: ``$.data.items[0]``."""
    return "$" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
