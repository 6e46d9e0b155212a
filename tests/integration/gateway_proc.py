"""``capigate serve`` as a real process on a free loopback port, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from capigate.store import StoredEvent, open_store
from tests.contract.pg_schema import with_search_path
from tests.pg import pg_dsn

STARTUP_TIMEOUT_S = 30.0
BOT_KEY = "sk_bot_it_0123456789abcdef"
PAY_KEY = "sk_pay_it_0123456789abcdef"
WEB_KEY = "pk_web_it_0123456789abcdef"
ORIGIN = "https://example.com"
BOT_TOKEN = "123456:AAE-integration-token"
INGEST = "/api/marketing/meta"

CONFIG = f"""
trusted_proxies: [127.0.0.1/32, "::1"]
sources:
  - {{name: bot, kind: server, channel: bot, key_env: IT_BOT_KEY}}
  - {{name: pay, kind: server, channel: server, key_env: IT_PAY_KEY}}
  - name: web
    kind: browser
    key: {WEB_KEY}
    origins: ["{ORIGIN}"]
    rate_per_s: 0.05
    rate_burst: 5
"""


@dataclass
class Gateway:
    """A running gateway process: its base URL, store URL and log file."""

    url: str
    db_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def stored(self) -> list[StoredEvent]:
        """Every stored event, read through a second connection to the same database."""

        async def read() -> list[StoredEvent]:
            store = open_store(self.db_url)
            try:
                return await store.list_events(limit=10_000)
            finally:
                await store.close()

        return asyncio.run(read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    db_url: str,
    workdir: Path,
    *,
    extra_config: str = "",
    workers: int = 1,
    base_config: str = CONFIG,
    **env: str,
) -> Iterator[Gateway]:
    """Start ``capigate serve`` (with ``workers`` processes) on ``base_config`` plus
    ``extra_config``; stop it (and wait) on exit."""
    config = workdir / "capigate.yaml"
    config.write_text(base_config + extra_config)
    port = free_port()
    log_path = workdir / f"gateway-{port}.log"
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAPIGATE_")},
        "IT_BOT_KEY": BOT_KEY,
        "IT_PAY_KEY": PAY_KEY,
        "CAPIGATE_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        **env,
    }
    command = [sys.executable, "-m", "capigate", "serve", "--port", str(port)]
    command += ["--db", db_url, "--config", str(config), "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=environ, stdout=log, stderr=log, cwd=workdir)
    gateway = Gateway(f"http://127.0.0.1:{port}", db_url, log_path, process)
    try:
        _wait_up(gateway)
        yield gateway
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_up(gateway: Gateway) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise RuntimeError(f"gateway exited early:\n{gateway.log_path.read_text()}")
        try:
            if httpx.get(f"{gateway.url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"gateway did not start:\n{gateway.log_path.read_text()}")


@contextmanager
def pg_schema() -> Iterator[tuple[str, str]]:
    """(store URL, schema name) of a fresh PostgreSQL schema, dropped afterwards."""
    dsn = pg_dsn()
    schema = f"capigate_it_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(dsn, schema), schema
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A store URL of ``kind`` (``sqlite`` or ``postgres``), empty."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'gateway.db'}"
    else:
        with pg_schema() as (url, _):
            yield url


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def browser(ip: str, **extra: str) -> dict[str, str]:
    """Headers of a landing-page call, its client IP given through the trusted proxy."""
    return {"X-Capigate-Key": WEB_KEY, "Origin": ORIGIN, "X-Forwarded-For": ip, **extra}


def web_event(session: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "cta_click",
        "user": {"email": "it@example.com"},
        "properties": {"button_id": "open_tg"},
        "context": {"session_id": session, "page_url": f"{ORIGIN}/lp"},
        **extra,
    }


def bot_event(telegram_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "start_bot",
        "user": {"telegram_id": telegram_id, "phone": "+998 90 123 45 67"},
        "properties": {"language": "uz"},
        **extra,
    }
