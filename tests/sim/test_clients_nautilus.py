"""Judge: NautilusTrader's Binance USDⓈ-M adapter, unchanged but for its base URLs, runs a full
order lifecycle against the simulator — a limit order accepted, modified and cancelled, a market
order in and a reduce-only one out — every step confirmed by the event the adapter derives from
its user-data stream (``judges/nautilus_driver.py``).

NautilusTrader lives in ``.venv-nautilus`` (Python 3.12, pinned by ``scripts/nautilus_env.sh``,
which this test runs: quick when the environment is already there). Without a Python 3.12 the
test is skipped, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import RealSim

pytestmark = pytest.mark.clients

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-nautilus" / "bin" / "python"
DRIVER = Path(__file__).parent / "judges" / "nautilus_driver.py"
NO_PYTHON312 = 3  # scripts/nautilus_env.sh's exit status when there is no Python 3.12


def _nautilus_python() -> Path:
    started = time.monotonic()
    result = subprocess.run(
        [str(ROOT / "scripts" / "nautilus_env.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode == NO_PYTHON312 and os.environ.get("CI") != "true":
        pytest.skip(f"no Python 3.12 for NautilusTrader: {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"nautilus_env.sh: {time.monotonic() - started:.1f} s; {result.stdout.strip()}")
    return PYTHON


def test_nautilus_trader_full_order_lifecycle(
    real_sim: RealSim, caplog: pytest.LogCaptureFixture
) -> None:
    python = _nautilus_python()
    caplog.set_level(logging.DEBUG, logger="mmoms.sim")  # the simulator's side of the story
    args = [real_sim.rest_url, real_sim.ws_url, real_sim.api_key, real_sim.api_secret]
    result = subprocess.run(
        [str(python), str(DRIVER), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    reports = [line for line in result.stdout.splitlines() if line.startswith('{"ok"')]
    assert reports, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(reports[-1])
    assert report["ok"], f"{report}\n{result.stdout[-4000:]}"
    assert result.returncode == 0
    steps = [e.split(" ")[0:2] for e in report["events"]]
    assert steps == [
        ["quote", steps[0][1]],
        ["limit", "accepted"],
        ["limit", "modified"],
        ["limit", "cancelled"],
        ["market", "entry"],
        ["reduce-only", "exit"],
    ]
    # It read its user data where Binance serves it, and nothing it asked for was refused.
    assert "/private/ws?listenKey=" in caplog.text
    assert "no stream served here" not in caplog.text
    assert real_sim.api_secret not in caplog.text
