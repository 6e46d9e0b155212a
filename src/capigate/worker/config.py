"""The ``worker:`` section of ``capigate.yaml`` and its ``CAPIGATE_WORKER_*`` overrides.

Every key may be set in the YAML section or as ``CAPIGATE_WORKER_<KEY>`` (the environment
wins)::

    worker:
      enabled: true            # capigate serve runs the worker in-process
      flush_interval_s: 1      # a partial batch leaves once its oldest event waited this long
      batch_size: 1000         # events per Graph request (Meta's cap is 1,000)
      lease_s: 120             # a batch not settled by then is due again (worker died)
      concurrency: 2           # batches in flight per pixel
      poll_interval_s: 0.2     # idle wait between looks at the outbox
      retry_base_delay_s: 2    # first backoff; doubles per attempt up to retry_max_delay_s
      ...

Pure: parses values handed in, reads no environment of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from capigate.errors import ConfigError
from capigate.retry import RetryPolicy

ENV_PREFIX = "CAPIGATE_WORKER_"
MAX_BATCH_EVENTS = 1000  # Meta refuses a request with more events (spec §1.2)
MIN_LEASE_S = 5.0
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How the delivery worker batches, leases, retries and probes."""

    enabled: bool = True
    flush_interval_s: float = 1.0
    batch_size: int = MAX_BATCH_EVENTS
    lease_s: float = 120.0
    concurrency: int = 2
    poll_interval_s: float = 0.2
    retry_base_delay_s: float = 2.0
    retry_max_delay_s: float = 15 * 60.0
    retry_max_attempts: int = 20
    retry_jitter: float = 0.25
    retry_max_wait_s: float = 3600.0
    rate_limit_min_delay_s: float = 60.0
    probe_base_delay_s: float = 30.0
    probe_max_delay_s: float = 15 * 60.0

    def policy(self) -> RetryPolicy:
        """The retry policy these settings describe."""
        return RetryPolicy(
            base_delay_s=self.retry_base_delay_s,
            max_delay_s=self.retry_max_delay_s,
            jitter=self.retry_jitter,
            max_attempts=self.retry_max_attempts,
            max_retry_after_s=self.retry_max_wait_s,
            rate_limit_min_delay_s=self.rate_limit_min_delay_s,
            probe_base_delay_s=self.probe_base_delay_s,
            probe_max_delay_s=self.probe_max_delay_s,
        )


def _number(low: float, high: float) -> Callable[[str, Any], float]:
    def parse(name: str, value: Any) -> float:
        try:
            number = float(value) if not isinstance(value, bool) else None
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise ConfigError(f"{name}: must be a number from {low:g} to {high:g}")
        return number

    return parse


def _whole(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(name: str, value: Any) -> int:
        text = str(value).strip()
        if isinstance(value, bool | float) or not text.isdigit() or not low <= int(text) <= high:
            raise ConfigError(f"{name}: must be a whole number from {low} to {high}")
        return int(text)

    return parse


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in (*_TRUE, *_FALSE):
        raise ConfigError(f"{name}: must be true or false")
    return text in _TRUE


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "enabled": _flag,
    "flush_interval_s": _number(0, 3600),
    "batch_size": _whole(1, MAX_BATCH_EVENTS),
    "lease_s": _number(MIN_LEASE_S, 24 * 3600),
    "concurrency": _whole(1, 64),
    "poll_interval_s": _number(0.01, 60),
    "retry_base_delay_s": _number(0.01, 3600),
    "retry_max_delay_s": _number(0.01, 24 * 3600),
    "retry_max_attempts": _whole(1, 1000),
    "retry_jitter": _number(0, 1),
    "retry_max_wait_s": _number(0, 24 * 3600),
    "rate_limit_min_delay_s": _number(0, 3600),
    "probe_base_delay_s": _number(0.01, 3600),
    "probe_max_delay_s": _number(0.01, 24 * 3600),
}


def parse_worker(raw: Any, environ: Mapping[str, str]) -> WorkerSettings:
    """``WorkerSettings`` from the YAML ``worker:`` mapping (or None) and the environment."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError("worker: must be a mapping of worker settings")
    unknown = sorted(set(raw) - set(_PARSERS))
    if unknown:
        raise ConfigError(f"worker.{unknown[0]}: unknown (known: {', '.join(_PARSERS)})")
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        env_name = ENV_PREFIX + key.upper()
        if env_name in environ:
            values[key] = parse(env_name, environ[env_name])
        elif raw.get(key) is not None:
            values[key] = parse(f"worker.{key}", raw[key])
    settings = WorkerSettings(**values)
    if settings.retry_max_delay_s < settings.retry_base_delay_s:
        raise ConfigError("worker.retry_max_delay_s: must be at least retry_base_delay_s")
    settings.policy()  # the policy's own checks
    return settings
