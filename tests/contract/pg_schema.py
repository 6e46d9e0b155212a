"""A throw-away PostgreSQL schema per test, so store tests are isolated and repeatable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import psycopg

from tests.pg import pg_dsn


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` with every connection's search_path set to ``schema``."""
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-csearch_path={schema}')}"


@asynccontextmanager
async def pg_schema_url() -> AsyncIterator[str]:
    """A store URL on a fresh, empty schema, dropped again afterwards."""
    dsn = pg_dsn()
    schema = f"capigate_test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_search_path(dsn, schema)
    finally:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
