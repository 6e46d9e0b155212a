"""EmulatorConfig: defaults from the spec, building from plain data, and refusing bad settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from capigate.cli import cli
from capigate.cli.emulator import _settings
from capigate.emulator import EmulatorConfig
from capigate.emulator.config import OFFICIAL_BM_EVENTS, STRICT_BM_EVENTS
from capigate.errors import ConfigError
from capigate.secret import Secret


def test_defaults_follow_the_spec() -> None:
    """7 days, 62 for physical_store, 60 s skew, 1,000 events, 48 h dedup, permissive auth."""
    config = EmulatorConfig()
    assert config.max_age_s == 7 * 86_400
    assert config.physical_store_max_age_s == 62 * 86_400
    assert config.future_skew_s == 60
    assert config.max_events == 1_000
    assert config.dedup_window_s == 48 * 3_600
    assert config.pixel_ids is None
    assert config.access_tokens is None
    assert config.unhashed_pii == "warn"
    assert config.throttle_status == 400
    assert config.bm_events == OFFICIAL_BM_EVENTS
    assert len(OFFICIAL_BM_EVENTS) == 14


def test_strict_business_messaging_mode_uses_observed_list() -> None:
    """``strict`` switches to the narrower observed allowlist."""
    assert EmulatorConfig(business_messaging_mode="strict").bm_events == STRICT_BM_EVENTS


def test_from_mapping_converts_lists_and_secrets() -> None:
    """Plain YAML/JSON values become the frozen types; tokens become Secrets."""
    config = EmulatorConfig.from_mapping({
        "pixel_ids": [123, "456"], "access_tokens": ["zq-secret-9"], "app_secret": "s",
        "instagram_account_keys": ["ig_account_id"], "unhashed_pii": "reject",
    })  # fmt: skip
    assert config.pixel_ids == frozenset({"123", "456"})
    assert config.access_tokens == frozenset({Secret("zq-secret-9")})
    assert config.app_secret == Secret("s")
    assert config.instagram_account_keys == ("ig_account_id",)
    assert "zq-secret-9" not in repr(config)


@pytest.mark.parametrize(
    ("values", "mentions"),
    [
        pytest.param({"colour": "red"}, "colour", id="unknown-setting"),
        pytest.param({"unhashed_pii": "drop"}, "unhashed_pii", id="bad-mode"),
        pytest.param({"throttle_status": 500}, "throttle_status", id="bad-throttle-status"),
        pytest.param({"pixel_ids": "123"}, "pixel_ids", id="pixel-ids-not-a-list"),
        pytest.param({"max_events": 0}, "max_events", id="zero-max-events"),
    ],
)
def test_bad_settings_raise_config_error(values: dict[str, Any], mentions: str) -> None:
    """A bad setting raises ConfigError naming it."""
    with pytest.raises(ConfigError, match=mentions):
        EmulatorConfig.from_mapping(values)


def test_cli_settings_merge_file_flags_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Flags override the file; tokens and app secret come only from the environment."""
    path = tmp_path / "emulator.yaml"
    path.write_text("future_skew_s: 5\nunhashed_pii: warn\n")
    monkeypatch.setenv("CAPIGATE_EMULATOR_ACCESS_TOKENS", "a, b")
    monkeypatch.setenv("CAPIGATE_EMULATOR_APP_SECRET", "shh")
    settings = _settings(str(path), ("111",), "reject", None)
    config = EmulatorConfig.from_mapping(settings)
    assert config.future_skew_s == 5
    assert config.unhashed_pii == "reject"
    assert config.pixel_ids == frozenset({"111"})
    assert config.access_tokens == frozenset({Secret("a"), Secret("b")})
    assert config.app_secret == Secret("shh")


def test_cli_command_is_registered() -> None:
    """``capigate emulator --help`` names the edge and the control endpoints."""
    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0, result.output
    assert "/{version}/{pixel_id}/events" in result.output
    assert "/__emulator__/faults" in result.output


def test_cli_refuses_a_bad_config_file(tmp_path: Path) -> None:
    """A config file with an unknown setting stops the command with a usage error."""
    path = tmp_path / "emulator.yaml"
    path.write_text("colour: red\n")
    result = CliRunner().invoke(cli, ["emulator", "--config", str(path)])
    assert result.exit_code == 2
    assert "colour" in result.output
