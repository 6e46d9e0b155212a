"""``scripts/profile_ingest.py`` still runs end to end (a smoke test: no figure is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "profile_ingest.py"
TIMEOUT_S = 120


def test_the_ingest_profile_runs_single_events_and_batches() -> None:
    """A few requests of each kind are accepted (202) and a profile is printed."""
    for batch, profile in (("1", "--no-profile"), ("5", "--top=5")):
        command = [sys.executable, str(SCRIPT), "--batch", batch, "--requests", "20", profile]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
        assert done.returncode == 0, done.stderr
        assert f"20 requests of {batch} event(s):" in done.stdout
        assert ("Ordered by: internal time" in done.stdout) == (profile != "--no-profile")
