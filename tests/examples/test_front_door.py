"""The front door, as a new user meets it: a strategy file written only against ``import mmoms``
runs through ``mmoms run --strategy`` on the embedded simulator; a second process on the same
journal is refused at once while the first trades on."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mmoms.app.run import READY_PREFIX

from .nodes import EXAMPLES

STRATEGY = '''
from decimal import Decimal
import mmoms


class FrontDoor(mmoms.Strategy):
    """Quotes BTCUSDC at the touch; once it has a fill, buys BTCUSDT with a bracket around it."""

    symbols = ("BTCUSDC", "BTCUSDT")

    def __init__(self, *, size: Decimal = Decimal("0.002")) -> None:
        self.size = size
        self.updates = 0
        self.bracket_sent = False

    def on_start(self) -> None:
        try:
            self.place(symbol="BTCUSDC", side=mmoms.Side.BUY, quantity=0.002, price=Decimal(1))
        except mmoms.InvalidOrderError as exc:
            print("FLOAT REFUSED:", exc, flush=True)

    def on_market(self, update: mmoms.MarketUpdate) -> None:
        self.updates += 1
        if self.updates == 3:
            raise RuntimeError("a bug in on_market")
        if update.symbol != "BTCUSDC":
            return
        self.set_quotes("BTCUSDC", [
            mmoms.QuoteLevel(side=mmoms.Side.BUY, price=update.bid, quantity=self.size, tag="b"),
            mmoms.QuoteLevel(side=mmoms.Side.SELL, price=update.ask, quantity=self.size, tag="a"),
        ])

    def on_fill(self, fill: mmoms.Fill) -> None:
        print(f"FILL {fill.symbol} {fill.side} {fill.quantity} @ {fill.price} "
              f"position {fill.position}", flush=True)
        top = self.book("BTCUSDT")
        if self.bracket_sent or top is None:
            return
        self.bracket_sent = True
        inst = self.instrument("BTCUSDT")
        group = mmoms.bracket(
            self.new_group_id(), mmoms.Symbol("BTCUSDT"), mmoms.Side.BUY, Decimal("0.002"),
            take_profit_price=inst.round_price(top.ask * Decimal("1.001"), mmoms.PriceRounding.UP),
            stop_price=inst.round_price(top.bid * Decimal("0.999"), mmoms.PriceRounding.DOWN),
        )
        print("BRACKET", self.place_group(group), flush=True)

    def on_group(self, event: mmoms.GroupEvent) -> None:
        print("GROUP", type(event).__name__, flush=True)

    def on_stop(self) -> None:
        pnl = self.pnl("BTCUSDC")
        print(f"STOP position {pnl.position} fills {pnl.fills} net {pnl.net}", flush=True)
'''


def mmoms_run(*args: str) -> list[str]:
    return [sys.executable, "-m", "mmoms.cli", "run", "--config", str(EXAMPLES / "sim.toml"), *args]


def test_a_strategy_of_ones_own_quotes_fills_brackets_and_stops_clean(tmp_path: Path) -> None:
    (tmp_path / "front_door.py").write_text(STRATEGY)
    done = subprocess.run(
        mmoms_run(
            "--strategy", "front_door.py:FrontDoor", "--duration", "12", "--metrics-port", "0",
            "--journal", str(tmp_path / "journal.sqlite"), "--status-every", "0",
        ),
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    out, err = done.stdout, done.stderr
    assert done.returncode == 0, out + err
    assert "FLOAT REFUSED: quantity must be a Decimal (or int), not the float 0.002" in out
    assert "strategy mm: on_market raised" in err  # logged with its traceback...
    assert "RuntimeError: a bug in on_market" in err
    fills = re.findall(r"^FILL BTCUSDC", out, re.M)
    assert fills, out  # ...and the engine went on: it quoted and got fills
    assert "BRACKET " in out
    assert "GROUP GroupTriggered" in out  # the entry filled: stop and take-profit went out
    assert "STOP position" in out
    assert "stopped cleanly: no order of ours is open" in out


def _status(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/status", timeout=10) as reply:
        doc: dict[str, object] = json.loads(reply.read())
    return doc


def test_a_second_process_on_a_running_journal_is_refused_and_the_first_trades_on(
    tmp_path: Path,
) -> None:
    journal = str(tmp_path / "journal.sqlite")
    common = ("--journal", journal, "--status-every", "0")
    first = subprocess.Popen(
        mmoms_run(*common, "--metrics-port", "0"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert first.stdout is not None
        ready = first.stdout.readline()
        assert ready.startswith(READY_PREFIX), ready
        url = dict(p.split("=", 1) for p in ready[len(READY_PREFIX) :].split())["metrics"]

        started = time.monotonic()
        second = subprocess.run(
            mmoms_run(*common, "--metrics-port", "0"),
            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
        refused_after_s = time.monotonic() - started  # reported, not asserted (a loaded CI)
        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, second.stderr  # one line, no traceback
        assert f"is in use by pid {first.pid} on host" in lines[0]
        assert "(mmoms run, since " in lines[0]
        assert READY_PREFIX not in second.stdout
        print(f"the second process was refused after {refused_after_s:.2f} s")

        before = _status(url)["engine"]["requests"]  # type: ignore[index]
        for _ in range(100):  # the first goes on trading: its request count keeps growing
            if _status(url)["engine"]["requests"] > before:  # type: ignore[index]
                break
            time.sleep(0.1)
        else:
            pytest.fail("the first instance stopped trading")
        first.send_signal(signal.SIGTERM)
        rest = first.stdout.read()
        assert first.wait(timeout=60) == 0, rest
        assert "stopped cleanly: no order of ours is open" in rest
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        if first.stdout is not None:
            first.stdout.close()
