"""Numbered schema migrations, one folder per dialect (``sqlite/0001_initial.sql``, ...).

Each store applies the pending ones in order, each in its own transaction together with a row
in ``capigate_migrations``, under a lock so that two processes starting at once apply each
migration once. A released migration is never edited: change the schema with a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``version`` 1, 2, ... and ``name`` like ``0001_initial``."""

    version: int
    name: str
    sql: str


def load(dialect: str) -> list[Migration]:
    """Every migration of ``dialect`` (``sqlite`` or ``postgres``) in version order."""
    return load_folder(resources.files(__package__).joinpath(dialect))


def load_folder(folder: Traversable) -> list[Migration]:
    """The ``NNNN_name.sql`` files in ``folder``; versions must run 1, 2, 3 without gaps."""
    found = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            name = entry.name.removesuffix(".sql")
            found.append(Migration(int(match.group(1)), name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise ValueError(f"migrations in {folder} must be numbered 1..n without gaps: {versions}")
    return found


def pending(migrations: list[Migration], applied: set[int]) -> list[Migration]:
    """The migrations not yet applied, in order."""
    return [m for m in migrations if m.version not in applied]
