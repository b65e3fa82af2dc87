"""Benchmark: the OMS's own overhead, intent → bytes handed to the transport (not a test).

The full production path runs — OrderManager (risk, diff/planning, write-ahead journal, batch),
BinanceGateway (codec, rate admission, timestamp, HMAC signing, URL) — up to the HTTP
transport's ``request`` call, the moment bytes would be written. The venue behind the transport
is the simulator's sans-I/O exchange called in-process (no sockets), so the replies are real
Binance replies and the venue costs microseconds, not a network round trip.

Measured per action: ``intent`` (the strategy's call) → ``request`` (transport handed the
bytes), with the batching window set to 0 (the window is a deliberate wait, reported apart).
Journals: in memory (pure CPU cost), SQLite with ``synchronous=NORMAL`` (WAL: survives a
process crash, not a power cut) and ``FULL`` (survives a power cut: one fsync per batch).

Then sustained throughput: place + cancel intents as fast as the engine takes them for a few
seconds, with the SQLite FULL journal; actions per second reaching the transport.

    .venv/bin/python bench/oms_overhead.py [--samples 5000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from mmoms.app.stack import demo_oms_config
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.memory import InMemoryJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalStore
from mmoms.sim.api import SimApiError
from mmoms.sim.clock import LiveSimClock
from mmoms.sim.config_model import AccountConfig, SimConfig
from mmoms.sim.exchange import SimExchange
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import Credentials
from mmoms.venues.testing import FakeHttpTransport, FakeRequest, json_reply
from mmoms.venues.transport import HttpReply

BTC = Symbol("BTCUSDC")
S = StrategyId("bench")


class InProcessVenue:
    """The simulator's exchange behind a fake transport; stamps when each order's bytes arrive."""

    def __init__(self) -> None:
        self.key, secret = secrets.token_hex(16), secrets.token_hex(16)
        self.secret = secret
        cfg = SimConfig(
            accounts=(
                AccountConfig(api_key=self.key, api_secret=secret, balances={"USDC": "100000000"}),
            ),
            orders_per_10s=10**9,
            orders_per_minute=10**9,
            request_weight_per_minute=10**9,
        )
        self.exchange = SimExchange(LiveSimClock(), cfg)
        self.account = self.exchange.account_for_key(self.key)
        self.arrived: dict[str, int] = {}

    def handle(self, request: FakeRequest) -> HttpReply:
        now = time.perf_counter_ns()
        params = request.params
        cid = params.get("newClientOrderId") or params.get("origClientOrderId")
        if cid is not None and cid not in self.arrived:
            self.arrived[cid] = now
        endpoint = self.exchange.endpoints.get(f"{request.method} {request.path}")
        if endpoint is None:
            return json_reply(404, {"code": -1099, "msg": "Not found"})
        try:
            return json_reply(200, endpoint.handler(self.account, params))
        except SimApiError as exc:
            return json_reply(exc.http_status, exc.body())


async def make_oms(store: JournalStore, venue: InProcessVenue) -> OrderManager:
    transport = FakeHttpTransport(venue.handle)
    gateway = BinanceGateway(
        replace(BinanceConfig.local("http://venue", "ws://venue"), user_stream=False),
        Credentials.hmac(venue.key, venue.secret),
        http=transport,
    )
    limits = SymbolLimits(
        max_order_qty=Decimal(1),
        max_order_notional=Decimal(10**9),
        max_open_orders=10**6,
        max_position=Decimal(10**6),
        price_band_pct=Decimal(50),
    )
    cfg = demo_oms_config(
        symbols=(BTC,),
        risk=RiskConfig(limits={BTC: limits}, max_orders_per_second=10**9),
        batch_window_s=0.0,
        reconcile_interval_s=3600.0,
        snapshot_every=10**9,
    )
    oms = OrderManager(gateway, store, cfg)
    await oms.start()
    oms.set_reference_price(BTC, Decimal(95_000))
    return oms


async def overhead(store: JournalStore, samples: int) -> list[int]:
    venue = InProcessVenue()
    oms = await make_oms(store, venue)
    run = asyncio.create_task(oms.run())
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    lat: list[int] = []
    for i in range(samples):
        price = Decimal(93_000) - (i % 100)  # rests: 2 % under the market, inside the band
        t0 = time.perf_counter_ns()
        cid = oms.place(S, BTC, Side.BUY, Decimal("0.001"), price)
        while cid not in venue.arrived:
            done.clear()
            await done.wait()
        lat.append(venue.arrived[cid] - t0)
        oms.cancel(S, BTC, cid)
        await _wait_closed(oms, cid, done)
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    stages = oms.metrics.latency
    BREAKDOWN.append(
        "  ".join(
            f"{s} {stages[s].percentile(50) / 1000:.0f}/{stages[s].percentile(99) / 1000:.0f}"
            for s in ("decide", "journal", "wire")
        )
    )
    return lat


BREAKDOWN: list[str] = []


async def _wait_closed(oms: OrderManager, cid: ClientOrderId, done: asyncio.Event) -> None:
    while (o := oms.book.get(BTC, cid)) is None or not o.status.is_terminal:
        done.clear()
        await done.wait()


async def throughput(store: JournalStore, seconds: float) -> tuple[int, float]:
    venue = InProcessVenue()
    oms = await make_oms(store, venue)
    run = asyncio.create_task(oms.run())
    done = asyncio.Event()
    oms.add_batch_listener(done.set)
    start = time.perf_counter()
    placed: list[ClientOrderId] = []
    while time.perf_counter() - start < seconds:
        for i in range(50):  # a burst, then let the engine drain it
            placed.append(oms.place(S, BTC, Side.BUY, Decimal("0.001"), Decimal(93_000) - i))
        for cid in placed[-100:-50]:
            oms.cancel(S, BTC, cid)
        done.clear()
        await done.wait()
    elapsed = time.perf_counter() - start
    actions = sum(oms.metrics.actions.values())
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    return actions, elapsed


def pct(xs: list[int], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))] / 1000


async def main_async(samples: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[tuple[str, Any]] = [
            ("memory", lambda: InMemoryJournalStore()),
            (
                "sqlite NORMAL",
                lambda: SqliteJournalStore(Path(tmp) / "n.sqlite", synchronous="NORMAL"),
            ),
            ("sqlite FULL", lambda: SqliteJournalStore(Path(tmp) / "f.sqlite", synchronous="FULL")),
        ]
        print(f"intent -> bytes handed to the transport, {samples} orders each (µs)")
        print(f"{'journal':16s} {'p50':>8s} {'p99':>8s} {'p999':>8s} {'max':>8s} {'mean':>8s}")
        for name, make in stores:
            lat = await overhead(make(), samples)
            print(
                f"{name:16s} {pct(lat, 50):8.1f} {pct(lat, 99):8.1f} {pct(lat, 99.9):8.1f} "
                f"{max(lat) / 1000:8.1f} {statistics.mean(lat) / 1000:8.1f}   "
                f"stages p50/p99 µs: {BREAKDOWN[-1]}",
                flush=True,
            )
        actions, elapsed = await throughput(
            SqliteJournalStore(Path(tmp) / "t.sqlite", synchronous="FULL"), seconds
        )
        print(
            f"sustained: {actions} actions in {elapsed:.1f} s = {actions / elapsed:,.0f} actions/s "
            f"(SQLite FULL journal, one core)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run (tests use it)")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.seconds = 50, 0.5
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # one core, away from whatever runs on core 0
    import uvloop

    uvloop.run(main_async(args.samples, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
