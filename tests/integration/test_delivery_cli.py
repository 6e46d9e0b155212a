"""``capigate replay``, ``send`` and ``worker --once`` on a real SQLite file and emulator."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner, Result

from capigate.cli import cli
from capigate.emulator import create_app
from capigate.retry import DAY_S
from capigate.store import Status, StoredEvent, open_store
from tests.worker_kit import OTHER_PIXEL, PIXEL, new_event, poison_event, serving, wire_event

WEB_ITEM = {
    "event": "cta_click",
    "user": {"email": "a@example.com", "user_agent": "Mozilla/5.0", "ip": "203.0.113.9"},
    "properties": {"button_id": "open_tg"},
    "context": {"session_id": "s-cli", "page_url": "https://example.com/lp"},
}


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    """Commands configure JSON logging on the root logger; undo it after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _store_call(url: str, action: Any) -> Any:
    async def run() -> Any:
        store = open_store(url)
        try:
            await store.migrate()
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _events(url: str) -> dict[str, StoredEvent]:
    async def read(store: Any) -> list[StoredEvent]:
        found: list[StoredEvent] = await store.list_events(limit=1000)
        return found

    return {e.event_id: e for e in _store_call(url, read)}


@pytest.fixture
def dead_letters(tmp_path: Path) -> str:
    """A store with dead letters: lead-1 (pixel A), lead-2 (pixel B), lead-3 (8 days old,
    pixel A) and lead-4 (delivered, pixel A)."""
    url = f"sqlite:///{tmp_path / 'replay.db'}"
    now = time.time()

    async def seed(store: Any) -> None:
        events = [
            new_event(1, event_time=now - 60),
            new_event(2, pixel_id=OTHER_PIXEL, event_time=now - 60),
            new_event(3, event_time=now - 8 * DAY_S),
            new_event(4, event_time=now - 60),
        ]
        await store.enqueue(events, now_s=now)
        while batch := await store.lease_batch(worker_id="w", now_s=now, lease_s=60):
            leased = [await store.get(e.id) for e in batch.events]
            ids = [e.id for e in leased if e is not None and e.event_id != "lead-4"]
            await store.dead_letter(ids, now_s=now, error={"reason": "Meta refused (code 100)"})
            await store.ack(
                [e.id for e in leased if e is not None and e.event_id == "lead-4"],
                now_s=now,
                response={},
            )

    _store_call(url, seed)
    return url


def test_replay_dry_run_lists_and_changes_nothing(dead_letters: str) -> None:
    """--dry-run names what would be requeued and what is refused, and writes nothing."""
    result = _invoke("replay", "--pixel", PIXEL, "--dry-run", "--db", dead_letters)
    assert result.exit_code == 0, result.output
    assert "would requeue 1, refused 1 (of 2 chosen)" in result.output
    assert "event_id=lead-1" in result.output and "was: Meta refused (code 100)" in result.output
    assert "event_id=lead-3" in result.output and "past Meta's 7-day window" in result.output
    assert {e.status for e in _events(dead_letters).values()} == {Status.DEAD, Status.DELIVERED}


def test_replay_requeues_with_the_original_event_id_and_refuses_old_events(
    dead_letters: str,
) -> None:
    """The chosen dead letter is queued again, same row and event_id; the old one stays dead."""
    before = _events(dead_letters)
    result = _invoke("replay", "--pixel", PIXEL, "--db", dead_letters)
    assert result.exit_code == 0, result.output
    assert "requeued 1, refused 1" in result.output
    after = _events(dead_letters)
    assert after["lead-1"].id == before["lead-1"].id
    assert (after["lead-1"].status, after["lead-1"].attempts) == (Status.QUEUED, 0)
    assert after["lead-3"].status is Status.DEAD
    assert after["lead-2"].status is Status.DEAD


def test_replay_by_ids_says_which_are_not_dead_letters(dead_letters: str) -> None:
    """--ids picks records; a delivered one is refused as not a dead letter."""
    ids = {k: e.id for k, e in _events(dead_letters).items()}
    result = _invoke("replay", "--ids", f"{ids['lead-2']},{ids['lead-4']}", "--db", dead_letters)
    assert result.exit_code == 0, result.output
    assert "not a dead letter (status delivered)" in result.output
    assert _events(dead_letters)["lead-2"].status is Status.QUEUED


def test_replay_filters_by_event_name_source_and_since(dead_letters: str) -> None:
    """Filters combine; --since counts from when the event was dead-lettered."""
    none = _invoke("replay", "--event-name", "Purchase", "--db", dead_letters)
    assert "requeued 0, refused 0 (of 0 chosen)" in none.output
    future = _invoke("replay", "--since", str(time.time() + 3600), "--db", dead_letters)
    assert "(of 0 chosen)" in future.output
    recent = _invoke("replay", "--since", "1h", "--source", "test", "--db", dead_letters)
    assert "requeued 2, refused 1 (of 3 chosen)" in recent.output


def test_replay_refuses_unknown_ids_and_missing_filters(dead_letters: str) -> None:
    """An unknown id and a call without any filter are errors that say what to do."""
    unknown = _invoke("replay", "--ids", "999", "--db", dead_letters)
    assert unknown.exit_code == 1 and "no event with id 999" in unknown.output
    bare = _invoke("replay", "--db", dead_letters)
    assert bare.exit_code == 1 and "--all for every one" in bare.output


def test_send_delivers_one_event_through_the_pipeline() -> None:
    """Sandbox mode: the event is mapped, hashed, sent to an emulator; Meta's answer printed."""
    result = _invoke("send", orjson.dumps(WEB_ITEM).decode())
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.stdout)
    assert (shown["outcome"], shown["status"], shown["events_received"]) == ("delivered", 200, 1)
    assert "not to Meta" in shown["sandbox"] and shown["fbtrace_id"]


def test_send_prints_metas_refusal_with_its_subcode() -> None:
    """A wire event Meta refuses: exit 1 and the code, subcode and title shown."""
    raw = orjson.dumps(poison_event(1, time.time() - 60)).decode()
    result = _invoke("send", "--raw", raw)
    assert result.exit_code == 1
    shown = orjson.loads(result.stdout)
    assert (shown["outcome"], shown["code"], shown["subcode"]) == ("permanent", 100, 2804009)


def test_send_names_every_invalid_field_and_sends_nothing() -> None:
    """An event the pipeline refuses exits 2 with each finding's path and rule."""
    result = _invoke("send", orjson.dumps({**WEB_ITEM, "user": {"email": "a@x.io"}}).decode())
    assert result.exit_code == 2
    assert "$.user.user_agent" in result.stderr and "nothing was sent" in result.stderr


def test_send_dry_run_prints_the_body_with_the_test_event_code() -> None:
    """--dry-run shows the exact request body, without a token."""
    result = _invoke(
        "send", "--dry-run", "--test-event-code", "TEST42", orjson.dumps(WEB_ITEM).decode()
    )
    body = orjson.loads(result.stdout)
    assert body["test_event_code"] == "TEST42"
    assert body["data"][0]["event_id"] == "cta_s-cli"
    assert "access_token" not in result.stdout


def test_send_refuses_an_unknown_pixel() -> None:
    """--pixel must be a configured pixel."""
    result = _invoke("send", "--pixel", "42", orjson.dumps(WEB_ITEM).decode())
    assert result.exit_code == 1 and "--pixel: 42 is not a configured pixel" in result.output


def test_worker_once_delivers_to_a_standalone_emulator(tmp_path: Path) -> None:
    """capigate worker --once with CAPIGATE_GRAPH_URL delivers what is due, then exits."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    now = time.time()

    async def seed(store: Any) -> None:
        events = [new_event(n, payload=wire_event(n, now - 60)) for n in range(3)]
        await store.enqueue(events, now_s=now - 5)

    _store_call(url, seed)
    with serving(create_app()) as graph:
        env = {"CAPIGATE_GRAPH_URL": graph, "CAPIGATE_PIXEL_ID": PIXEL}
        result = _invoke("worker", "--once", "--db", url, env=env)
        recorded = httpx.get(f"{graph}/__emulator__/events").json()
    assert result.exit_code == 0, result.output
    assert sorted(e["event_id"] for e in recorded["events"]) == ["lead-0", "lead-1", "lead-2"]
    assert {e.status for e in _events(url).values()} == {Status.DELIVERED}
