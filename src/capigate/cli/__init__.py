"""The ``capigate`` command line. Each command lives in its own module and is imported lazily."""

from __future__ import annotations

import importlib
from typing import Any

import click

from capigate import __version__

# command name -> "module:attribute"; modules are imported only when their command runs.
_COMMANDS: dict[str, str] = {
    "plan": "capigate.cli.plan:plan",
    "serve": "capigate.cli.serve:serve",
    "emulator": "capigate.cli.emulator:emulator",
    "migrate": "capigate.cli.migrate:migrate",
    "worker": "capigate.cli.worker:worker",
    "replay": "capigate.cli.replay:replay_command",
    "send": "capigate.cli.send:send",
    "demo": "capigate.cli.demo:demo",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _COMMANDS:
            module_name, attr = _COMMANDS[cmd_name].split(":")
            command: Any = getattr(importlib.import_module(module_name), attr)
            return command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="capigate")
def cli() -> None:
    """capigate: a self-hosted Meta Conversions API gateway.

    Configuration comes from capigate.yaml (--config or CAPIGATE_CONFIG) and CAPIGATE_* variables.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="capigate")
