"""``bench/strategy_dispatch.py --quick`` still runs and prints its table (no figure is judged)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "strategy_dispatch.py"


def test_the_strategy_dispatch_benchmark_runs_and_prints_every_case() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = re.findall(
        r"^(market update|fill) .*?\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", done.stdout, re.M
    )
    assert len(rows) == 4, done.stdout
