"""Benchmark: user-data WebSocket dropped → the OMS reconnected and resynced (not a test).

The simulator (``bench/_simproc.py``) runs in a subprocess on core 0; this process (core 1)
runs a gateway (REST order entry, user stream on) and an OrderManager with the node's default
journal (SQLite, durability process), holding ``--symbols`` × ``--orders`` resting orders.
Then, ``--drops`` times:

1. wait ``--interval`` seconds (longer than the gateway's 2 s "stable connection": a drop after
   a stable connection reconnects at once, without backoff);
2. the clock starts, and ``POST /admin/ws/disconnect {"target": "user", "mode": "abort"}`` cuts
   the user stream's TCP connection on the simulator's side (the admin round trip is counted:
   the figure is pessimistic by it);
3. **reconnected**: the engine has handled the stream's gap signal (the new connection is up;
   ``metrics.stream_gaps`` moved);
4. **resynced**: the reconciliation that gap triggered is applied and its batch committed
   (``metrics.reconciliations`` moved, the batch listener fired): open orders of every symbol
   (one request per symbol, concurrent) and positions fetched, compared, buffered stream
   events replayed, the ``Reconciled`` record journaled.

Goal: reconnect + resync ≤ 100 ms on loopback.

    .venv/bin/python bench/resync_bench.py [--drops 20] [--symbols 10] [--orders 20] [--quick]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (
    Account,
    Figures,
    SimProcess,
    rest_orders,
    run_loop,
    sim_toml,
    start_oms,
    stop_oms,
    symbol_names,
    symbols_toml,
)


async def run(args: argparse.Namespace, figures: Figures) -> None:
    account = Account.make("resync")
    symbols = symbol_names(args.symbols)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sim.toml"
        config.write_text(sim_toml([account], extra=symbols_toml(args.symbols)))
        with SimProcess(config) as sim:
            figures.extra["pinning"] = sim.pinning
            manager, task = await start_oms(sim, account, symbols, Path(tmp) / "journal.sqlite")
            try:
                if args.history:
                    await churn(manager, sim, symbols, args.history)
                await rest_orders(manager, sim, symbols, args.orders)
                open_orders = sum(1 for o in manager.book.open_orders())
                known = sum(1 for _ in manager.book.orders())
                print(
                    f"{open_orders} open orders on {len(symbols)} symbols ({known:,} orders in "
                    f"the book); {args.drops} drops, {args.interval} s apart"
                )
                reconnected, resynced, differences = await drops(manager, sim, args)
            finally:
                await stop_oms(manager, task)
    figures.extra["open_orders"] = open_orders
    figures.extra["orders_in_book"] = known
    figures.figures["reconciliation differences"] = differences
    for label, values in (("reconnected", reconnected), ("reconnected + resynced", resynced)):
        summary = figures.add(f"drop -> {label}", values)
        print(
            f"  drop -> {label:<24} p50 {summary['p50'] / 1000:7.2f} ms   "
            f"p99 {summary['p99'] / 1000:7.2f} ms   max {summary['max'] / 1000:7.2f} ms   "
            f"(n={summary['n']})"
        )
    print(f"  differences found by the reconciliations: {differences} (0 expected)")


async def churn(manager: object, sim: SimProcess, symbols: list[str], count: int) -> None:
    """Place and cancel ``count`` orders first: a session's history (closed orders stay in the
    book, and a reconciliation looks at them)."""
    from mmoms.core.ids import StrategyId, Symbol
    from mmoms.engine.oms import OrderManager

    assert isinstance(manager, OrderManager)
    done = asyncio.Event()
    manager.add_batch_listener(done.set)
    strategy = StrategyId("bench")  # the placing strategy (rest_orders)
    left = count
    while left > 0:
        placed = await rest_orders(manager, sim, symbols, max(1, min(100, left) // len(symbols)))
        for symbol, cid in placed:
            manager.cancel(strategy, Symbol(symbol), cid)
        while any(
            (o := manager.book.get(s, c)) is None or not o.status.is_terminal for s, c in placed
        ):
            done.clear()
            await done.wait()
        left -= len(placed)


async def drops(
    manager: object, sim: SimProcess, args: argparse.Namespace
) -> tuple[list[int], list[int], int]:
    from mmoms.engine.oms import OrderManager

    assert isinstance(manager, OrderManager)
    metrics = manager.metrics
    changed = asyncio.Event()
    manager.add_batch_listener(changed.set)
    reconnected: list[int] = []
    resynced: list[int] = []
    differences = metrics.reconciliation_differences
    for _ in range(args.drops):
        await asyncio.sleep(args.interval)
        gaps, reconciliations = metrics.stream_gaps, metrics.reconciliations
        up = 0
        started = time.perf_counter_ns()
        reply = await sim.admin("/admin/ws/disconnect", {"target": "user", "mode": "abort"})
        if reply.get("disconnected") != 1:
            raise RuntimeError(f"expected one user stream to cut, got {reply}")
        deadline = time.perf_counter() + 10
        while metrics.reconciliations == reconciliations:
            if time.perf_counter() > deadline:
                raise RuntimeError("no reconciliation within 10 s of the drop")
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), 1.0)
            except TimeoutError:
                continue
            if not up and metrics.stream_gaps > gaps:
                up = time.perf_counter_ns()
        done = time.perf_counter_ns()
        reconnected.append((up or done) - started)
        resynced.append(done - started)
    return reconnected, resynced, metrics.reconciliation_differences - differences


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--interval", type=float, default=2.1, help="seconds between drops")
    parser.add_argument("--symbols", type=int, default=10)
    parser.add_argument("--orders", type=int, default=20, help="resting orders per symbol")
    parser.add_argument(
        "--history", type=int, default=0, help="orders placed and cancelled before measuring"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--json", metavar="PATH", help="write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.drops, args.symbols, args.orders = 2, 3, 3
    logging.basicConfig(level=logging.ERROR)  # the stream-lost warnings are expected here
    figures = Figures("resync")
    figures.extra["settings"] = vars(args)
    run_loop(lambda: run(args, figures))
    figures.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
