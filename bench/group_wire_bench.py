"""Benchmark: fill report read → the sibling's cancel on the wire, through the whole engine.

Issue #8's goal: when one leg of an OCO fills, the cancel of its sibling is on the wire within
p99 ≤ 200 µs of the engine reading the fill report. Measured here end to end in one process:

* **start**: a user-stream item carrying the leg's complete fill (a ``FillReport``) is handed
  to the OrderManager's inbound queue — the moment the gateway's stream reader delivers it;
* **end**: the cancel request's bytes are handed to the HTTP transport (signed URL built,
  rate admission passed): the moment they would be written on the socket.

In between runs everything production runs: the book merges the fill, the contingency planner
decides, the engine journals the fill, the new group state and the cancel (outbox) in one
commit, then the Binance gateway encodes and signs the cancel. The venue behind the transport
is the simulator's sans-I/O exchange, called in-process (no sockets), as in
``bench/oms_overhead.py``. The fill is synthetic (the leg stays on the venue, removed after
each sample); the cancel is real.

Journals: SQLite durability ``process`` — **the node's default** (WAL, ``synchronous=NORMAL``,
committed on the engine's own thread, fsynced behind the writer by a checkpoint thread:
``mmoms.journal.checkpointer``) — which the goal is judged on; then for comparison in memory
(the CPU cost alone: the floor), SQLite ``synchronous=NORMAL`` (WAL: survives a process crash,
commits on the store's worker thread) and ``FULL`` (durability ``fsync``: survives a power cut,
one fsync per commit). Figures are printed (and written as JSON with ``--json``), never
asserted.

    .venv/bin/python bench/group_wire_bench.py [--samples 2000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from mmoms.contingent import limit, oco
from mmoms.core.enums import Side
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol, TradeId, VenueOrderId
from mmoms.core.reports import FillReport, ReportSource
from mmoms.engine.messages import StreamMsg
from mmoms.engine.oms import OrderManager
from mmoms.journal.memory import InMemoryJournalStore
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalStore
from mmoms.venues.gateway import StreamItem
from mmoms.venues.testing import FakeRequest
from mmoms.venues.transport import HttpReply

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.oms_overhead import InProcessVenue, make_oms

NAME = "group_wire"
DEFAULT = "sqlite process (default)"  # the node's journal: app/config.py JournalSettings
GOAL_P99_US = 200.0
BTC = Symbol("BTCUSDC")
S = StrategyId("bench")
QTY = Decimal("0.001")
WARMUP = 50


class CancelStampingVenue(InProcessVenue):
    """The OMS benchmark's in-process venue, stamping when each *cancel*'s bytes arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.cancel_at: dict[str, int] = {}

    def handle(self, request: FakeRequest) -> HttpReply:
        now = time.perf_counter_ns()
        params = request.params
        if request.method == "DELETE" and "origClientOrderId" in params:
            self.cancel_at.setdefault(params["origClientOrderId"], now)
        return self.call(f"{request.method} {request.path}", params)


async def fill_to_cancel(store: JournalStore, samples: int) -> list[int]:
    """``samples`` OCO groups; per group: leg ``a`` fills, time until ``b``'s cancel leaves."""
    venue = CancelStampingVenue()
    oms = await make_oms(store, venue)
    run = asyncio.create_task(oms.run())
    batch = asyncio.Event()
    oms.add_batch_listener(batch.set)

    async def until(cond: Callable[[], bool]) -> None:
        while not cond():
            batch.clear()
            await batch.wait()

    def is_new(cid: str) -> bool:
        order = oms.book.get(BTC, ClientOrderId(cid))
        return order is not None and order.status.value == "NEW"

    lat: list[int] = []
    for i in range(samples + WARMUP):
        gid, price = f"g{i}", Decimal(93_000) - (i % 100)  # rests 2 % under the market
        oms.place_group(
            S, oco(gid, BTC, [limit(Side.BUY, QTY, price), limit(Side.BUY, QTY, price - 50)])
        )
        leg_a, leg_b = f"{gid}-a", f"{gid}-b"
        await until(lambda a=leg_a, b=leg_b: is_new(a) and is_new(b))
        order = oms.book.get(BTC, ClientOrderId(leg_a))
        assert order is not None
        assert order.venue_order_id is not None
        now = time.time_ns()
        report = FillReport(
            ts_event_ns=now,
            ts_recv_ns=now,
            source=ReportSource.STREAM,
            symbol=BTC,
            client_order_id=order.client_order_id,
            venue_order_id=VenueOrderId(order.venue_order_id),
            trade_id=TradeId(i + 1),
            side=Side.BUY,
            last_qty=QTY,
            last_price=price,
            cum_filled_qty=QTY,
        )
        t0 = time.perf_counter_ns()
        oms._queue.put_nowait(StreamMsg(StreamItem(1, report)))  # the stream reader's hand-off
        await until(lambda b=leg_b: b in venue.cancel_at and _closed(oms, b))
        if i >= WARMUP:
            lat.append(venue.cancel_at[leg_b] - t0)
        venue.call("DELETE /fapi/v1/order", {"symbol": BTC, "origClientOrderId": leg_a})
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    return lat


def _closed(oms: OrderManager, cid: str) -> bool:
    order = oms.book.get(BTC, ClientOrderId(cid))
    return order is not None and order.status.is_terminal


def summarize(values_ns: Sequence[int]) -> dict[str, float]:
    """Nearest-rank p50 / p99 / p999, min / max / mean, in µs; and n."""
    ordered = sorted(values_ns)
    if not ordered:
        return {"n": 0}

    def q(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1000

    return {
        "p50": q(0.50),
        "p99": q(0.99),
        "p999": q(0.999),
        "min": ordered[0] / 1000,
        "max": ordered[-1] / 1000,
        "mean": sum(ordered) / len(ordered) / 1000,
        "n": len(ordered),
    }


async def measure(samples: int) -> dict[str, dict[str, float]]:
    series: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[tuple[str, Callable[[], JournalStore]]] = [
            (DEFAULT, lambda: SqliteJournalStore(Path(tmp) / "p.db", durability="process")),
            ("memory", InMemoryJournalStore),
            ("sqlite NORMAL", lambda: SqliteJournalStore(Path(tmp) / "n.db", synchronous="NORMAL")),
            ("sqlite FULL", lambda: SqliteJournalStore(Path(tmp) / "f.db", synchronous="FULL")),
        ]
        print(f"fill report read -> sibling cancel handed to the transport, {samples} OCOs (µs)")
        print(f"{'journal':26s} {'p50':>8s} {'p99':>8s} {'p999':>8s} {'max':>8s}  goal p99 ≤ 200")
        for label, make in stores:
            s = series[label] = summarize(await fill_to_cancel(make(), samples))
            met = "met" if s["p99"] <= GOAL_P99_US else "NOT met"
            print(
                f"{label:26s} {s['p50']:8.1f} {s['p99']:8.1f} {s['p999']:8.1f} {s['max']:8.1f}  "
                f"{met}",
                flush=True,
            )
    return series


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--samples", type=int, default=2000, help="OCO groups per journal")
    parser.add_argument("--quick", action="store_true", help="a smoke run (tests use it)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples = 50
    pinned = _pin_one_core()
    try:
        import uvloop

        series = uvloop.run(measure(args.samples))
    finally:
        _unpin(pinned)
    if args.json:
        doc: dict[str, Any] = {
            "name": NAME,
            "unit": "us",
            "series": series,
            "figures": {"goal_p99_us": GOAL_P99_US},
            "default_journal": DEFAULT,
            "goal_met": {label: s.get("p99", 1e18) <= GOAL_P99_US for label, s in series.items()},
            "notes": [
                "start: stream item handed to the engine; end: cancel bytes handed to the "
                "transport; journal commit (fill + group state + cancel in the outbox) included",
                f"the goal is judged on the node's default journal, {DEFAULT}; memory is the "
                "engine's CPU floor, NORMAL and FULL (durability fsync) are for comparison",
            ],
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def _pin_one_core() -> set[int] | None:
    """Run on one core, away from core 0 (less migration noise); the old mask to restore."""
    if not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return None
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(before)})
    return before


def _unpin(before: set[int] | None) -> None:
    if before is not None:
        os.sched_setaffinity(0, before)


if __name__ == "__main__":
    sys.exit(main())
