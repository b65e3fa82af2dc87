"""The OMS overhead benchmark still runs (figures are printed, never asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_oms_overhead_benchmark_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "oms_overhead.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "intent -> bytes" in out
    for journal in ("memory", "sqlite NORMAL", "sqlite FULL"):
        assert journal in out
    assert "actions/s" in out
