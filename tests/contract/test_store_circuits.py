"""The Store contract for pixel circuits: save, read back, newest wins, survives a reopen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from capigate.clock import FrozenClock
from capigate.store import Store, open_store
from capigate.store.circuits import PixelCircuit
from tests.contract.conftest import T0
from tests.contract.pg_schema import pg_schema_url


def _circuit(pixel_id: str = "1234567890", status: str = "open", **fields: object) -> PixelCircuit:
    values: dict[str, object] = {
        "reason": "access token refused: Invalid OAuth access token (code 190)",
        "opened_at": T0,
        "next_probe_at": T0 + 30,
        "failed_probes": 0,
        "updated_at": T0,
    }
    values.update(fields)
    return PixelCircuit(pixel_id, status, **values)  # type: ignore[arg-type]


async def test_no_circuit_is_saved_at_first(store: Store) -> None:
    """A fresh store knows no circuits."""
    assert await store.circuits() == []


async def test_a_saved_circuit_reads_back_whole(store: Store) -> None:
    """Every field of a saved circuit comes back."""
    saved = _circuit(failed_probes=2)
    await store.save_circuit(saved)
    assert await store.circuits() == [saved]


async def test_circuits_are_listed_by_pixel_id(store: Store) -> None:
    """One row per pixel, ordered by pixel id."""
    await store.save_circuit(_circuit("222"))
    await store.save_circuit(_circuit("111", status="closed", opened_at=None, next_probe_at=None))
    assert [c.pixel_id for c in await store.circuits()] == ["111", "222"]


async def test_a_newer_save_replaces_an_older_one(store: Store) -> None:
    """Closing after opening leaves the pixel closed."""
    await store.save_circuit(_circuit())
    closed = _circuit(status="closed", reason="", opened_at=None, next_probe_at=None,
                      updated_at=T0 + 60)  # fmt: skip
    await store.save_circuit(closed)
    assert await store.circuits() == [closed]


async def test_an_older_save_never_replaces_a_newer_one(store: Store) -> None:
    """A slow worker's stale write does not undo another worker's newer decision."""
    newest = _circuit(status="closed", reason="", updated_at=T0 + 60)
    await store.save_circuit(newest)
    await store.save_circuit(_circuit(updated_at=T0 + 10))
    assert await store.circuits() == [newest]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def sql_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty SQL store (the memory store keeps nothing across instances)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'circuits.db'}"
    else:
        async with pg_schema_url() as url:
            yield url


async def test_saved_circuits_survive_a_reopen(sql_store_url: str) -> None:
    """SQL stores keep circuits for the next process."""
    first = open_store(sql_store_url, clock=FrozenClock(T0))
    await first.migrate()
    await first.save_circuit(_circuit())
    await first.close()
    second = open_store(sql_store_url, clock=FrozenClock(T0))
    try:
        assert await second.circuits() == [_circuit()]
    finally:
        await second.close()


def test_a_circuit_status_must_be_known() -> None:
    """Only closed, open and half_open are circuit statuses."""
    with pytest.raises(ValueError, match="circuit status"):
        _circuit(status="broken")
