"""The client can be vendored: it needs only httpx and the standard library."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.imports_kit import imports

CLIENT = Path(__file__).resolve().parents[2] / "src" / "capigate" / "client"
ALLOWED_THIRD_PARTY = {"httpx"}


@pytest.mark.parametrize("path", sorted(CLIENT.glob("*.py")), ids=lambda p: p.name)
def test_client_module_imports_only_stdlib_httpx_and_itself(path: Path) -> None:
    """No gateway module (web, store, ingest, plan, ...) and no other third-party package."""
    for name in imports(path):
        top = name.split(".")[0]
        if top == "capigate":
            assert name.startswith("capigate.client"), f"{path.name} imports {name}"
        else:
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                f"{path.name} imports {name}: the client may use only httpx and the stdlib"
            )


def test_importing_the_client_loads_no_gateway_module() -> None:
    """In a fresh interpreter, `import capigate.client` loads capigate.client.* only."""
    code = (
        "import sys, capigate.client\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('capigate'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "capigate.client" in loaded
    assert [m for m in loaded if m != "capigate" and not m.startswith("capigate.client")] == []
