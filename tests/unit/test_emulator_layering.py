"""The emulator shares no code with capigate's core, so a core bug cannot agree with itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "capigate" / "emulator"
# Leaf utilities with no Meta logic in them; everything else in capigate is off limits.
ALLOWED_CAPIGATE = ("capigate.emulator", "capigate.clock", "capigate.secret", "capigate.errors")
CORE = ("normalize", "validate", "models", "payload", "quality", "pipeline", "classify",
        "hashing", "retry", "findings", "plan", "ingest")  # fmt: skip


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_emulator_imports_nothing_from_the_core(path: Path) -> None:
    """Only capigate.clock, .secret, .errors and the emulator itself may be imported."""
    for name in _imports(path):
        if name.split(".")[0] != "capigate":
            continue
        assert name.startswith(ALLOWED_CAPIGATE), f"{path.name} imports {name}"
        parts = name.split(".")
        assert not any(part in CORE for part in parts[1:2]), f"{path.name} imports {name}"


def test_scan_sees_the_package() -> None:
    """The scan above covers the emulator's modules (it would pass vacuously on none)."""
    assert {p.name for p in _modules()} >= {"app.py", "rules.py", "faults.py", "state.py"}
