"""``capigate worker`` runs the lifecycle's timeouts too, not only ``capigate serve``."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.emulator import create_app
from capigate.lifecycle import Flow, UserState
from capigate.store import StoredEvent, open_store
from tests.worker_kit import PIXEL, serving


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    """The command configures JSON logging on the root logger; undo it after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_worker_once_drops_off_an_abandoned_onboarding(tmp_path: Path) -> None:
    """A user idle in onboarding for an hour gets its Drop_Off from `capigate worker --once`."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    now = time.time()
    idle = UserState(
        "42",
        telegram_id="42",
        registered_at=now - 3600,
        last_activity_at=now - 3600,
        onboarding_values={"language": "uz"},
        onboarding=Flow("onb-42", now - 3600, now - 3600),
        next_due_at=now - 1800,
    )

    async def seed_then_read(after: bool) -> list[StoredEvent]:
        store = open_store(url)
        try:
            await store.migrate()
            if not after:
                await store.save_user_state(idle, expected_version=0, events=[], now_s=now)
            return await store.list_events()
        finally:
            await store.close()

    asyncio.run(seed_then_read(after=False))
    with serving(create_app()) as graph:
        env = {"CAPIGATE_GRAPH_URL": graph, "CAPIGATE_PIXEL_ID": PIXEL}
        result = CliRunner().invoke(cli, ["worker", "--once", "--db", url], env=env)
    assert result.exit_code == 0, result.output
    [drop] = asyncio.run(seed_then_read(after=True))
    assert (drop.event_name, drop.event_id, drop.source) == (
        "Drop_Off",
        "dropoff_onb-42",
        "lifecycle",
    )
    assert drop.payload["custom_data"]["step_at_exit"] == "onboarding_name"
