"""``capigate replay``: queue dead letters again, with their original event_id.

Dead letters are chosen by filters (pixel, event name, source, dead since, record ids). Each
keeps its event_id, so Meta deduplicates a replay against anything it already has. Events
past Meta's window (7 days; 62 days for physical_store, less the worker's safety margin)
are refused and listed: Meta would reject them, and with them every event in their batch.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import click

from capigate.clock import Clock, system_clock
from capigate.errors import ConfigError, GatewayError
from capigate.retry import DAY_S, RetryPolicy, max_event_age_s
from capigate.settings import load
from capigate.store import Status, Store, StoredEvent, open_store

PAGE_EVENTS = 500
REQUEUE_CHUNK = 1000
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY_S}


@dataclass(frozen=True, slots=True)
class Filters:
    """Which dead letters to replay; None means any."""

    pixel_id: str | None = None
    event_name: str | None = None
    source: str | None = None
    since_s: float | None = None
    ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    """One candidate and the verdict: ``refusal`` is None when it may be replayed."""

    event: StoredEvent
    refusal: str | None


def parse_since(text: str, now_s: float) -> float:
    """``2h``/``3d``/``30m`` ago, an ISO date or date-time (UTC unless it says), or Unix seconds."""
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        return now_s - float(relative.group(1)) * _UNIT_S[relative.group(2)]
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"--since: {text!r} is not a time; use 2h, 3d, 2025-11-20, 2025-11-20T10:00 or "
            "Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_ids(text: str) -> tuple[int, ...]:
    """``12,13,20`` -> (12, 13, 20)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ConfigError(f"--ids: {text!r} must be record ids separated by commas, e.g. 12,13")
    return tuple(int(p) for p in parts)


def verdict(event: StoredEvent, now_s: float, policy: RetryPolicy) -> str | None:
    """Why ``event`` may not be replayed now, or None."""
    if event.status is not Status.DEAD:
        return f"not a dead letter (status {event.status.value})"
    age_s = max_event_age_s(event.action_source)
    if now_s > policy.deadline_s(event.event_time, age_s):
        when = datetime.fromtimestamp(event.event_time, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return f"past Meta's {age_s / DAY_S:g}-day window (event_time {when})"
    return None


async def choose(store: Store, filters: Filters, now_s: float, policy: RetryPolicy) -> list[Choice]:
    """Every dead letter the filters select (or the given ids), each with its verdict."""
    if filters.ids:
        found = [await store.get(i) for i in filters.ids]
        missing = [i for i, e in zip(filters.ids, found, strict=True) if e is None]
        if missing:
            raise ConfigError(f"--ids: no event with id {', '.join(map(str, missing))}")
        events = [e for e in found if e is not None and _matches(e, filters)]
    else:
        events = await _dead_letters(store, filters)
    return [Choice(e, verdict(e, now_s, policy)) for e in events]


async def replay(store: Store, choices: Sequence[Choice], now_s: float) -> int:
    """Queue the replayable choices again; returns how many were queued."""
    ids = [c.event.id for c in choices if c.refusal is None]
    queued = 0
    for start in range(0, len(ids), REQUEUE_CHUNK):
        queued += await store.requeue(ids[start : start + REQUEUE_CHUNK], now_s=now_s)
    return queued


async def _dead_letters(store: Store, filters: Filters) -> list[StoredEvent]:
    found: list[StoredEvent] = []
    before_id: int | None = None
    while True:
        page = await store.list_events(
            status=Status.DEAD.value,
            pixel_id=filters.pixel_id,
            event_name=filters.event_name,
            source=filters.source,
            limit=PAGE_EVENTS,
            before_id=before_id,
        )
        found.extend(e for e in page if _matches(e, filters))
        if len(page) < PAGE_EVENTS:
            return sorted(found, key=lambda e: e.id)
        before_id = page[-1].id


def _matches(event: StoredEvent, filters: Filters) -> bool:
    wanted = {"pixel_id": filters.pixel_id, "event_name": filters.event_name}
    wanted["source"] = filters.source
    if any(value is not None and getattr(event, name) != value for name, value in wanted.items()):
        return False
    return filters.since_s is None or event.updated_at >= filters.since_s


@click.command("replay")
@click.option("--pixel", "pixel_id", help="Only dead letters of this pixel (dataset) id.")
@click.option("--event-name", help="Only this Meta event name, e.g. Purchase.")
@click.option("--source", help="Only events from this source name.")
@click.option(
    "--since", help="Only events dead-lettered since: 2h, 3d, 2025-11-20[T10:00], Unix s."
)
@click.option("--ids", help="Only these record ids (comma-separated), as the dashboard shows.")
@click.option("--all", "replay_all", is_flag=True, help="Every dead letter (no filter given).")
@click.option("--dry-run", is_flag=True, help="List what would be replayed; change nothing.")
@click.option("--db", help="Store URL.  [env: CAPIGATE_DB; default sqlite:///./capigate.db]")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML settings file.")
def replay_command(
    *,
    pixel_id: str | None,
    event_name: str | None,
    source: str | None,
    since: str | None,
    ids: str | None,
    replay_all: bool,
    dry_run: bool,
    db: str | None,
    config: str | None,
) -> None:
    """Queue dead letters again with their original event_id (Meta deduplicates them).

    Events past Meta's window (7 days, 62 for physical_store) are refused and listed.
    """
    try:
        settings = load(config_path=config, overrides={"db": db})
        filters = _filters(
            pixel_id=pixel_id,
            event_name=event_name,
            source=source,
            since=since,
            ids=ids,
            replay_all=replay_all,
            now_s=system_clock(),
        )
        policy = settings.worker.policy()
        asyncio.run(_run(settings.db_url, filters, policy, dry_run, system_clock))
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None


def _filters(
    *,
    pixel_id: str | None,
    event_name: str | None,
    source: str | None,
    since: str | None,
    ids: str | None,
    replay_all: bool,
    now_s: float,
) -> Filters:
    given = any(v is not None for v in (pixel_id, event_name, source, since, ids))
    if not given and not replay_all:
        raise ConfigError(
            "choose dead letters with --pixel, --event-name, --source, --since or --ids "
            "(or --all for every one)"
        )
    return Filters(
        pixel_id=pixel_id,
        event_name=event_name,
        source=source,
        since_s=None if since is None else parse_since(since, now_s),
        ids=() if ids is None else parse_ids(ids),
    )


async def _run(
    db_url: str, filters: Filters, policy: RetryPolicy, dry_run: bool, clock: Clock
) -> None:
    store = open_store(db_url, clock=clock)
    try:
        await store.migrate()
        now_s = clock()
        choices = await choose(store, filters, now_s, policy)
        for choice in choices:
            click.echo(_line(choice, dry_run))
        ready = sum(c.refusal is None for c in choices)
        refused = len(choices) - ready
        queued = ready if dry_run else await replay(store, choices, now_s)
        verb = "would requeue" if dry_run else "requeued"
        click.echo(f"{verb} {queued}, refused {refused} (of {len(choices)} chosen)")
    finally:
        await store.close()


def _line(choice: Choice, dry_run: bool) -> str:
    event = choice.event
    what = f"#{event.id} {event.event_name} event_id={event.event_id} pixel={event.pixel_id}"
    if choice.refusal is not None:
        return f"refused  {what}: {choice.refusal}"
    error = event.last_error or {}
    cause = error.get("reason") or error.get("message") or "no error recorded"
    return f"{'replay ' if dry_run else 'requeued'} {what} (was: {cause})"
