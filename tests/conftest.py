from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see the developer's CAPIGATE_* settings."""
    for key in list(os.environ):
        if key.startswith("CAPIGATE_") and key != "CAPIGATE_TEST_PG":
            monkeypatch.delenv(key)
    yield
