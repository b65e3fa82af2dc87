"""Failpoints: armed only by MMOMS_FAILPOINTS, refused when misspelt, and a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mmoms.engine import failpoints
from mmoms.engine.failpoints import GROUP_FOLLOWUP_COMMITTED, FailpointError, parse


def test_names_and_counts_are_parsed() -> None:
    assert parse("") == {}
    assert parse(f" {GROUP_FOLLOWUP_COMMITTED} ") == {GROUP_FOLLOWUP_COMMITTED: 1}
    assert parse(f"{GROUP_FOLLOWUP_COMMITTED}:3") == {GROUP_FOLLOWUP_COMMITTED: 3}


@pytest.mark.parametrize("raw", ["group-followup-comitted", f"{GROUP_FOLLOWUP_COMMITTED}:0", "x:y"])
def test_a_misspelt_point_or_bad_count_is_refused(raw: str) -> None:
    with pytest.raises(FailpointError):
        parse(raw)


def test_nothing_is_armed_in_a_normal_run() -> None:
    assert os.environ.get(failpoints.ENV) is None
    assert failpoints.armed() == {}
    failpoints.hit(GROUP_FOLLOWUP_COMMITTED)  # a no-op: we are still here


def _run(armed: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from mmoms.engine import failpoints as f\n"
        "f.hit(f.GROUP_FOLLOWUP_COMMITTED)\n"
        "print('passed once', flush=True)\n"
        "f.hit(f.GROUP_FOLLOWUP_COMMITTED)\n"
        "print('survived', flush=True)\n"
    )
    env = {**os.environ, failpoints.ENV: armed}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_an_armed_point_kills_the_process_with_sigkill_at_its_count() -> None:
    done = _run(f"{GROUP_FOLLOWUP_COMMITTED}:2")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == "passed once\n"  # died at the second hit, not the first
    assert f"failpoint {GROUP_FOLLOWUP_COMMITTED}: SIGKILL" in done.stderr


def test_a_misspelt_point_stops_the_process_at_import() -> None:
    done = _run("no-such-point")
    assert done.returncode == 1
    assert "unknown failpoint" in done.stderr
