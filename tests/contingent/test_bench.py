"""The contingency benchmark runs (its figures are printed, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "contingent_bench.py"


def test_the_benchmark_runs_in_quick_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OCO fill -> sibling cancel" in done.stdout
    assert "bracket entry fill -> SL+TP" in done.stdout
    assert done.stdout.count("p99") == 5
