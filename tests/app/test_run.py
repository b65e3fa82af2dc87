"""``mmoms run`` end to end, as a user runs it: a subprocess quoting against the embedded
simulator, its ``/metrics`` and ``/status`` while it runs, ``mmoms status`` reading it, a clean
stop on ``--duration`` and on SIGTERM, and ``--dry-run`` sending nothing."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmoms.app import status as status_cli
from mmoms.app.run import READY_PREFIX
from mmoms.core.enums import OrderStatus
from mmoms.journal.sqlite import SqliteJournalStore

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXIT_TIMEOUT_S = 90  # generous: two cores shared with other test runs


def run_command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mmoms.cli",
        "run",
        "--config",
        str(EXAMPLES / "sim.toml"),
        "--journal",
        str(tmp_path / "journal.sqlite"),
        "--status-every",
        "0",
        *extra,
    ]


@dataclass
class Journal:
    kinds: Counter[str]
    statuses: Counter[str]

    @property
    def open_orders(self) -> int:
        return sum(n for s, n in self.statuses.items() if OrderStatus(s).is_open)


def read_journal(path: Path) -> Journal:
    async def read() -> Journal:
        store = SqliteJournalStore(path, create=False)
        await store.open()
        try:
            kinds: Counter[str] = Counter()
            async for record in store.read():
                kinds[record.kind] += 1
            statuses = Counter(row.status for row in await store.orders())
        finally:
            await store.close()
        return Journal(kinds, statuses)

    return asyncio.run(read())


@dataclass
class Running:
    proc: subprocess.Popen[str]
    fields: dict[str, str]  # key=value pairs of the ready line

    @property
    def url(self) -> str:
        return self.fields["metrics"]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """``mmoms run`` with no duration, metrics on a free port; waits for the ready line."""
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        run_command(tmp_path, "--metrics-port", "0"),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the first stdout line is the ready line, or EOF
        if not line.startswith(READY_PREFIX):
            proc.kill()
            proc.wait()
            pytest.fail(f"no ready line: {line!r}\n{(tmp_path / 'stderr.txt').read_text()}")
        fields = dict(part.split("=", 1) for part in line[len(READY_PREFIX) :].split())
        yield Running(proc, fields)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        body: bytes = resp.read()
    return body.decode()


def poll_status(url: str, attempts: int = 200) -> dict[str, Any]:
    """``/status`` once it lists an order resting on the venue (NEW). Nothing pushes this state
    to a test, so poll the endpoint, a bounded number of times."""
    for _ in range(attempts):
        doc: dict[str, Any] = json.loads(get(f"{url}/status"))
        if any(o["status"] == "NEW" for o in doc["open_orders"]):
            return doc
        time.sleep(0.1)
    pytest.fail(f"no open orders after {attempts} polls of {url}/status")


def test_run_quotes_on_the_simulator_and_stops_with_nothing_open(tmp_path: Path) -> None:
    done = subprocess.run(
        run_command(tmp_path, "--duration", "3", "--metrics-port", "0"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=EXIT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(READY_PREFIX)
    assert "stopped cleanly: no order of ours is open" in done.stdout
    journal = read_journal(tmp_path / "journal.sqlite")
    assert journal.kinds["CommandSent"] > 0  # it quoted
    assert journal.kinds["Reconciled"] >= 1
    assert sum(journal.statuses.values()) > 0
    assert journal.open_orders == 0


def test_metrics_and_status_of_a_running_instance(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    assert running.fields["venue"] == "sim"
    doc = poll_status(running.url)
    assert doc["venue"] == "sim"
    assert set(doc["symbols"]) == {"BTCUSDC", "ETHUSDC"}
    assert {o["symbol"] for o in doc["open_orders"]} <= {"BTCUSDC", "ETHUSDC"}
    assert set(doc["positions"]) == {"BTCUSDC", "ETHUSDC"}
    assert "USDC" in doc["balances"]

    text = get(f"{running.url}/metrics")
    for series in (
        'mmoms_info{dry_run="false",venue="sim"} 1.0',
        'mmoms_orders{state="NEW",symbol=',
        'mmoms_actions_total{kind="new"}',
        "mmoms_actions_saved_total ",
        "mmoms_reconciliation_differences_total ",
        "# TYPE mmoms_api_errors_total counter",
        'mmoms_rate_limit_used{pool="ORDERS_10S"}',
        'mmoms_latency_seconds{quantile="0.99",stage="total"}',
        'mmoms_latency_observations_total{stage="ack"}',
        "mmoms_stream_gaps_total 1.0",
        "mmoms_market_data_updates_total ",
        "# TYPE mmoms_user_stream_ignored_total counter",
        "# TYPE mmoms_strategy_callback_errors_total counter",
        'mmoms_strategy_running{strategy="mm"} 1.0',
    ):
        assert series in text, series

    code = status_cli.main(["--url", running.url, "--width", "200"])
    out = capsys.readouterr().out
    assert code in (0, 1)  # healthy, or degraded with the problems listed
    assert "venue sim" in out
    assert "open orders (" in out
    assert "BTCUSDC" in out
    assert status_cli.main(["--url", running.url, "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["venue"] == "sim"

    running.proc.send_signal(signal.SIGTERM)
    out, _ = running.proc.communicate(timeout=EXIT_TIMEOUT_S)
    assert running.proc.returncode == 0
    assert "stopped cleanly: no order of ours is open" in out


def test_dry_run_shows_the_state_and_sends_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        run_command(tmp_path, "--dry-run"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=EXIT_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "(dry run)" in done.stdout
    assert "open orders (0)" in done.stdout
    assert "balances" in done.stdout
    assert "USDC" in done.stdout
    assert "nothing was sent" in done.stderr
    journal = read_journal(tmp_path / "journal.sqlite")
    assert journal.kinds["Reconciled"] >= 1  # it did reconcile
    assert journal.kinds["CommandSent"] == 0
    assert journal.kinds["BookCreate"] == 0
    assert journal.kinds["IntentReceived"] == 0


def test_status_says_what_to_do_when_nothing_answers(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens on it
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert status_cli.main(["--url", f"http://127.0.0.1:{port}", "--timeout", "2"]) == 3
    err = capsys.readouterr().err
    assert f"no mmoms instance answered at http://127.0.0.1:{port}/status" in err
    assert "--url" in err


def test_status_with_a_config_without_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (EXAMPLES / "sim.toml").read_text().replace("port = 9108", "port = 0")
    path = tmp_path / "nometrics.toml"
    path.write_text(text)
    assert status_cli.main(["--config", str(path)]) == 2
    assert "has no [metrics] port" in capsys.readouterr().err


def test_a_journal_whose_parent_is_a_file_is_one_line_of_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    done = subprocess.run(
        [
            sys.executable, "-m", "mmoms.cli", "run", "--config", str(EXAMPLES / "sim.toml"),
            "--journal", str(tmp_path / "plain-file" / "journal.sqlite"), "--metrics-port", "0",
        ],
        capture_output=True, text=True, cwd=tmp_path, timeout=EXIT_TIMEOUT_S, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # no traceback
    assert "cannot make the journal's directory" in lines[0]
    assert "plain-file" in lines[0]
    assert READY_PREFIX not in done.stdout
