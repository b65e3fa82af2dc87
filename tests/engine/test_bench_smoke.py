"""The engine benchmarks still run (figures are printed, never asserted)."""

import json
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
    for journal in ("memory", "sqlite NORMAL", "sqlite FULL", "sqlite process"):
        assert journal in out
    assert "actions/s" in out


def test_group_wire_benchmark_runs_as_run_all_calls_it(tmp_path: Path) -> None:
    """Imported and called with ``main([...])`` (as ``bench/run_all.py`` does): the figures
    come out printed and as JSON, one series per journal."""
    figures = tmp_path / "group_wire.json"
    code = (
        "from bench.group_wire_bench import main\n"
        f"raise SystemExit(main(['--quick', '--json', {str(figures)!r}]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert "fill report read -> sibling cancel" in out
    doc = json.loads(figures.read_text())
    assert (doc["name"], doc["unit"]) == ("group_wire", "us")
    assert set(doc["series"]) == {
        "memory",
        "sqlite NORMAL",
        "sqlite FULL",
        "sqlite process (default)",
    }
    for label, series in doc["series"].items():
        assert series["n"] == 50, label
        assert 0 < series["p50"] <= series["p99"] <= series["p999"], label
        assert label in out
    assert set(doc["goal_met"]) == set(doc["series"])
