"""``capigate plan check [FILE]``: lint a tracking plan and print every finding."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from capigate.errors import PlanError
from capigate.findings import Finding
from capigate.plan import check_plan, default_plan, load_file

_STYLES = {"error": "bold red", "warning": "yellow"}


@click.group()
def plan() -> None:
    """Work with the tracking plan (the YAML that maps product steps to Meta events)."""


@plan.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strict-names", is_flag=True, help="Also apply seed 004's naming style.")
def check(file: Path | None, strict_names: bool) -> None:
    """Lint FILE (default: the built-in seed-000 plan) against Meta's rules.

    Prints every finding with its rule and source; exits 1 when there is an error.
    """
    console = Console(highlight=False)
    try:
        loaded = load_file(file) if file is not None else default_plan()
    except PlanError as exc:
        _print(console, "cannot load the plan", [("", f) for f in _findings(exc)])
        raise SystemExit(1) from None
    findings = check_plan(loaded, strict_names=strict_names)
    _print(console, loaded.name, [(loaded.where(f.path), f) for f in findings])
    if any(f.is_error for f in findings):
        raise SystemExit(1)


def _findings(exc: PlanError) -> list[Finding]:
    return [f for f in exc.findings if isinstance(f, Finding)]


def _print(console: Console, title: str, rows: list[tuple[str, Finding]]) -> None:
    errors = sum(f.is_error for _, f in rows)
    warnings = len(rows) - errors
    if rows:
        table = Table(title=title, show_lines=False)
        table.add_column("severity")
        table.add_column("where", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("message")
        table.add_column("source", no_wrap=True)
        for where, f in rows:
            severity = f.severity.value
            table.add_row(
                severity, where or f.path, f.rule, f.message, f.spec, style=_STYLES[severity]
            )
        console.print(table)
    verdict = "FAILED" if errors else "ok"
    console.print(f"{title}: {verdict}: {errors} error(s), {warnings} warning(s)")
