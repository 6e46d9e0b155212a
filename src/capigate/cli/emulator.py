"""``capigate emulator``: the Meta Graph API emulator on its own port, under uvicorn."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import click
import yaml

from capigate.emulator import EmulatorConfig, create_app
from capigate.errors import ConfigError

TOKENS_ENV = "CAPIGATE_EMULATOR_ACCESS_TOKENS"
APP_SECRET_ENV = "CAPIGATE_EMULATOR_APP_SECRET"


@click.command("emulator")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    envvar="CAPIGATE_EMULATOR_HOST",
    help="Interface to listen on [env CAPIGATE_EMULATOR_HOST].",
)
@click.option(
    "--port",
    default=8099,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="CAPIGATE_EMULATOR_PORT",
    help="Port [env CAPIGATE_EMULATOR_PORT].",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    envvar="CAPIGATE_EMULATOR_CONFIG",
    help="YAML/JSON file of emulator settings (EmulatorConfig field names).",
)
@click.option(
    "--pixel-id",
    "pixel_ids",
    multiple=True,
    help="Accept only this pixel/dataset id (repeatable); default: any numeric id.",
)
@click.option(
    "--unhashed-pii",
    type=click.Choice(["warn", "reject"]),
    help="What to do with user_data that is not SHA-256 [default: warn].",
)
@click.option(
    "--business-messaging",
    "bm_mode",
    type=click.Choice(["official", "strict"]),
    help="Business-messaging event allowlist [default: official].",
)
@click.option("--seed", type=int, help="Seed for fbtrace_id values (reproducible runs).")
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def emulator(
    *,
    host: str,
    port: int,
    config_path: str | None,
    pixel_ids: tuple[str, ...],
    unhashed_pii: str | None,
    bm_mode: str | None,
    seed: int | None,
    log_level: str,
) -> None:
    """Run the Meta Conversions API emulator: POST /{version}/{pixel_id}/events.

    Control endpoints: GET/DELETE /__emulator__/events, GET /__emulator__/requests,
    GET/POST/DELETE /__emulator__/faults. Accepted access tokens come from
    CAPIGATE_EMULATOR_ACCESS_TOKENS (comma-separated; default: any non-empty token), the app
    secret for appsecret_proof from CAPIGATE_EMULATOR_APP_SECRET.
    """
    import uvicorn

    settings = _settings(config_path, pixel_ids, unhashed_pii, bm_mode)
    try:
        config = EmulatorConfig.from_mapping(settings)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc
    app = create_app(config, rng=random.Random(seed))
    click.echo(
        f"capigate emulator on http://{host}:{port}: POST /{{version}}/{{pixel_id}}/events; "
        f"recorded events at /__emulator__/events"
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off")


def _settings(
    config_path: str | None,
    pixel_ids: tuple[str, ...],
    unhashed_pii: str | None,
    bm_mode: str | None,
) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if config_path:
        loaded = yaml.safe_load(Path(config_path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise click.UsageError(f"{config_path}: expected a mapping of emulator settings")
        settings.update(loaded)
    overrides = {
        "pixel_ids": list(pixel_ids) or None,
        "unhashed_pii": unhashed_pii,
        "business_messaging_mode": bm_mode,
    }
    settings.update({key: value for key, value in overrides.items() if value is not None})
    if os.environ.get(TOKENS_ENV):
        tokens = [t.strip() for t in os.environ[TOKENS_ENV].split(",") if t.strip()]
        settings["access_tokens"] = tokens
    if os.environ.get(APP_SECRET_ENV):
        settings["app_secret"] = os.environ[APP_SECRET_ENV]
    return settings
