"""``capigate serve``: fails fast on bad settings, and shouts about sandbox mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from capigate import settings
from capigate.cli import cli
from capigate.cli.serve import sandbox_banner


def test_bad_settings_stop_serve_with_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad value exits 1 before listening, naming the setting and the rule."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--db", "mysql://nope"])
    assert result.exit_code == 1
    assert "--db: must start with sqlite:///" in result.output
    config = tmp_path / "capigate.yaml"
    config.write_text("sources:\n  - {name: bot, kind: server}\n")
    result = CliRunner().invoke(cli, ["serve", "--config", str(config)])
    assert result.exit_code == 1
    assert "set CAPIGATE_SOURCE_BOT_KEY" in result.output


def test_help_names_every_environment_variable() -> None:
    """--help shows the CAPIGATE_* variable behind each option."""
    output = CliRunner().invoke(cli, ["serve", "--help"]).output
    for name in ("CAPIGATE_HOST", "CAPIGATE_PORT", "CAPIGATE_DB", "CAPIGATE_CONFIG"):
        assert name in output
    assert "CAPIGATE_WORKERS" in output


def test_sandbox_banner_is_loud_and_names_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The banner says SANDBOX MODE, where events go, how to go live, and about the dev source."""
    monkeypatch.chdir(tmp_path)
    banner = sandbox_banner(settings.load(environ={"CAPIGATE_PORT": "9000"}))
    lines = banner.splitlines()
    assert "SANDBOX MODE" in banner
    assert "http://127.0.0.1:9000/__emulator__/" in banner
    assert "CAPIGATE_META_ACCESS_TOKEN" in banner
    assert "'dev'" in banner
    assert len({len(line) for line in lines}) == 1  # a closed box
    assert lines[0] == "#" * len(lines[0])
