"""The ``sources:`` section of ``capigate.yaml`` and the secrets its keys come from.

A source's key is never written in the YAML, except a browser key, which is public anyway.
Server keys come from the environment variable named by ``key_env`` (default
``CAPIGATE_SOURCE_<NAME>_KEY``) or from the secrets file; ``key_sha256`` lists digests instead.
Only the SHA-256 digest of a key is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capigate.errors import ConfigError
from capigate.plan.model import SOURCE_KINDS
from capigate.secret import Secret
from capigate.sources import Source, SourceKind, hash_key

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_TEST_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_KEYS = frozenset(
    {
        "name", "kind", "channel", "key", "key_env", "key_sha256", "origins", "events",
        "request_context", "pixel", "test_event_code", "rate_per_s", "rate_burst",
    }
)  # fmt: skip
MIN_KEY_CHARS = 16


class Secrets:
    """Secret values by variable name: the environment first, then the secrets file."""

    def __init__(self, environ: Mapping[str, str], file_values: Mapping[str, str]) -> None:
        self._environ = environ
        self._file = file_values

    def get(self, name: str) -> Secret | None:
        value = self._environ.get(name) or self._file.get(name)
        return Secret(value.strip()) if value and value.strip() else None


def read_secrets_file(path: str | None) -> dict[str, str]:
    """``NAME=value`` lines (``#`` comments, blank lines allowed) from ``path``."""
    if path is None:
        return {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"secrets_file {path}: cannot read it ({exc.strerror})") from None
    values: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, value = text.partition("=")
        if not sep or not _ENV_NAME.fullmatch(name.strip()):
            raise ConfigError(f"secrets_file {path} line {number}: must be NAME=value")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def parse_sources(raw: Any, secrets: Secrets, pixel_ids: set[str]) -> tuple[Source, ...]:
    """The configured sources, each checked; ``()`` when the section is absent."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("sources: must be a list of sources")
    sources = tuple(_source(f"sources[{i}]", e, secrets, pixel_ids) for i, e in enumerate(raw))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError("sources: two sources have the same name")
    digests = [d for s in sources for d in s.key_digests]
    if len(set(digests)) != len(digests):
        raise ConfigError("sources: two sources share a key")
    return sources


def _source(where: str, entry: Any, secrets: Secrets, pixel_ids: set[str]) -> Source:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a mapping with at least name and kind")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown (known: {', '.join(sorted(_KEYS))})")
    name = _match(f"{where}.name", entry.get("name"), _NAME, "must be 1-40 of a-z 0-9 _ -")
    where = f"sources[{name}]"
    kind = _kind(where, entry.get("kind"))
    browser = kind is SourceKind.BROWSER
    pixel = entry.get("pixel")
    if pixel is not None and str(pixel) not in pixel_ids:
        raise ConfigError(f"{where}.pixel: {pixel} is not one of the configured pixels")
    return Source(
        name=name,
        kind=kind,
        key_digests=_digests(where, name, entry, kind, secrets),
        channel=_channel(where, entry.get("channel"), name, kind),
        origins=_origins(where, entry.get("origins"), required=browser),
        events=_events(where, entry.get("events")),
        request_context=_bool(f"{where}.request_context", entry.get("request_context", browser)),
        pixel_id=None if pixel is None else str(pixel),
        test_event_code=_code(f"{where}.test_event_code", entry.get("test_event_code")),
        rate_per_s=_positive(f"{where}.rate_per_s", entry.get("rate_per_s", 2.0)),
        rate_burst=int(_positive(f"{where}.rate_burst", entry.get("rate_burst", 20))),
    )


def _channel(where: str, value: Any, name: str, kind: SourceKind) -> str:
    """The plan's name for this kind of sender; defaults from the name, then the kind."""
    if value is None:
        if name in SOURCE_KINDS:
            return name
        return "website" if kind is SourceKind.BROWSER else "server"
    if value not in SOURCE_KINDS:
        raise ConfigError(f"{where}.channel: must be one of {', '.join(sorted(SOURCE_KINDS))}")
    return str(value)


def _kind(where: str, value: Any) -> SourceKind:
    try:
        return SourceKind(value)
    except ValueError:
        raise ConfigError(f"{where}.kind: must be 'server' or 'browser'") from None


def _digests(
    where: str, name: str, entry: Mapping[str, Any], kind: SourceKind, secrets: Secrets
) -> tuple[bytes, ...]:
    if "key" in entry and kind is SourceKind.SERVER:
        raise ConfigError(
            f"{where}.key: a server key is secret; put it in the environment and name it in key_env"
        )
    listed = entry.get("key_sha256")
    if listed is not None:
        values = listed if isinstance(listed, list) else [listed]
        for value in values:
            _match(f"{where}.key_sha256", value, _DIGEST, "must be 64 lowercase hex characters")
        return tuple(bytes.fromhex(v) for v in values)
    if "key" in entry:
        return (hash_key(_checked_key(f"{where}.key", str(entry["key"]))),)
    env_name = entry.get("key_env") or f"CAPIGATE_SOURCE_{name.upper().replace('-', '_')}_KEY"
    _match(f"{where}.key_env", env_name, _ENV_NAME, "must be an environment variable name")
    secret = secrets.get(env_name)
    if secret is None:
        raise ConfigError(f"{where}: no key; set {env_name} (environment or secrets file)")
    return (hash_key(_checked_key(env_name, secret.reveal())),)


def _checked_key(where: str, key: str) -> str:
    if len(key) < MIN_KEY_CHARS or any(c.isspace() for c in key):
        raise ConfigError(f"{where}: a key needs at least {MIN_KEY_CHARS} characters, no spaces")
    return key


def _origins(where: str, value: Any, *, required: bool) -> frozenset[str]:
    if value is None and not required:
        return frozenset()
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}.origins: a browser source needs a list of allowed origins")
    rule = "must be scheme://host[:port], e.g. https://example.com"
    return frozenset(
        _match(f"{where}.origins", str(o).rstrip("/"), _ORIGIN, rule).lower() for o in value
    )


def _events(where: str, value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}.events: must be a list of tracking-plan event keys")
    return frozenset(value)


def _code(where: str, value: Any) -> str | None:
    if value is None:
        return None
    return _match(where, value, _TEST_CODE, "must be 1-64 letters, digits, _ or -")


def _match(where: str, value: Any, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{where}: {rule}")
    return value


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false")
    return value


def _positive(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where}: must be a positive number")
    return float(value)
