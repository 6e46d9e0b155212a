"""What the commands that run on the full ``Settings`` share: ``--db``, ``--config``, loading."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from capigate.errors import GatewayError
from capigate.settings import Settings, load

Command = TypeVar("Command", bound=Callable[..., Any])

_db_option = click.option(
    "--db",
    help="sqlite:///path/to/file.db or postgresql://...  "
    "[env: CAPIGATE_DB; default sqlite:///./capigate.db]",
)
_config_option = click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="YAML settings file.  [env: CAPIGATE_CONFIG; default ./capigate.yaml if present]",
)


def settings_options(command: Command) -> Command:
    """Add ``--db`` and ``--config`` (in that order) to a command."""
    return _db_option(_config_option(command))


def load_settings(config: str | None, overrides: Mapping[str, Any]) -> Settings:
    """The settings from ``--config``, the environment and the flags, with logging set up."""
    from capigate import logs

    settings = load(config_path=config, overrides=overrides)
    logs.configure(settings.log_level)
    return settings


@contextmanager
def gateway_errors() -> Iterator[None]:
    """Show a ``GatewayError`` as a one-line CLI error instead of a traceback."""
    try:
        yield
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
