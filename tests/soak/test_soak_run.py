"""``mmoms soak`` end to end, as a subprocess: the CI run (about two minutes of trading), the
30-minute run (``MMOMS_SOAK=full``), a run that must fail, and the command line's refusals.

The CI run is shared by the tests that read its report: one run, several questions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmoms.soak.chaos import FIRED_KINDS
from mmoms.soak.cli import main

CI_SECONDS = 130
FULL_SECONDS = 1800


@dataclass
class SoakRun:
    code: int
    table: str
    report: dict[str, Any]


def soak(workdir: Path, seconds: int, seed: int, *extra: str) -> SoakRun:
    report = workdir / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "mmoms.cli", "soak", "--duration", str(seconds),
         "--seed", str(seed), "--workdir", str(workdir / "run"), "--report-json", str(report),
         *extra],
        capture_output=True, text=True, timeout=seconds * 3 + 300, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 2: the soak itself broke
    assert proc.stdout.startswith("mmoms soak report"), proc.stdout[-2000:]
    return SoakRun(proc.returncode, proc.stdout, json.loads(report.read_text()))


def row(table: str, label: str) -> str:
    for line in table.splitlines():
        if line.startswith(label + " "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} row in:\n{table}")


def assert_exercised(run: SoakRun, kills: int) -> None:
    r = run.report
    fired = r["faults_fired"]
    assert [k for k in FIRED_KINDS if fired.get(k, 0) < 1] == [], fired
    assert r["kills"] >= kills
    assert r["restarts"] >= 1
    assert r["fills"] > 0
    assert sum(r["groups"].values()) > 0
    assert r["checkpoints"] >= 3
    assert r["checks"] > r["checkpoints"]
    assert r["reconciliations"] > 0
    assert r["actions_total"] > 0
    assert row(run.table, "breaches") == str(len(r["breaches"]))


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory) -> SoakRun:
    return soak(tmp_path_factory.mktemp("soak"), CI_SECONDS, seed=11)


@pytest.mark.slow
@pytest.mark.timeout(CI_SECONDS * 3 + 400)
def test_ci_soak_meets_every_fault_kills_and_trades(ci_run: SoakRun) -> None:
    assert_exercised(ci_run, kills=1)


@pytest.mark.slow
@pytest.mark.timeout(CI_SECONDS * 3 + 400)
def test_ci_soak_finds_no_breach(ci_run: SoakRun) -> None:
    assert ci_run.report["breaches"] == [], ci_run.table
    assert ci_run.code == 0


@pytest.mark.slow
@pytest.mark.timeout(FULL_SECONDS * 3 + 600)
@pytest.mark.skipif(os.environ.get("MMOMS_SOAK") != "full", reason="MMOMS_SOAK=full runs it")
def test_thirty_minute_soak(tmp_path: Path) -> None:
    run = soak(tmp_path, FULL_SECONDS, seed=1)
    assert_exercised(run, kills=5)
    assert run.report["breaches"] == []
    assert run.code == 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_breach_fails_the_soak(tmp_path: Path) -> None:
    """--inject-breach slips an order nobody placed into the first checkpoint's truth."""
    run = soak(tmp_path, 25, 3, "--inject-breach")
    assert run.code == 1
    injected = [b for b in run.report["breaches"] if "injected-breach" in b["detail"]]
    assert injected
    assert injected[0]["invariant"] == "book"
    assert "BREACHES:" in run.table


def test_bad_command_lines_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--duration", "5", "--seed", "1"]) == 2
    assert "at least" in capsys.readouterr().err
    assert main(["--seed", "1"]) == 2
    assert main(["--duration", "60", "--seed", "x"]) == 2
