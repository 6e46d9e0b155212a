"""The saved state of each pixel's delivery circuit (table ``pixel_circuits``, migration 0002).

Workers save a circuit whenever it opens, closes or a probe settles, so that every worker on
the database pauses and resumes together and ``/readyz`` in any process can say why delivery
to a pixel waits. A save never replaces a newer one (``updated_at`` decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

CIRCUIT_STATUSES: Final = ("closed", "open", "half_open")


@dataclass(frozen=True, slots=True)
class PixelCircuit:
    """One pixel's circuit: ``status`` is closed, open or half_open; ``reason`` says why."""

    pixel_id: str
    status: str
    reason: str
    opened_at: float | None
    next_probe_at: float | None
    failed_probes: int
    updated_at: float

    def __post_init__(self) -> None:
        if self.status not in CIRCUIT_STATUSES:
            raise ValueError(f"circuit status must be one of {CIRCUIT_STATUSES}: {self.status!r}")


def circuit_params(circuit: PixelCircuit) -> dict[str, Any]:
    """The parameters of the ``save_circuit`` query."""
    return {name: getattr(circuit, name) for name in PixelCircuit.__dataclass_fields__}


def circuit_from_row(row: Any) -> PixelCircuit:
    """A ``PixelCircuit`` from a ``pixel_circuits`` row (readable by column name)."""
    return PixelCircuit(**{name: row[name] for name in PixelCircuit.__dataclass_fields__})


def newer(candidate: PixelCircuit, current: PixelCircuit | None) -> bool:
    """Whether a save of ``candidate`` replaces ``current`` (the last writer wins ties)."""
    return current is None or candidate.updated_at >= current.updated_at
