"""Crash test with real processes: the simulator in one process, `mmoms run` in another, killed
with SIGKILL at random moments while it quotes, restarted from its journal each time.

At the end — after one last run that stops cleanly — the venue and the journal must agree:
no order lost (every order the venue holds for us is in the journal), none doubled (no client
order id twice on the venue), nothing left open, every order's final status the same on both
sides, and no committed cancel left unconfirmed in the outbox.

The kill moments are random on purpose (the sleeps choose *when* to kill, they synchronise
nothing). CI runs a few kills; ``MMOMS_SOAK=full`` runs many.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mmoms.journal.recovery import recover
from mmoms.journal.sqlite import SqliteJournalStore

KILLS = 12 if os.environ.get("MMOMS_SOAK") == "full" else 3


class Sim:
    def __init__(self, proc: subprocess.Popen[str], rest: str, ws: str, key: str, secret: str):
        self.proc, self.rest, self.ws, self.key, self.secret = proc, rest, ws, key, secret

    def signed(self, method: str, path: str, **params: str) -> Any:
        """An independent signed request (not through our gateway): the venue's own answer."""
        params["timestamp"] = str(int(time.time() * 1000))
        query = urllib.parse.urlencode(params)
        sig = hmac.new(self.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        req = urllib.request.Request(
            f"{self.rest}{path}?{query}&signature={sig}",
            method=method,
            headers={"X-MBX-APIKEY": self.key},
        )
        with urllib.request.urlopen(req, timeout=10) as reply:
            return json.loads(reply.read())


@pytest.fixture
def sim() -> Iterator[Sim]:
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mmoms.sim.cli",
            "--port",
            "0",
            "--seed",
            "11",
            "--api-key",
            key,
            "--api-secret",
            secret,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"mmoms-sim ready rest=(\S+) ws=(\S+)", line)
    assert found, line
    try:
        yield Sim(proc, found.group(1), found.group(2), key, secret)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


QUOTER = Path(__file__).resolve().parents[2] / "examples/strategies/skewed_quoter.py:SkewedQuoter"


def write_config(path: Path, sim: Sim, journal: Path) -> None:
    path.write_text(f"""
[venue]
kind = "binance"
rest_url = "{sim.rest}"
stream_url = "{sim.ws}"
ws_api_url = "{sim.ws}/ws-fapi/v1"
market_data_url = "{sim.ws}"
order_transport = "rest"

[journal]
sqlite_path = "{journal}"

[oms]
batch_window_ms = 5
reconcile_interval_s = 2
client_id_prefix = "mm"
dead_man_switch_ms = 0
stop_timeout_s = 5

[risk]
max_orders_per_second = 20

[risk.BTCUSDC]
max_order_qty = "0.01"
max_order_notional = "2000"
max_open_orders = 10
max_position = "0.05"
price_band_pct = "2"

[tolerance.BTCUSDC]
price_ticks = 3
qty_pct = "10"

[strategy]
id = "mm"
entry = "{QUOTER}"
symbols = ["BTCUSDC"]

[strategy.params]
levels = 2
half_spread_bps = "0"
level_step_bps = "0.2"
refresh_ms = 100
skew_bps = "4"
size = {{ BTCUSDC = "0.002" }}
max_inventory = {{ BTCUSDC = "0.02" }}
""")


def start_run(config: Path, sim: Sim, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MMOMS_BINANCE_API_KEY": sim.key, "MMOMS_BINANCE_API_SECRET": sim.secret}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmoms.cli", "run", "--config", str(config), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("mmoms run ready"):
            return proc
    raise AssertionError(f"mmoms run never got ready (exit {proc.wait()})")


def test_kill_9_at_random_points_loses_and_doubles_nothing(sim: Sim, tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite"
    config = tmp_path / "run.toml"
    write_config(config, sim, journal)
    rng = random.Random(20261122)
    for _ in range(KILLS):
        proc = start_run(config, sim)
        time.sleep(rng.uniform(0.2, 2.0))  # a random moment in the middle of quoting
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()

    final = start_run(config, sim, "--duration", "3")
    assert final.stdout is not None
    tail = final.stdout.read()
    final.stdout.close()
    assert final.wait(timeout=60) == 0, tail

    venue_orders = sim.signed("GET", "/fapi/v1/allOrders", symbol="BTCUSDC", limit="1000")
    assert sim.signed("GET", "/fapi/v1/openOrders", symbol="BTCUSDC") == []
    ids = [o["clientOrderId"] for o in venue_orders]
    assert len(ids) == len(set(ids)), "a client order id reached the venue twice"
    assert len(ids) > KILLS, "the runs placed (almost) nothing: the test would prove nothing"

    async def recovered() -> Any:
        store = SqliteJournalStore(journal, create=False)
        await store.open()
        try:
            return await recover(store), await store.pending_outbox()
        finally:
            await store.close()

    state, pending = asyncio.run(recovered())
    book = state.book
    for o in venue_orders:
        ours = book.get(o["symbol"], o["clientOrderId"])
        assert ours is not None, f"order {o['clientOrderId']} on the venue is not in the journal"
        venue_status = "EXPIRED" if o["status"] == "EXPIRED_IN_MATCH" else o["status"]
        assert ours.status.value == venue_status, (o["clientOrderId"], ours.status, o["status"])
    venue_ids = set(ids)
    for ours in book.orders():
        if ours.venue_order_id is not None:  # the venue acknowledged it: it must know it
            assert ours.client_order_id in venue_ids, ours.client_order_id
    assert not [o for o in book.orders() if o.status.is_open], "journal still holds open orders"
    assert pending == [], "committed cancels left unconfirmed"
