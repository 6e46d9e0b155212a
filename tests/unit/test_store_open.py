"""open_store picks the implementation from the URL and explains a URL it cannot use."""

from __future__ import annotations

import pytest

from capigate.errors import ConfigError
from capigate.store import InMemoryStore, open_store


def test_memory_url_opens_the_in_memory_store() -> None:
    """memory:// needs no file and no server."""
    assert isinstance(open_store("memory://"), InMemoryStore)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("capigate.db", "has no scheme"),
        ("mysql://localhost/db", "'mysql' is not supported"),
        ("sqlite:///:memory:", "use memory://"),
        ("sqlite:///", "needs a file path"),
        ("sqlite:///x.db?journal=off", "unknown option"),
        ("sqlite:///x.db?synchronous=off", "synchronous must be one of"),
    ],
)
def test_unusable_urls_are_config_errors(url: str, message: str) -> None:
    """Each unusable URL fails at start-up with a message naming the problem."""
    with pytest.raises(ConfigError, match=message):
        open_store(url)
