"""`mmoms demo`, headless, as a person would run it: it quotes, gets fills, serves /metrics,
stops clean, and leaves a journal that replays to the state it ended with."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from mmoms.journal.recovery import recover
from mmoms.journal.sqlite import SqliteJournalStore

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_headless_and_its_journal_replays(tmp_path: Path) -> None:
    journal = tmp_path / "demo.sqlite"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mmoms.cli",
            "demo",
            "--duration",
            "8",
            "--headless",
            "--journal",
            str(journal),
            "--metrics-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    ) as proc:
        assert proc.stdout is not None
        lines: list[str] = []
        metrics_text = ""
        for line in proc.stdout:  # the demo's own output paces the test: no sleeps
            lines.append(line)
            found = re.search(r"metrics: (\S+/metrics)", line)
            if found:
                with urllib.request.urlopen(found.group(1), timeout=10) as reply:
                    metrics_text = reply.read().decode()
        assert proc.wait(timeout=120) == 0, "".join(lines)
    output = "".join(lines)

    for series in (
        "mmoms_orders",
        "mmoms_actions_total",
        "mmoms_actions_saved_total",
        "mmoms_latency_seconds",
        "mmoms_rate_limit_used",
        "mmoms_stream_gaps_total",
    ):
        assert series in metrics_text, series
    placed = re.search(r"actions: \{'new': (\d+)", output)
    assert placed is not None, output
    assert int(placed.group(1)) > 0, output
    fills = [int(n) for n in re.findall(r"fills (\d+)", output)]
    assert sum(fills) > 0, output
    assert "open: 0" in output

    state_hash = re.search(r"state hash: (\w+)", output)
    assert state_hash is not None

    async def replay() -> str:
        store = SqliteJournalStore(journal, create=False)
        await store.open()
        try:
            return (await recover(store, use_snapshot=False)).book.state_hash()
        finally:
            await store.close()

    assert asyncio.run(replay()) == state_hash.group(1)
