"""``capigate serve``: run the gateway under uvicorn."""

from __future__ import annotations

import click

from capigate.errors import GatewayError
from capigate.settings import Settings, load

_BANNER_WIDTH = 72


@click.command("serve")
@click.option("--host", help="Interface to listen on.  [env: CAPIGATE_HOST; default 127.0.0.1]")
@click.option("--port", type=int, help="TCP port.  [env: CAPIGATE_PORT; default 8000]")
@click.option(
    "--db",
    help="sqlite:///path/to/file.db or postgresql://...  "
    "[env: CAPIGATE_DB; default sqlite:///./capigate.db]",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="YAML settings file.  [env: CAPIGATE_CONFIG; default ./capigate.yaml if present]",
)
def serve(host: str | None, port: int | None, db: str | None, config: str | None) -> None:
    """Run the gateway: ingest API, health, metrics (and the emulator in sandbox mode)."""
    import uvicorn

    from capigate import logs
    from capigate.web.app import create_app

    try:
        settings = load(config_path=config, overrides={"host": host, "port": port, "db": db})
        logs.configure(settings.log_level)
        app = create_app(settings)
    except GatewayError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.sandbox:
        click.echo(sandbox_banner(settings), err=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
    )
    server.run()


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
