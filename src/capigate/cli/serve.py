"""``capigate serve``: run the gateway under uvicorn."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import click
import uvicorn

from capigate.cli.options import gateway_errors, load_settings, settings_options
from capigate.settings import Settings
from capigate.store import open_store

_BANNER_WIDTH = 72


@click.command("serve")
@click.option("--host", help="Interface to listen on.  [env: CAPIGATE_HOST; default 127.0.0.1]")
@click.option("--port", type=int, help="TCP port.  [env: CAPIGATE_PORT; default 8000]")
@settings_options
@click.option(
    "--workers",
    type=int,
    help="Processes sharing the port (for PostgreSQL; on SQLite they take turns writing); "
    "browser rate limits apply per process.  [env: CAPIGATE_WORKERS; default 1]",
)
def serve(
    host: str | None, port: int | None, db: str | None, config: str | None, workers: int | None
) -> None:
    """Run the gateway: ingest API, health, metrics (and the emulator in sandbox mode)."""
    from capigate.web.app import create_app

    overrides = {"host": host, "port": port, "db": db, "workers": workers}
    with gateway_errors():
        settings = load_settings(config, overrides)
        app = create_app(settings, serving=True)  # builds and checks all before listening
        if settings.workers > 1:
            asyncio.run(_migrate(settings.db_url))  # once, before the workers start
    if settings.sandbox:
        click.echo(sandbox_banner(settings), err=True)
    if settings.workers > 1:
        _run_workers(settings)
    else:
        uvicorn.Server(uvicorn.Config(app, **_server_options(settings))).run()


def _server_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        # uvicorn would otherwise take the client address from X-Forwarded-For of any loopback
        # peer; capigate believes that header only through its own trusted_proxies setting.
        "proxy_headers": False,
    }


def _run_workers(settings: Settings) -> None:
    """Start ``settings.workers`` processes that rebuild these settings from the environment."""
    if settings.config_path is not None:
        os.environ["CAPIGATE_CONFIG"] = settings.config_path
    os.environ["CAPIGATE_HOST"] = settings.host
    os.environ["CAPIGATE_PORT"] = str(settings.port)
    os.environ["CAPIGATE_DB"] = settings.db_url
    uvicorn.run(
        "capigate.web.app:app_from_environment",
        factory=True,
        workers=settings.workers,
        **_server_options(settings),
    )


async def _migrate(db_url: str) -> None:
    store = open_store(db_url)
    try:
        await store.migrate()
    finally:
        await store.close()


def sandbox_banner(settings: Settings) -> str:
    """The loud start-up notice that no event will reach Meta."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [
        "SANDBOX MODE: no Meta access token is configured.",
        f"Events go to the built-in emulator at {base}/__emulator__/",
        "and NEVER reach Meta. To go live, set CAPIGATE_PIXEL_ID and",
        "CAPIGATE_META_ACCESS_TOKEN (or pixels: in capigate.yaml).",
    ]
    if any(s.keyless for s in settings.sources):
        lines.append("Source 'dev' accepts requests without a key, from loopback only.")
    width = max(_BANNER_WIDTH, *(len(line) + 6 for line in lines))
    rule = "#" * width
    body = [f"#  {line:<{width - 6}}  #" for line in lines]
    return "\n".join([rule, *body, rule])
