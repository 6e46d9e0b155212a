"""Named SQL queries, one file per dialect with the same names.

A file is a sequence of blocks::

    -- name: lease_group
    -- Lease the due events of one group.
    UPDATE ...

Comment lines right after the name line describe the query; the rest is the query itself.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

DIALECTS = ("sqlite", "postgres")
_NAME_PREFIX = "-- name:"


def parse(text: str) -> dict[str, str]:
    """Map each query name in ``text`` to its SQL; a repeated or empty name is an error."""
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in [*text.splitlines(), f"{_NAME_PREFIX} <end>"]:
        if not line.startswith(_NAME_PREFIX):
            if name is not None and (lines or not line.startswith("--")):
                lines.append(line)
            continue
        if name is not None:
            queries[name] = _body(name, lines, queries)
        name, lines = line.removeprefix(_NAME_PREFIX).strip(), []
        if not name:
            raise ValueError("a '-- name:' line needs a query name")
    return queries


def _body(name: str, lines: list[str], seen: dict[str, str]) -> str:
    if name in seen:
        raise ValueError(f"query {name!r} is defined twice")
    body = "\n".join(lines).strip()
    if not body:
        raise ValueError(f"query {name!r} has no SQL")
    return body


@cache
def load(dialect: str) -> dict[str, str]:
    """The named queries of ``dialect`` (``sqlite`` or ``postgres``)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {DIALECTS}")
    return parse(resources.files(__package__).joinpath(f"{dialect}.sql").read_text("utf-8"))
