"""The ``worker:`` settings: defaults, YAML values, CAPIGATE_WORKER_* overrides, refusals."""

from __future__ import annotations

import dataclasses

import pytest

from capigate.errors import ConfigError
from capigate.worker import config
from capigate.worker.config import WorkerSettings, parse_worker


def test_defaults_follow_the_issue() -> None:
    """1 s flush, 1,000-event batches, two batches in flight per pixel, the worker on."""
    settings = parse_worker(None, {})
    assert settings == WorkerSettings()
    assert (settings.flush_interval_s, settings.batch_size, settings.concurrency) == (1.0, 1000, 2)
    assert settings.enabled


def test_yaml_values_and_environment_overrides() -> None:
    """The environment wins over the YAML section."""
    raw = {"batch_size": 200, "lease_s": 30, "retry_max_attempts": 7}
    env = {"CAPIGATE_WORKER_BATCH_SIZE": "50", "CAPIGATE_WORKER_ENABLED": "false"}
    settings = parse_worker(raw, env)
    assert (settings.batch_size, settings.lease_s, settings.retry_max_attempts) == (50, 30.0, 7)
    assert not settings.enabled


def test_the_retry_policy_carries_the_worker_values() -> None:
    """retry_* and probe_* keys become the RetryPolicy."""
    settings = parse_worker({"retry_base_delay_s": 1, "retry_max_wait_s": 120}, {})
    policy = settings.policy()
    assert policy.base_delay_s == 1.0 and policy.max_retry_after_s == 120.0


def test_every_setting_has_a_parser() -> None:
    """No field of WorkerSettings is unreachable from YAML or the environment."""
    assert set(config._PARSERS) == {f.name for f in dataclasses.fields(WorkerSettings)}


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ({"batch_size": 1001}, {}, "worker.batch_size: must be a whole number from 1 to 1000"),
        ({}, {"CAPIGATE_WORKER_LEASE_S": "1"}, "CAPIGATE_WORKER_LEASE_S: must be a number"),
        ({"flush": 1}, {}, "worker.flush: unknown"),
        ([1], {}, "worker: must be a mapping"),
        ({"enabled": "maybe"}, {}, "worker.enabled: must be true or false"),
        ({"concurrency": 1.5}, {}, "worker.concurrency: must be a whole number"),
        ({"retry_base_delay_s": 10, "retry_max_delay_s": 5}, {}, "at least retry_base_delay_s"),
    ],
)
def test_bad_values_name_the_setting_and_rule(
    raw: object, env: dict[str, str], message: str
) -> None:
    """Each refusal names the key (or variable) and the rule."""
    with pytest.raises(ConfigError, match=message):
        parse_worker(raw, env)
