"""Where the PostgreSQL tests find their server, and what happens when there is none.

``CAPIGATE_TEST_PG`` names a DSN; the default is this project's CI server. Without a reachable
server the tests skip with the reason, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

DEFAULT_TEST_PG = "postgresql://postgres@127.0.0.1:5432/test"


def pg_dsn() -> str:
    """The test DSN, or skip (fail under CI) when no server answers."""
    dsn = os.environ.get("CAPIGATE_TEST_PG", DEFAULT_TEST_PG)
    url = urlparse(dsn)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 5432), timeout=1):
            pass
    except OSError as exc:
        reason = f"no PostgreSQL at {url.hostname}:{url.port or 5432} ({exc}); set CAPIGATE_TEST_PG"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return dsn
