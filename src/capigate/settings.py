"""One ``Settings`` object, read once at start-up: ``capigate.yaml`` plus ``CAPIGATE_*`` overrides.

Precedence, highest first: command-line flags, ``CAPIGATE_<KEY>`` environment variables, the
YAML file (``--config`` or ``CAPIGATE_CONFIG``, else ``./capigate.yaml`` when it exists), the
defaults below. Secrets (Meta access tokens, server source keys, the Telegram bot token) are
read only from the environment or from a secrets file of ``NAME=value`` lines; the YAML names
the variable (``token_env``, ``key_env``), never the value. Every problem raises
``ConfigError`` naming the setting and the rule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from capigate import enrich
from capigate.attribution.config import AttributionSettings, parse_attribution
from capigate.errors import ConfigError
from capigate.housekeeping.config import (
    DEFAULT_HOUSEKEEPING,
    HousekeepingSettings,
    parse_housekeeping,
)
from capigate.secret import Secret
from capigate.settings_sources import Secrets, parse_sources, read_secrets_file
from capigate.sources import DEV_SOURCE, Source
from capigate.telegram import DEFAULT_INIT_DATA_MAX_AGE_S
from capigate.worker.config import WorkerSettings, parse_worker
from capigate.worker.routing import Route, parse_routes

ENV_PREFIX = "CAPIGATE_"
CONFIG_ENV = "CAPIGATE_CONFIG"
DEFAULT_CONFIG_FILE = "capigate.yaml"
DEFAULT_DB_URL = "sqlite:///./capigate.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v25.0"
DEFAULT_MAX_BODY_BYTES = 2_000_000  # bytes: 1,000 events of about 2 KB each
DEFAULT_OUTBOX_HIGH_WATER = 1_000_000  # events waiting for delivery before ingest answers 503
DEFAULT_BACKPRESSURE_RETRY_AFTER_S = 5  # seconds, sent as Retry-After with that 503
META_TOKEN_ENV = "CAPIGATE_META_ACCESS_TOKEN"
TELEGRAM_TOKEN_ENV = "CAPIGATE_TELEGRAM_BOT_TOKEN"
SANDBOX_PIXEL_ID = "100000000000001"  # any numeric id works with the emulator
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_WORKER = WorkerSettings()
DEFAULT_ATTRIBUTION = AttributionSettings()


@dataclass(frozen=True, slots=True)
class Pixel:
    """A Meta dataset (pixel) and the token that may write to it (None in sandbox mode)."""

    id: str
    access_token: Secret | None
    token_env: str
    test_event_code: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway is configured with; build it with ``load()``."""

    db_url: str = DEFAULT_DB_URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1  # serve processes sharing the port (each with its own rate limits)
    config_path: str | None = None
    pixels: tuple[Pixel, ...] = (Pixel(SANDBOX_PIXEL_ID, None, META_TOKEN_ENV),)
    sources: tuple[Source, ...] = ()
    trusted_proxies: tuple[enrich.IPNetwork, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    outbox_high_water: int = DEFAULT_OUTBOX_HIGH_WATER
    backpressure_retry_after_s: int = DEFAULT_BACKPRESSURE_RETRY_AFTER_S
    test_event_code: str | None = None
    telegram_bot_token: Secret | None = None
    init_data_max_age_s: int = DEFAULT_INIT_DATA_MAX_AGE_S
    graph_url: str = DEFAULT_GRAPH_URL
    graph_version: str = DEFAULT_GRAPH_VERSION
    plan_path: str | None = None
    log_level: str = "INFO"
    worker: WorkerSettings = DEFAULT_WORKER
    routes: tuple[Route, ...] = ()
    # named secrets (webhook keys the plan names), read from the environment or secrets file
    secrets: Secrets = field(default_factory=lambda: Secrets({}, {}), compare=False, repr=False)
    attribution: AttributionSettings = DEFAULT_ATTRIBUTION
    housekeeping: HousekeepingSettings = DEFAULT_HOUSEKEEPING

    @property
    def sandbox(self) -> bool:
        """No Meta access token: events go to the in-process emulator."""
        return all(p.access_token is None for p in self.pixels)

    @property
    def default_pixel(self) -> Pixel:
        return self.pixels[0]

    def pixel(self, pixel_id: str | None) -> Pixel:
        """The pixel with this id (the default pixel for None)."""
        if pixel_id is None:
            return self.default_pixel
        return next(p for p in self.pixels if p.id == pixel_id)


def _parse_str(name: str, value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"{name}: must be a non-empty string")
    return str(value).strip()


def _int_at_least(minimum: int, maximum: int = 2**31) -> Callable[[str, Any], int]:
    def parse(name: str, value: Any) -> int:
        try:
            number = int(str(value).strip()) if not isinstance(value, bool | float) else None
        except ValueError:
            number = None
        if number is None or not minimum <= number <= maximum:
            raise ConfigError(f"{name}: must be a whole number from {minimum} to {maximum}")
        return number

    return parse


def _parse_pattern(pattern: str, rule: str) -> Callable[[str, Any], str]:
    regex = re.compile(pattern)

    def parse(name: str, value: Any) -> str:
        text = _parse_str(name, value)
        if not regex.fullmatch(text):
            raise ConfigError(f"{name}: {rule}")
        return text

    return parse


def _parse_db(name: str, value: Any) -> str:
    url = _parse_str(name, value)
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://", "memory://")):
        raise ConfigError(f"{name}: must start with sqlite:///, postgresql:// or memory://")
    return url


def _parse_proxies(name: str, value: Any) -> tuple[enrich.IPNetwork, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{name}: must be a list of CIDRs (comma-separated in the environment)")
    try:
        return enrich.parse_networks([v for v in items if v.strip()])
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _parse_level(name: str, value: Any) -> str:
    level = _parse_str(name, value).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{name}: must be one of {', '.join(LOG_LEVELS)}")
    return level


# YAML key -> parser; each can be overridden by CAPIGATE_<KEY upper-cased>.
_SCALARS: dict[str, Callable[[str, Any], Any]] = {
    "db": _parse_db,
    "host": _parse_str,
    "port": _int_at_least(1, 65_535),
    "workers": _int_at_least(1, 64),
    "pixel_id": _parse_pattern(r"\d{1,20}", "must be a numeric Meta pixel (dataset) id"),
    "trusted_proxies": _parse_proxies,
    "max_body_bytes": _int_at_least(1_024),
    "outbox_high_water": _int_at_least(1),
    "backpressure_retry_after_s": _int_at_least(1, 3_600),
    "test_event_code": _parse_pattern(
        r"[A-Za-z0-9_-]{1,64}", "must be 1-64 letters, digits, _ or -"
    ),
    "init_data_max_age_s": _int_at_least(60),
    "graph_url": _parse_pattern(r"https?://\S+", "must be an http:// or https:// URL"),
    "graph_version": _parse_pattern(r"v\d+\.\d+", "must look like v25.0"),
    "plan": _parse_str,
    "log_level": _parse_level,
    "secrets_file": _parse_str,
}
_LISTS = ("pixels", "sources")
_SECTIONS = ("worker", "routes", "attribution", "housekeeping")  # parsed by their own modules
_SECRET_LOOKALIKES = ("access_token", "token", "meta_access_token", "telegram_bot_token")
_FIELD_FOR_KEY = {"db": "db_url", "plan": "plan_path"}


def load(
    *,
    config_path: str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the YAML file, the environment and ``overrides`` (CLI flags) into ``Settings``."""
    env = os.environ if environ is None else environ
    path = config_path or env.get(CONFIG_ENV)
    raw, path = _read_yaml(path)
    values = _scalars(raw, env, {k: v for k, v in (overrides or {}).items() if v is not None})
    secrets = Secrets(env, read_secrets_file(values.pop("secrets_file", None)))
    pixels = _pixels(raw.get("pixels"), values.pop("pixel_id", None), secrets)
    sources = parse_sources(raw.get("sources"), secrets, {p.id for p in pixels})
    if not sources:
        if any(p.access_token is not None for p in pixels):
            raise ConfigError(
                "sources: none configured; a gateway with a Meta access token needs sources "
                "with keys (only sandbox mode has the keyless dev source)"
            )
        sources = (DEV_SOURCE,)
    fields = {_FIELD_FOR_KEY.get(k, k): v for k, v in values.items()}
    return Settings(
        config_path=path,
        pixels=pixels,
        sources=sources,
        secrets=secrets,
        telegram_bot_token=secrets.get(TELEGRAM_TOKEN_ENV),
        worker=parse_worker(raw.get("worker"), env),
        attribution=parse_attribution(raw.get("attribution"), env),
        housekeeping=parse_housekeeping(raw.get("housekeeping"), env),
        routes=parse_routes(
            raw.get("routes"),
            pixel_ids={p.id for p in pixels},
            source_names={s.name for s in sources},
        ),
        **fields,
    )


def _read_yaml(path: str | None) -> tuple[dict[str, Any], str | None]:
    if path is None:
        if not Path(DEFAULT_CONFIG_FILE).is_file():
            return {}, None
        path = DEFAULT_CONFIG_FILE
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read it ({exc.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML ({exc})") from None
    if raw is None:
        return {}, path
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: must be a mapping of settings")
    _reject_unknown(raw, path)
    return raw, path


def _reject_unknown(raw: dict[str, Any], path: str) -> None:
    for key in raw:
        if key in _SECRET_LOOKALIKES:
            raise ConfigError(
                f"{key}: secrets may not be written in {path}; set {META_TOKEN_ENV} or "
                f"{TELEGRAM_TOKEN_ENV} in the environment or a secrets file"
            )
        if key not in _SCALARS and key not in _LISTS and key not in _SECTIONS:
            known = ", ".join(sorted([*_SCALARS, *_LISTS, *_SECTIONS]))
            raise ConfigError(f"{key}: unknown setting in {path} (known: {known})")


def _scalars(
    raw: Mapping[str, Any], env: Mapping[str, str], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, parse in _SCALARS.items():
        env_name = ENV_PREFIX + key.upper()
        if key in overrides:
            values[key] = parse(f"--{key.replace('_', '-')}", overrides[key])
        elif env_name in env:
            values[key] = parse(env_name, env[env_name])
        elif raw.get(key) is not None:
            values[key] = parse(key, raw[key])
    return values


def _pixels(raw: Any, pixel_id: str | None, secrets: Secrets) -> tuple[Pixel, ...]:
    if raw is None:
        token = secrets.get(META_TOKEN_ENV)
        if pixel_id is None:
            if token is not None:
                raise ConfigError(
                    f"pixel_id: {META_TOKEN_ENV} is set but no pixel is; set CAPIGATE_PIXEL_ID"
                )
            return (Pixel(SANDBOX_PIXEL_ID, None, META_TOKEN_ENV),)
        return (Pixel(pixel_id, token, META_TOKEN_ENV),)
    if not isinstance(raw, list) or not raw:
        raise ConfigError("pixels: must be a non-empty list of {id, token_env, test_event_code}")
    pixels = tuple(_pixel(i, entry, secrets) for i, entry in enumerate(raw))
    _check_pixels(pixels)
    return pixels


def _pixel(index: int, entry: Any, secrets: Secrets) -> Pixel:
    where = f"pixels[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a mapping with id, token_env, test_event_code")
    for key in entry:
        if key in _SECRET_LOOKALIKES:
            raise ConfigError(
                f"{where}.{key}: put the token in the environment, name it in token_env"
            )
        if key not in ("id", "token_env", "test_event_code"):
            raise ConfigError(f"{where}.{key}: unknown (known: id, token_env, test_event_code)")
    pixel_id = _SCALARS["pixel_id"](f"{where}.id", entry.get("id", ""))
    token_env = _parse_pattern(r"[A-Z][A-Z0-9_]*", "must be an environment variable name")(
        f"{where}.token_env", entry.get("token_env", META_TOKEN_ENV)
    )
    code = entry.get("test_event_code")
    if code is not None:
        code = _SCALARS["test_event_code"](f"{where}.test_event_code", code)
    return Pixel(pixel_id, secrets.get(token_env), token_env, code)


def _check_pixels(pixels: tuple[Pixel, ...]) -> None:
    ids = [p.id for p in pixels]
    if len(set(ids)) != len(ids):
        raise ConfigError("pixels: the same id is listed twice")
    with_token = [p for p in pixels if p.access_token is not None]
    if with_token and len(with_token) != len(pixels):
        missing = next(p for p in pixels if p.access_token is None)
        raise ConfigError(
            f"pixels: pixel {missing.id} has no token in {missing.token_env} while others do "
            "(set it, or set no token at all for sandbox mode)"
        )
