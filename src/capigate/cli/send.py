"""``capigate send``: one event from the command line to Meta, to test a setup.

The event goes through the same pipeline as ingest (tracking plan, normalization, hashing,
validation) and the same Meta client as the worker, then Meta's answer is printed. Nothing is
stored. In sandbox mode (no access token) it goes to ``CAPIGATE_GRAPH_URL`` if set, else to a
private in-process emulator; either way nothing reaches Meta, and the output says so.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
import orjson

from capigate.classify import Outcome, OutcomeKind
from capigate.clock import system_clock
from capigate.errors import ConfigError, GatewayError, ValidationError
from capigate.findings import Finding
from capigate.settings import Settings, load
from capigate.sources import DEV_SOURCE, Source

EXIT_REFUSED_BY_META = 1
EXIT_INVALID_EVENT = 2


@click.command("send")
@click.argument("event", required=False)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, exists=True),
    help="Read the event from this JSON file ('-' or no EVENT: stdin).",
)
@click.option("--raw", is_flag=True, help="EVENT is Meta's wire event: skip the tracking plan.")
@click.option("--pixel", "pixel_id", help="Send to this configured pixel instead.")
@click.option("--source", "source_name", help="Act as this configured source (its pixel, rules).")
@click.option("--test-event-code", help="Show the event in Events Manager's Test Events tab.")
@click.option("--dry-run", is_flag=True, help="Print the request body (no token); send nothing.")
@click.option("--config", type=click.Path(dir_okay=False), help="YAML settings file.")
def send(
    *,
    event: str | None,
    path: str | None,
    raw: bool,
    pixel_id: str | None,
    source_name: str | None,
    test_event_code: str | None,
    dry_run: bool,
    config: str | None,
) -> None:
    """Send one event (ingest JSON, e.g. '{"event": "cta_click", ...}') and print Meta's answer.

    Exit status: 0 delivered, 1 refused or failed at Meta, 2 invalid event.
    """
    try:
        settings = load(config_path=config)
        item = _read_json(event, path)
        pixel, payload, code = asyncio.run(_prepare(settings, item, raw, source_name))
        pixel = _pixel(settings, pixel_id or pixel)
        code = test_event_code or code
        body = _body(payload, code)
        if dry_run:
            click.echo(orjson.dumps({"pixel_id": pixel, **body}, option=orjson.OPT_INDENT_2))
            return
        outcome = asyncio.run(_send(settings, pixel, body))
    except ValidationError as exc:
        _print_findings(exc)
        sys.exit(EXIT_INVALID_EVENT)
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(orjson.dumps(answer(pixel, outcome, settings), option=orjson.OPT_INDENT_2))
    if outcome.kind is not OutcomeKind.DELIVERED:
        sys.exit(EXIT_REFUSED_BY_META)


def answer(pixel_id: str, outcome: Outcome, settings: Settings) -> dict[str, Any]:
    """Meta's answer as printed: outcome, HTTP status, counts or error code and message."""
    shown: dict[str, Any] = {"pixel_id": pixel_id, "outcome": outcome.kind.value}
    if settings.sandbox:
        shown["sandbox"] = "no Meta access token: sent to an emulator, not to Meta"
    fields = {
        "status": outcome.status,
        "events_received": outcome.events_received,
        "messages": list(outcome.messages) or None,
        "code": outcome.code,
        "subcode": outcome.subcode,
        "title": outcome.user_title,
        "message": outcome.user_msg or outcome.message or None,
        "retry_after_s": outcome.retry_after_s,
        "fbtrace_id": outcome.fbtrace_id,
    }
    shown.update((k, v) for k, v in fields.items() if v is not None)
    return shown


def _read_json(event: str | None, path: str | None) -> Any:
    if event is not None and path is not None:
        raise ConfigError("give the event as an argument or with --file, not both")
    if path is not None and path != "-":
        with open(path, "rb") as file:
            text = file.read()
    elif event is not None and event != "-":
        text = event.encode()
    else:
        text = sys.stdin.buffer.read()
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"the event is not JSON: {exc}") from None


async def _prepare(
    settings: Settings, item: Any, raw: bool, source_name: str | None
) -> tuple[str, dict[str, Any], str | None]:
    """(pixel, wire event, test_event_code) from the item, through the ingest pipeline."""
    if raw:
        if not isinstance(item, dict):
            raise ConfigError("--raw: the event must be one JSON object, Meta's wire event")
        return settings.default_pixel.id, item, settings.test_event_code
    from capigate.ingest import Caller, Ingestor
    from capigate.plan.load import default_plan, load_file
    from capigate.store import InMemoryStore

    plan = load_file(settings.plan_path) if settings.plan_path else default_plan()
    store = InMemoryStore()
    ingestor = Ingestor(plan=plan, store=store, settings=settings)
    caller = Caller(_source(settings, source_name))
    await ingestor.ingest([item], prefix="$", caller=caller, now_s=system_clock())
    [stored, *_] = await store.list_events()
    return stored.pixel_id, stored.payload, stored.test_event_code


async def _send(settings: Settings, pixel_id: str, body: dict[str, Any]) -> Outcome:
    from capigate.emulator import create_app
    from capigate.worker.service import delivery_clients, uses_mounted_emulator

    sandbox_app = create_app() if uses_mounted_emulator(settings) else None
    async with delivery_clients(settings, sandbox_app=sandbox_app) as clients:
        return await clients[pixel_id].send(pixel_id, body)


def _body(payload: dict[str, Any], test_event_code: str | None) -> dict[str, Any]:
    from capigate.payload import request_body

    return request_body([payload], test_event_code=test_event_code)


def _source(settings: Settings, name: str | None) -> Source:
    if name is None:
        return DEV_SOURCE  # acts as whichever kind of sender the plan wants
    for source in settings.sources:
        if source.name == name:
            return source
    known = ", ".join(s.name for s in settings.sources)
    raise ConfigError(f"--source: {name!r} is not a configured source (known: {known})")


def _pixel(settings: Settings, pixel_id: str) -> str:
    if all(p.id != pixel_id for p in settings.pixels):
        known = ", ".join(p.id for p in settings.pixels)
        raise ConfigError(f"--pixel: {pixel_id} is not a configured pixel (known: {known})")
    return pixel_id


def _print_findings(exc: ValidationError) -> None:
    click.echo("the event is invalid; nothing was sent:", err=True)
    for finding in exc.findings:
        if isinstance(finding, Finding):
            click.echo(f"  {finding.path}: {finding.message} [{finding.rule}]", err=True)
