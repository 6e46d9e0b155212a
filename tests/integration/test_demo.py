"""``capigate demo`` end to end: a small month on SQLite (and PostgreSQL), checked against the
store and the emulator's record independently of the demo's own report."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.demo.runner import DemoOptions, DemoResult, run_demo
from capigate.demo.scenario import POISON_FAULT
from capigate.retry import MAX_EVENT_AGE_S
from capigate.store import Status, StoredEvent, open_store
from tests.contract.pg_schema import pg_schema_url

USERS, DAYS, SEED = 30, 10, 7


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty store URL: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/demo.db"
    else:
        async with pg_schema_url() as url:
            yield url


async def _stored(url: str) -> list[StoredEvent]:
    store = open_store(url)
    try:
        return await store.list_events(limit=1_000_000)
    finally:
        await store.close()


async def test_every_accepted_event_is_delivered_dead_lettered_or_expired(db_url: str) -> None:
    """30 users, 10 days: the table matches the store and the emulator; none disappears."""
    result = await run_demo(DemoOptions(users=USERS, days=DAYS, seed=SEED, db_url=db_url))
    assert result.report.problems == ()
    assert result.refusals == ()
    records = await _stored(db_url)
    assert {e.status for e in records} <= {Status.DELIVERED, Status.DEAD, Status.EXPIRED}
    _check_rows(result, records)
    _check_emulator(result, records)
    _check_endings(records)
    answers = dict(result.report.answers)
    scripted = answers.get("500 code 2", 0) + answers.get("400 code 80004/2446079", 0)
    assert scripted > 0  # the outage or the throttle refused some requests
    assert answers["400 code 100/2804050"] == 1  # the poison event, alone in its request
    assert sum(answers.values()) == result.report.graph_requests


def _check_rows(result: DemoResult, records: list[StoredEvent]) -> None:
    by_key: dict[str, list[StoredEvent]] = {}
    for record in records:
        by_key.setdefault(record.plan_key or "", []).append(record)
    rows = {row.plan_key: row for row in result.report.rows}
    assert set(rows) == set(by_key)
    for key, found in by_key.items():
        row = rows[key]
        statuses = Counter(e.status for e in found)
        assert row.accepted == len(found)
        assert (row.delivered, row.dead, row.expired) == (
            statuses[Status.DELIVERED],
            statuses[Status.DEAD],
            statuses[Status.EXPIRED],
        )
        assert row.accepted == row.delivered + row.dead + row.expired
        assert row.retried == sum(e.attempts > 1 for e in found)
        assert row.match_avg == pytest.approx(statistics.mean(e.match_score for e in found))
    assert result.report.total.accepted == len(records)
    assert result.report.total.retried > 0  # the outage and the throttle cost retries


def _check_emulator(result: DemoResult, records: list[StoredEvent]) -> None:
    """Meta received exactly the delivered events, each once, and nothing else."""
    received = Counter((e["event_name"], e["event_id"]) for e in result.received)
    delivered = {(e.event_name, e.event_id) for e in records if e.status is Status.DELIVERED}
    assert set(received) == delivered
    assert set(received.values()) == {1}
    assert result.report.total.at_meta == len(result.received) == len(delivered)


def _check_endings(records: list[StoredEvent]) -> None:
    """The poison event is dead with Meta's code; the late replay expired with a reason."""
    [dead] = [e for e in records if e.status is Status.DEAD]
    assert dead.event_name == "Start_Bot"
    assert dead.last_error is not None
    assert (dead.last_error["code"], dead.last_error["subcode"]) == (
        POISON_FAULT["code"],
        POISON_FAULT["subcode"],
    )
    [expired] = [e for e in records if e.status is Status.EXPIRED]
    assert expired.event_name == "Subscribe" and expired.reason
    assert expired.updated_at - expired.event_time < MAX_EVENT_AGE_S  # before Meta's limit


async def test_the_same_seed_plays_the_same_month() -> None:
    """Two runs with one seed give the same table; another seed gives another month."""
    options = DemoOptions(users=15, days=4, seed=11, db_url="memory://")
    first, second = await run_demo(options), await run_demo(options)
    other = await run_demo(DemoOptions(users=15, days=4, seed=12, db_url="memory://"))
    assert first.report.rows == second.report.rows
    assert first.report.rows != other.report.rows


def test_cli_demo_prints_the_table_and_refuses_a_used_database(tmp_path: Path) -> None:
    """capigate demo shows the table and the verdict; a database with events is refused."""
    runner = CliRunner()
    url = f"sqlite:///{tmp_path}/cli.db"
    args = ["demo", "--users", "10", "--days", "3", "--seed", "2", "--db", url]
    done = runner.invoke(cli, args)
    assert done.exit_code == 0, done.output
    output = " ".join(done.output.split())
    assert "every accepted event" in output
    assert "dead-lettered with a reason, or expired with a reason: none disappeared" in output
    again = runner.invoke(cli, args)
    assert again.exit_code == 1
    assert "needs an empty database" in again.output
