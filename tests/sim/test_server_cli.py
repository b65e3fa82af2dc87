"""``python -m mmoms.sim.cli`` prints its ready line, serves, and stops cleanly; the benchmark's
quick mode runs end to end (no timing is asserted)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY = "mmoms-sim ready "


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mmoms.sim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_cli_prints_ready_line_serves_and_stops_on_sigterm() -> None:
    with _spawn("--port", "0", "--log-level", "info") as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith(READY), line
            rest, ws = line[len(READY) :].split()
            assert rest.startswith("rest=http://127.0.0.1:")
            port = rest.rsplit(":", 1)[1]
            assert ws == f"ws=ws://127.0.0.1:{port}"
            url = f"http://127.0.0.1:{port}/fapi/v1/time"
            with urllib.request.urlopen(url, timeout=30) as reply:
                assert "serverTime" in json.loads(reply.read())
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.stderr is not None
        log = process.stderr.read()
    assert "generated API key" in log
    assert "secret is hidden" in log
    assert "Traceback" not in log


def test_cli_reports_configuration_errors(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nprot = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "mmoms.sim.cli", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "server.prot" in result.stderr
    assert result.stdout == ""


def test_cli_help_documents_every_flag() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mmoms.sim.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in ("--host", "--port", "--api-key", "--api-secret", "--show-secret", "--balance"):
        assert flag in result.stdout
    for flag in ("--config", "--seed", "--log-level", "--timing-header"):
        assert flag in result.stdout
    for flag in ("--virtual-time", "--start-time-ms", "--no-admin", "--fault", "--fault-seed"):
        assert flag in result.stdout
    for flag in ("--latency", "--clock-skew-ms", "--stale-read-ms"):
        assert flag in result.stdout


def test_benchmark_quick_mode_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sim_orders.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "throughput:" in result.stdout
    assert "server latency us:" in result.stdout
