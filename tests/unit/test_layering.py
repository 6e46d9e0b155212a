"""The pure core never imports I/O: no network, database, web framework, clock or event loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.imports_kit import imports

SRC = Path(__file__).resolve().parents[2] / "src" / "capigate"

# Modules (or packages) that make up the pure core. Add new pure modules here.
CORE = [
    "errors.py",
    "findings.py",
    "normalize",
    "models",
    "validate",
    "payload.py",
    "quality.py",
    "pipeline.py",
    "classify.py",
    "config_section.py",
    "_cwire",  # C accelerator of validate.clean and quality (src/capigate/_cwire.c): no I/O
    "_cuserdata",  # C accelerator of normalize (src/capigate/_cuserdata.c): no I/O
    "_cmapping",  # C accelerator of plan.mapping (src/capigate/_cmapping.c): no I/O
    "retry.py",
    "plan",
    "lifecycle",
    "attribution",
    "webhooks",
    "worker/config.py",
    "worker/routing.py",
    "worker/batcher.py",
    "worker/settle.py",
    "worker/body.py",
    "housekeeping/config.py",
    "enrich.py",
    "ingest_paths.py",
    "ratelimit.py",
    "sources.py",
    *(f"demo/{m}.py" for m in ("draw", "people", "items", "journey", "scenario", "report")),
]

FORBIDDEN = {
    "asyncio", "socket", "ssl", "http", "urllib", "sqlite3", "aiosqlite", "psycopg",
    "psycopg_pool", "httpx", "httpcore", "requests", "starlette", "fastapi", "uvicorn",
    "time", "datetime.datetime.now", "random", "os", "subprocess", "threading",
}  # fmt: skip
ALLOWED_INTERNAL_PREFIXES = tuple(
    "capigate." + entry.removesuffix(".py").replace("/", ".") for entry in CORE
)


def _core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = SRC / entry
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        elif path.exists():
            files.append(path)
    return files


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_imports_no_io(path: Path) -> None:
    """A core module imports neither I/O libraries nor capigate's I/O layers."""
    for name in imports(path):
        top = name.split(".")[0]
        assert top not in FORBIDDEN, f"{path.name} imports {name}: the core must stay pure"
        if top == "capigate":
            assert name.startswith(ALLOWED_INTERNAL_PREFIXES), (
                f"{path.name} imports {name}: the core may import only core modules"
            )


def test_layering_check_sees_the_core() -> None:
    """The check above really scans files (it would pass vacuously on an empty list)."""
    assert any(p.name == "errors.py" for p in _core_files())
