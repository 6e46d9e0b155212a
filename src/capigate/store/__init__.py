"""The durable outbox: one ``Store`` protocol, three implementations, chosen by URL.

``memory://`` (tests, demo), ``sqlite:///path/to/file.db`` (the embedded default; add
``?synchronous=normal`` to trade power-loss durability for speed) and ``postgresql://...``
(several processes). The SQL implementations are imported only when their URL is used.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from capigate.clock import Clock, system_clock
from capigate.errors import ConfigError
from capigate.store.base import (
    DEDUP_WINDOW_S,
    OUTBOX_STATUSES,
    Batch,
    EnqueueResult,
    LeasedEvent,
    NewEvent,
    Stats,
    Status,
    Store,
    StoredEvent,
)
from capigate.store.memory import InMemoryStore

__all__ = [
    "DEDUP_WINDOW_S",
    "DEFAULT_DB_URL",
    "OUTBOX_STATUSES",
    "Batch",
    "EnqueueResult",
    "InMemoryStore",
    "LeasedEvent",
    "NewEvent",
    "Stats",
    "Status",
    "Store",
    "StoredEvent",
    "open_store",
]

DEFAULT_DB_URL = "sqlite:///./capigate.db"
_URL_FORMS = "memory://, sqlite:///path/to/file.db or postgresql://user@host/db"


def open_store(url: str, *, clock: Clock = system_clock) -> Store:
    """The store that ``url`` names; call ``await store.migrate()`` before using it."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ConfigError(f"store URL {url!r} has no scheme; use {_URL_FORMS}")
    if scheme == "memory":
        return InMemoryStore(clock=clock)
    if scheme == "sqlite":
        return _open_sqlite(url, rest, clock)
    if scheme in ("postgresql", "postgres"):
        from capigate.store.postgres import PostgresStore

        return PostgresStore(url, clock=clock)
    raise ConfigError(f"store URL scheme {scheme!r} is not supported; use {_URL_FORMS}")


def _open_sqlite(url: str, rest: str, clock: Clock) -> Store:
    from capigate.store.sqlite import SYNCHRONOUS_MODES, SQLiteStore

    location, _, query = rest.partition("?")
    path = location.removeprefix("/")
    if not path or path == ":memory:":
        raise ConfigError(f"store URL {url!r} needs a file path; use memory:// for no file")
    options = dict(parse_qsl(query, keep_blank_values=True))
    synchronous = options.pop("synchronous", "full").lower()
    if options:
        raise ConfigError(f"store URL {url!r}: unknown option(s) {sorted(options)}")
    if synchronous not in SYNCHRONOUS_MODES:
        raise ConfigError(f"store URL {url!r}: synchronous must be one of {SYNCHRONOUS_MODES}")
    return SQLiteStore(path, clock=clock, synchronous=synchronous)
