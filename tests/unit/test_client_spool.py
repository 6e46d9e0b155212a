"""The spool: order, removal, bounds, and (file spool) durability across reopen and locking."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from capigate.client import CapigateClientError, FileSpool, MemorySpool, SpoolFull
from capigate.client.spool import SPOOL_FILE, Spool

Factory = Callable[..., Spool]


@pytest.fixture(params=["memory", "file"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """Both spools, built with the given limits."""
    if request.param == "memory":
        return MemorySpool
    return lambda **limits: FileSpool(tmp_path, **limits)


def _item(n: int) -> bytes:
    return b'{"event":"e%d"}' % n


def test_peek_returns_oldest_first_and_keeps_them(make: Factory) -> None:
    """Appends keep their order across calls; peek does not remove."""
    spool = make()
    spool.append([_item(1), _item(2)])
    spool.append([_item(3)])
    assert [p.data for p in spool.peek(2)] == [_item(1), _item(2)]
    assert [p.data for p in spool.peek(10)] == [_item(1), _item(2), _item(3)]
    assert len(spool) == 3
    spool.close()


def test_remove_forgets_exactly_the_given_rows(make: Factory) -> None:
    """Removal by seq, not by position; the rest keep their order."""
    spool = make()
    spool.append([_item(n) for n in range(1, 6)])
    rows = spool.peek(5)
    spool.remove([rows[1].seq or 0, rows[3].seq or 0])
    assert [p.data for p in spool.peek(10)] == [_item(1), _item(3), _item(5)]
    assert len(spool) == 3
    spool.close()


def test_bound_by_events_refuses_the_whole_append(make: Factory) -> None:
    """An append that would pass max_events raises SpoolFull and stores none of it."""
    spool = make(max_events=3)
    spool.append([_item(1), _item(2)])
    with pytest.raises(SpoolFull, match=r"holds 2 events, \d+ bytes \(limit 3 events") as caught:
        spool.append([_item(3), _item(4)])
    assert [e["event"] for e in caught.value.events] == ["e3", "e4"]
    assert len(spool) == 2
    spool.close()


def test_bound_by_bytes_and_room_again_after_removal(make: Factory) -> None:
    """max_bytes counts encoded events; removing frees room."""
    spool = make(max_bytes=3 * len(_item(1)))
    spool.append([_item(1), _item(2), _item(3)])
    with pytest.raises(SpoolFull):
        spool.append([_item(4)])
    spool.remove([spool.peek(1)[0].seq or 0])
    spool.append([_item(4)])
    assert [p.data for p in spool.peek(10)] == [_item(2), _item(3), _item(4)]
    spool.close()


def test_file_spool_keeps_events_across_reopen(tmp_path: Path) -> None:
    """Written, closed, reopened: the same events in the same order, with their counts."""
    first = FileSpool(tmp_path / "deep" / "dir")
    first.append([_item(1), _item(2), _item(3)])
    first.remove([first.peek(1)[0].seq or 0])
    first.close()
    again = FileSpool(tmp_path / "deep" / "dir")
    assert len(again) == 2
    assert [p.data for p in again.peek(10)] == [_item(2), _item(3)]
    assert (tmp_path / "deep" / "dir" / SPOOL_FILE).exists()
    again.close()


def test_file_spool_counts_bytes_after_reopen(tmp_path: Path) -> None:
    """The byte bound survives a restart: it is counted from the file, not from memory."""
    first = FileSpool(tmp_path)
    first.append([_item(1), _item(2)])
    first.close()
    reopened = FileSpool(tmp_path, max_bytes=2 * len(_item(1)))
    with pytest.raises(SpoolFull):
        reopened.append([_item(3)])
    reopened.close()


def test_file_spool_is_locked_to_one_client(tmp_path: Path) -> None:
    """A second client on the same directory gets a clear error instead of double replays."""
    first = FileSpool(tmp_path)
    with pytest.raises(CapigateClientError, match="another client"):
        FileSpool(tmp_path)
    first.close()
    FileSpool(tmp_path).close()


def test_spool_limits_must_be_positive(tmp_path: Path) -> None:
    """A zero bound is a configuration error."""
    with pytest.raises(ValueError, match="max_events"):
        MemorySpool(max_events=0)
