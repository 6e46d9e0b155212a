"""Helpers for tests of the SQLite writer thread (``capigate.store.sqlite_threads.Writer``)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable

from capigate.store.sqlite_threads import Writer


def held(writer: Writer) -> tuple[Awaitable[None], threading.Event, threading.Event]:
    """A job that keeps the writer busy until ``gate`` is set, so later jobs form one group."""
    entered, gate = threading.Event(), threading.Event()

    def hold(_: sqlite3.Connection) -> None:
        entered.set()
        gate.wait(10)

    return asyncio.ensure_future(writer.run(hold)), entered, gate
