"""The short way of ``normalize_user_data`` in C (``_cuserdata.c``); see ``normalize.userdata``."""

from collections.abc import Callable
from typing import Any

KEYS: tuple[str, ...]
SHA_NI: bool  # whether this CPU's SHA extensions are used

def normalize(
    raw: dict[str, Any],
    region: str | None,
    max_year: int,
    tables: dict[str, dict[object, str]],
    day_first: bool,
    /,
) -> dict[str, Any] | tuple[dict[str, Any]] | None: ...
def decide(key: str, value: str, day_first: bool, max_year: int, /) -> str | None: ...
def sha256_hex(data: bytes, sha_ni: bool, /) -> str: ...
def setup(
    fallback: Callable[
        [str, str, str | None, int, dict[str, dict[object, str]]], str | tuple[str] | None
    ],
    remember: Callable[[dict[object, str], object, str], None],
    states: dict[str, str],
    countries: dict[str, str],
    genders: dict[str, str],
    months: dict[str, int],
    fillers: frozenset[str],
    /,
) -> None: ...
