"""``capigate migrate [--db URL]``: bring the store's schema up to date."""

from __future__ import annotations

import asyncio
import re

import click

from capigate.errors import ConfigError, StoreError
from capigate.store import DEFAULT_DB_URL, open_store

_PASSWORD = re.compile(r"(://[^:/@]+):[^@]*@")


@click.command("migrate")
@click.option(
    "--db",
    "db_url",
    envvar="CAPIGATE_DB",
    show_envvar=True,
    default=DEFAULT_DB_URL,
    show_default=True,
    help="Store URL: sqlite:///path/to/file.db or postgresql://user@host/db.",
)
def migrate(db_url: str) -> None:
    """Apply pending schema migrations (the gateway also applies them at start-up)."""
    shown = _PASSWORD.sub(r"\1:***@", db_url)
    try:
        applied = asyncio.run(_migrate(db_url))
    except (ConfigError, StoreError) as exc:
        raise click.ClickException(f"{shown}: {exc}") from None
    if applied:
        click.echo(f"{shown}: applied {', '.join(applied)}")
    else:
        click.echo(f"{shown}: schema is up to date")


async def _migrate(db_url: str) -> list[str]:
    store = open_store(db_url)
    try:
        return await store.migrate()
    finally:
        await store.close()
