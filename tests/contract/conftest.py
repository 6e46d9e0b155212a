"""One ``store`` fixture over every implementation: memory, SQLite (a real file), PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from capigate.clock import FrozenClock
from capigate.store import NewEvent, Store, open_store
from tests.contract.pg_schema import pg_schema_url

T0 = 1_763_800_000.0  # the contract tests' "now"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty store of each kind."""
    if request.param == "memory":
        yield "memory://"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'contract.db'}"
    else:
        async with pg_schema_url() as url:
            yield url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A migrated, empty store; closed after the test."""
    opened = open_store(store_url, clock=FrozenClock(T0))
    await opened.migrate()
    yield opened
    await opened.close()


@pytest.fixture
def make_event() -> Callable[..., NewEvent]:
    """A factory of valid ``NewEvent`` values; keyword arguments override fields."""

    def make(event_id: str = "e1", **overrides: Any) -> NewEvent:
        fields: dict[str, Any] = {
            "pixel_id": "1234567890",
            "event_name": "Lead",
            "event_id": event_id,
            "event_time": int(T0) - 60,
            "action_source": "website",
            "source": "web",
            "plan_key": "cta_click",
            "test_event_code": None,
            "payload": {"event_name": "Lead", "event_id": event_id, "user_data": {"em": ["ab"]}},
            "match_score": 7,
            "warnings": [{"path": "user_data.ph", "rule": "missing"}],
        }
        return NewEvent(**{**fields, **overrides})

    return make
