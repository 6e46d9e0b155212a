"""`capigate plan check [FILE]` prints every finding as a table and exits 1 on errors."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from capigate.cli import cli

WIDE = {"COLUMNS": "250"}  # keep rich from wrapping rule names in the table


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["plan", "check", *args], env=WIDE)


def test_default_plan_check_passes_with_warnings() -> None:
    """Without FILE the built-in plan is checked: exit 0, warnings with rule and source."""
    result = _run()
    assert result.exit_code == 0, result.output
    assert "app_data_fallback" in result.output and "pii_property" in result.output
    assert "DESIGN Seed conflicts" in result.output
    assert "default.yaml:" in result.output
    assert "0 error(s)" in result.output


def test_plan_with_lint_errors_exits_1(tmp_path: Path) -> None:
    """A Meta rule broken: the table shows file:line, rule and spec section; exit 1."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        "events:\n  buy:\n    event_name: Purchase\n    action_source: website\n"
        "    sources: [website]\n    event_id: buy_{session_id}\n"
    )
    result = _run(str(path))
    assert result.exit_code == 1
    assert "revenue_value_required" in result.output and "§4" in result.output
    assert f"{path}:2" in result.output  # the event (it has no `required` line)
    assert "FAILED: 1 error(s)" in result.output


def test_unloadable_plan_exits_1_with_the_line(tmp_path: Path) -> None:
    """A YAML or structure error is printed with file:line, not as a traceback."""
    path = tmp_path / "broken.yaml"
    path.write_text("events:\n  buy:\n    event_name: [Purchase\n")
    result = _run(str(path))
    assert result.exit_code == 1
    assert "yaml_syntax" in result.output
    assert str(path) in result.output
    assert "Traceback" not in result.output


def test_clean_plan_prints_only_the_verdict(tmp_path: Path) -> None:
    """No findings: no table, just 'ok'."""
    path = tmp_path / "plan.yaml"
    path.write_text(
        "events:\n  lead:\n    event_name: Lead\n    action_source: website\n"
        "    sources: [website]\n    event_id: lead_{session_id}\n"
    )
    result = _run(str(path))
    assert result.exit_code == 0
    assert result.output.strip() == f"{path}: ok: 0 error(s), 0 warning(s)"


def test_strict_names_flag_adds_the_style_lint() -> None:
    """--strict-names reports seed 004's style on the default plan's custom names."""
    result = _run("--strict-names")
    assert result.exit_code == 0
    assert "custom_event_name_style" in result.output


def test_plan_group_is_registered() -> None:
    """`capigate --help` lists the plan command."""
    result = CliRunner().invoke(cli, ["--help"])
    assert "plan" in result.output
