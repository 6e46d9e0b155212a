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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capigate.config_section import Parser, flag, number, parse_section, whole
from capigate.errors import ConfigError
from capigate.retry import RetryPolicy

MAX_BATCH_EVENTS = 1000  # Meta refuses a request with more events (spec §1.2)
MIN_LEASE_S = 5.0


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


_PARSERS: dict[str, Parser] = {
    "enabled": flag,
    "flush_interval_s": number(0, 3600),
    "batch_size": whole(1, MAX_BATCH_EVENTS),
    "lease_s": number(MIN_LEASE_S, 24 * 3600),
    "concurrency": whole(1, 64),
    "poll_interval_s": number(0.01, 60),
    "retry_base_delay_s": number(0.01, 3600),
    "retry_max_delay_s": number(0.01, 24 * 3600),
    "retry_max_attempts": whole(1, 1000),
    "retry_jitter": number(0, 1),
    "retry_max_wait_s": number(0, 24 * 3600),
    "rate_limit_min_delay_s": number(0, 3600),
    "probe_base_delay_s": number(0.01, 3600),
    "probe_max_delay_s": number(0.01, 24 * 3600),
}


def parse_worker(raw: Any, environ: Mapping[str, str]) -> WorkerSettings:
    """``WorkerSettings`` from the YAML ``worker:`` mapping (or None) and the environment."""
    settings = WorkerSettings(**parse_section("worker", raw, environ, _PARSERS))
    if settings.retry_max_delay_s < settings.retry_base_delay_s:
        raise ConfigError("worker.retry_max_delay_s: must be at least retry_base_delay_s")
    settings.policy()  # the policy's own checks
    return settings
