"""A real store (SQLite file or PostgreSQL schema), the default plan and an Ingestor, one clock."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capigate.clock import FrozenClock
from capigate.ingest import Caller, EventResult, Ingestor
from capigate.lifecycle_engine import LifecycleEngine
from capigate.plan import default_plan
from capigate.sources import Source, SourceKind, hash_key
from capigate.store import Store, StoredEvent, open_store
from tests.contract.pg_schema import pg_schema_url
from tests.unit.web_kit import BOT, PAY, live_settings

T0 = 1_763_800_000.0
DAY = 86_400.0
HOUR = 3600.0
MINUTE = 60.0
MINI = Source(
    "mini", SourceKind.SERVER, (hash_key("sk_mini_0123456789abcdef"),), channel="mini_app"
)


def sha(value: str) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Rig:
    """The ingest use case on a real store, with its lifecycle engine and clock."""

    store: Store
    ingestor: Ingestor
    clock: FrozenClock
    path: Path | None = None  # the SQLite file, if any

    @property
    def engine(self) -> LifecycleEngine:
        assert self.ingestor.lifecycle is not None
        return self.ingestor.lifecycle

    async def send(self, *items: dict[str, Any], source: Source = BOT) -> list[EventResult]:
        """Ingest ``items`` as one batch from ``source`` at the clock's time."""
        caller = Caller(source)
        return await self.ingestor.ingest(
            list(items), prefix="$.batch", caller=caller, now_s=self.clock()
        )

    async def tick(self, owner: str = "w1") -> int:
        """Run the worker's lifecycle tick now; returns the events it stored."""
        return (await self.engine.tick(now_s=self.clock(), owner=owner)).events

    async def events(self, event_name: str | None = None) -> list[StoredEvent]:
        """Stored outbox events (optionally one Meta name), oldest first."""
        found = await self.store.list_events(event_name=event_name, limit=100_000)
        return sorted(found, key=lambda e: e.id)


def activity(name: str, user: int = 42, **properties: Any) -> dict[str, Any]:
    """An activity item by Telegram user ``user`` (event_time: now)."""
    item: dict[str, Any] = {"event": name, "user": {"telegram_id": user}}
    if properties:
        item["properties"] = properties
    return item


def step(name: str, value: str, user: int = 42) -> dict[str, Any]:
    """One onboarding step."""
    return activity("onboarding_step", user, step=name, value=value)


@asynccontextmanager
async def opened(url: str, clock: FrozenClock, path: Path | None = None) -> AsyncIterator[Rig]:
    """A migrated store at ``url`` with an Ingestor on the default plan."""
    store = open_store(url, clock=clock)
    await store.migrate()
    settings = live_settings(sources=(BOT, MINI, PAY))
    try:
        yield Rig(store, Ingestor(plan=default_plan(), store=store, settings=settings), clock, path)
    finally:
        await store.close()


@asynccontextmanager
async def rig_for(kind: str, tmp_path: Path) -> AsyncIterator[Rig]:
    """A rig on ``kind``: ``memory``, ``sqlite`` (a file) or ``postgres`` (a fresh schema)."""
    clock = FrozenClock(T0)
    if kind == "memory":
        async with opened("memory://", clock) as rig:
            yield rig
    elif kind == "sqlite":
        path = tmp_path / "lifecycle.db"
        async with opened(f"sqlite:///{path}?synchronous=normal", clock, path) as rig:
            yield rig
    else:
        async with pg_schema_url() as url, opened(url, clock) as rig:
            yield rig
