"""Raw PII never reaches disk or logs: ingest known values over HTTP, then scan everything.

On SQLite the database file and its -wal/-shm files are scanned byte for byte (while the
gateway runs, and again after it stopped); on PostgreSQL the text of every row of every table.
The gateway's log (JSON lines at DEBUG level) is scanned too. Each value is looked for as sent
and in its normalized forms (lower case, digits only).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psycopg
import pytest

from capigate import telegram
from capigate.secret import Secret
from tests.integration.gateway_proc import (
    BOT_KEY,
    BOT_TOKEN,
    INGEST,
    bearer,
    browser,
    pg_schema,
    serve,
    web_event,
)
from tests.pg import pg_dsn

EMAIL = "Zebulonia.Quixotewell@PII-Probe.example"
EMAIL_2 = "rejected.Person@pii-probe.example"
PHONE = "+998 90 555 12 34"
PHONE_2 = "+1 650 555 0199"
FIRST, LAST = "Zebulonia", "Quixotewell"
FULL_NAME = "Ottoline Brackenbury"
CITY = "Xanthoriaville"
BIRTH = "1987-04-23"
INIT_FIRST, INIT_LAST, INIT_USERNAME = "Perpetua", "Fenwickshaw", "perpetua_probe"

RAW_VALUES = [EMAIL, EMAIL_2, PHONE, PHONE_2, FIRST, LAST, FULL_NAME, CITY, BIRTH]
RAW_VALUES += [INIT_FIRST, INIT_LAST, INIT_USERNAME]


def forbidden_forms() -> set[str]:
    """Every raw value as sent, lower-cased, and (phones, dates) as bare digits."""
    forms: set[str] = set()
    for value in RAW_VALUES:
        forms |= {value, value.lower()}
    for phone in (PHONE, PHONE_2):
        digits = "".join(c for c in phone if c.isdigit())
        forms |= {digits, digits[3:] if digits.startswith("998") else digits[1:]}
    forms |= {"19870423", *FULL_NAME.lower().split(), *FULL_NAME.split()}
    return forms


def ingest_known_pii(client: httpx.Client) -> None:
    """Send PII in every place a source may put it, accepted and refused."""
    now = int(time.time())
    user = {
        "telegram_id": "5550001",
        "email": EMAIL,
        "phone": PHONE,
        "first_name": FIRST,
        "last_name": LAST,
        "city": CITY,
        "date_of_birth": BIRTH,
    }
    start = {"event": "start_bot", "event_time": now, "user": user}
    onboarding_name = {
        "event": "onboarding_name",
        "user": {"telegram_id": "5550001"},
        "properties": {"user_name": FULL_NAME},
    }
    onboarding_phone = {
        "event": "onboarding_phone",
        "user": {"telegram_id": "5550001"},
        "properties": {"phone_number": PHONE_2},
    }
    for body in (start, {"batch": [onboarding_name, onboarding_phone]}, start):
        response = client.post(INGEST, json=body, headers=bearer(BOT_KEY))
        assert response.status_code == 202, response.text
    refused = {"batch": [{**start, "user": {**user, "email": EMAIL_2}}, {"event": "nope"}]}
    assert client.post(INGEST, json=refused, headers=bearer(BOT_KEY)).status_code == 422
    fields = {
        "auth_date": str(now),
        "user": json.dumps(
            {"id": 5550002, "first_name": INIT_FIRST, "last_name": INIT_LAST,
             "username": INIT_USERNAME}
        ),
    }  # fmt: skip
    init_data = urlencode({**fields, "hash": telegram.sign(fields, Secret(BOT_TOKEN))})
    web = web_event("pii-session", user={"email": EMAIL, "telegram_id": "5550002"})
    headers = browser("198.51.100.60", **{"X-Telegram-Init-Data": init_data})
    response = client.post(INGEST, json=web, headers=headers)
    assert response.status_code == 202, response.text
    malformed = f'{{"event": "start_bot", "user": {{"email": "{EMAIL}"'.encode()
    assert client.post(INGEST, content=malformed, headers=bearer(BOT_KEY)).status_code == 400


def leaks(blob: bytes, where: str) -> list[str]:
    text = blob.decode("utf-8", errors="replace")
    return [f"{form!r} in {where}" for form in sorted(forbidden_forms()) if form in text]


def sqlite_leaks(db_path: Path) -> list[str]:
    found: list[str] = []
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            found += leaks(path.read_bytes(), path.name)
    return found


def test_no_raw_pii_in_sqlite_files_or_logs(tmp_path: Path) -> None:
    """SQLite: database, WAL, shared memory and the JSON log hold no raw PII."""
    db_path = tmp_path / "pii.db"
    with serve(f"sqlite:///{db_path}", tmp_path, CAPIGATE_LOG_LEVEL="DEBUG") as gateway:
        with gateway.client() as client:
            ingest_known_pii(client)
        files = [Path(f"{db_path}{suffix}") for suffix in ("", "-wal")]
        assert b"cta_pii-session" in b"".join(p.read_bytes() for p in files)  # scan sees data
        running_leaks = sqlite_leaks(db_path)
        stored = gateway.stored()
    assert len(stored) == 4  # start_bot, two onboarding steps, cta_click
    log = gateway.log_path.read_bytes()
    assert b"ingest refused" in log  # the log really captured the run
    assert running_leaks == []
    assert sqlite_leaks(db_path) == []
    assert leaks(log, "gateway log") == []


@pytest.mark.postgres
def test_no_raw_pii_in_postgres_tables_or_logs(tmp_path: Path) -> None:
    """PostgreSQL: the text of every row of every table, and the log, hold no raw PII."""
    with pg_schema() as (url, schema):
        with (
            serve(url, tmp_path, CAPIGATE_LOG_LEVEL="DEBUG") as gateway,
            gateway.client() as client,
        ):
            ingest_known_pii(client)
        dumped = dump_schema(schema)
        assert len(gateway.stored()) == 4
    assert "pii-session" in dumped  # the scan really sees the events
    assert leaks(dumped.encode(), f"schema {schema}") == []
    assert leaks(gateway.log_path.read_bytes(), "gateway log") == []


def dump_schema(schema: str) -> str:
    """Every row of every table in ``schema`` as JSON text."""
    with psycopg.connect(pg_dsn()) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        assert tables
        rows = []
        for table in tables:
            query = f'SELECT row_to_json(t)::text FROM "{schema}"."{table}" t'
            rows += [row[0] for row in conn.execute(query)]  # type: ignore[arg-type]
    return "\n".join(rows)
