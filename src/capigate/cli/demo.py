"""``capigate demo``: a simulated month of seed 000's funnel through a sandbox gateway."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import click

from capigate.errors import GatewayError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    from capigate.demo.runner import DayDone, DemoOptions, DemoResult

DEFAULT_USERS = 300
DEFAULT_DAYS = 30
WIDE_COLUMNS = 140


@click.command("demo")
@click.option(
    "--users",
    default=DEFAULT_USERS,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Simulated users.",
)
@click.option(
    "--days", default=DEFAULT_DAYS, show_default=True, type=click.IntRange(1, 366),
    help="Simulated days.",
)  # fmt: skip
@click.option(
    "--seed", default=1, show_default=True, type=int, help="The same seed plays the same month."
)
@click.option(
    "--db",
    help="An empty store: sqlite:///path/to/file.db or postgresql://...  "
    "[default: a temporary SQLite file, removed afterwards]",
)
def demo(users: int, days: int, seed: int, db: str | None) -> None:
    """Simulate a month of users through the gateway in sandbox mode, then show every event.

    Users visit the landing page, open the Telegram bot, onboard, log expenses, subscribe,
    cancel and come back; Meta (the built-in emulator) has an outage, throttles, refuses one
    event for good, and one late event can only expire. Time is simulated: a month takes
    seconds. The table shows, per event, what was accepted and what became of it.
    """
    from rich.console import Console

    from capigate.demo.runner import DemoOptions

    console = Console()
    if not console.is_terminal:  # a log or a pipe: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, WIDE_COLUMNS))
    logging.getLogger("capigate").setLevel(logging.ERROR)  # the summary says what they would
    console.print(
        f"[bold]capigate demo[/]: {users:,} users, {days} simulated days, seed {seed}. "
        "Sandbox mode: events go to the built-in Meta emulator, never to Meta."
    )
    options = DemoOptions(users=users, days=days, seed=seed, db_url=db)
    try:
        result = asyncio.run(_run(options, console))
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
    if not show(result, console):
        raise SystemExit(1)


async def _run(options: DemoOptions, console: Console) -> DemoResult:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from capigate.demo.runner import run_demo

    columns = (
        TextColumn("simulated day"),
        MofNCompleteColumn(),
        BarColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=options.days)
        return await run_demo(options, on_day=lambda done: _advance(progress, task, done))


def _advance(progress: Progress, task: TaskID, done: DayDone) -> None:
    text = (
        f"accepted {done.accepted:,}  delivered {done.delivered:,}  waiting {done.waiting:,}"
        f"  dead {done.dead}  expired {done.expired}"
    )
    progress.update(task, completed=done.day, description=text)


def show(result: DemoResult, console: Console) -> bool:
    """Print the table and what went on; False when an event is unaccounted for or refused."""
    from capigate.demo.report import table

    report = result.report
    console.print(table(report))
    total = report.total
    per_request = total.at_meta / report.graph_requests if report.graph_requests else 0.0
    console.print(
        f"The landing page, bot and billing backend posted {result.posted:,} items: "
        f"{result.posted - result.activity:,} events and {result.activity:,} plain activity "
        "items, kept as user state and never sent (the lifecycle engine derived AppLaunch, "
        "7d_Return, retention, First_Entry, onboarding_complete and Drop_Off from them). "
        f"{total.duplicates} were answered 'duplicate' (a second /start, a resent charge)."
    )
    answers = ", ".join(f"{answer} x{count:,}" for answer, count in report.answers)
    console.print(
        f"Meta (the emulator) received {total.at_meta:,} events in {report.graph_requests:,} "
        f"Graph requests ({per_request:.1f} per request: delivered as they happened, "
        f"every simulated 15 minutes). Its answers by HTTP status and code: {answers}."
    )
    console.print("Match: the gateway's estimate of match quality (1-10), not Meta's EMQ.")
    _list(console, "What went wrong on purpose", result.incidents)
    endings = [f"{e.event_name} {e.event_id}: {e.status}: {e.reason}" for e in report.endings]
    _list(console, "Not delivered, with the reason the store keeps", endings)
    console.print(f"Simulated in {result.elapsed_s:.1f} s; store: {_where(result.db_url)}.")
    return _verdict(result, console)


def _verdict(result: DemoResult, console: Console) -> bool:
    problems = [*result.report.problems, *(f"refused: {r}" for r in result.refusals)]
    if problems:
        _list(console, "[red]Problems[/]", problems)
        return False
    console.print(
        "[green]Every accepted event was delivered (and received by Meta exactly once), "
        "dead-lettered with a reason, or expired with a reason: none disappeared.[/]"
    )
    return True


def _list(console: Console, title: str, lines: tuple[str, ...] | list[str]) -> None:
    if lines:
        console.print(f"{title}:")
        for line in lines:
            console.print(f"  - {line}", highlight=False)


def _where(db_url: str) -> str:
    if db_url.startswith("sqlite:") and "capigate-demo-" in db_url:
        return "a temporary SQLite file (removed)"
    return db_url.rsplit("@", maxsplit=1)[-1] if db_url.startswith("postgres") else db_url
