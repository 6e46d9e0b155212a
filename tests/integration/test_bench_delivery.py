"""``scripts/bench_delivery.py`` still runs end to end (a smoke test: no figure is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_delivery.py"
TIMEOUT_S = 120


def test_the_delivery_benchmark_delivers_every_event_both_ways() -> None:
    """A small run: the worker and the SDK baseline each get every event accepted."""
    command = [sys.executable, str(SCRIPT), "--events", "3000", "--sdk-sample", "60"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    output = " ".join(done.stdout.split())
    assert "emulator accepted 3,000 events, refused 0 requests" in output
    assert "emulator accepted 60 events, refused 0 requests" in output
    assert "requests / 1,000 events" in output and "extrapolated, not measured" in output
    assert "CPU per delivered event: worker" in output
