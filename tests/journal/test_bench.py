"""The journal benchmark script runs (its figures are printed, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "journal_bench.py"


def test_the_benchmark_runs_in_quick_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--no-postgres"],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "events/s" in done.stdout
    assert "recovery to ready" in done.stdout
    assert "state hash matches" in done.stdout
