"""Benchmark: what the Strategy API adds between a market update and the engine's queue.

One market update handed to the node's router → each strategy's ``on_market`` (the example
skewed quoter's ladder: 3 levels a side) → ``set_quotes`` checked at the call (host + engine
intake) → the intent on the engine's queue. Measured for 1 and 4 strategies on one symbol, and
the router's cost of telling one strategy of one fill (``on_fill``). The engine itself (diff,
risk, journal, wire) is measured by ``bench/oms_overhead.py``; this is the front door's share.

Prints p50 / p99 / p999 in microseconds. A benchmark, not a test: nothing here asserts a speed.

    .venv/bin/python bench/strategy_dispatch.py [--quick] [--samples N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import summarize
from bench.oms_overhead import BTC, InProcessVenue, make_oms
from mmoms.core.enums import LiquiditySide, Side
from mmoms.core.ids import ClientOrderId, StrategyId, TradeId
from mmoms.core.ledger import Fill
from mmoms.core.market import MarketState, MarketUpdate
from mmoms.journal.memory import InMemoryJournalStore
from mmoms.strategy.loader import default_strategy_entry, load_strategy_class
from mmoms.strategy.router import Binding, attach


async def dispatch(strategies: int, samples: int) -> tuple[list[int], list[int]]:
    """ns per market update through the router, and per fill told, with ``strategies``."""
    oms = await make_oms(InMemoryJournalStore(), InProcessVenue())
    run = asyncio.create_task(oms.run())
    quoter = load_strategy_class(default_strategy_entry())
    bindings = [Binding(StrategyId(f"s{i}"), quoter(), (BTC,)) for i in range(strategies)]
    market = MarketState()
    router = attach(oms, market, bindings)
    router.start()
    updates: list[int] = []
    fills: list[int] = []
    bid = Decimal(95_000)
    fill = Fill(
        ts_ns=1, strategy_id=StrategyId("s0"), symbol=BTC, client_order_id=ClientOrderId("x"),
        trade_id=TradeId(1), side=Side.BUY, quantity=Decimal("0.002"), price=bid,
        fee=Decimal(0), fee_asset="USDC", liquidity=LiquiditySide.MAKER,
        realized_pnl=Decimal(0), position=Decimal("0.002"),
    )  # fmt: skip
    for i in range(samples):
        price = bid + Decimal(i % 7) / 10
        update = MarketUpdate(
            symbol=BTC, bid=price, ask=price + Decimal("0.1"), bid_qty=Decimal(1),
            ask_qty=Decimal(1),
        )  # fmt: skip
        market.apply(update)
        start = time.perf_counter_ns()
        router.market(update)
        for host in router.hosts.values():
            host.strategy.requote(BTC)  # type: ignore[attr-defined]  # the quoter's refresh
        updates.append(time.perf_counter_ns() - start)
        start = time.perf_counter_ns()
        router.notify(fill)
        fills.append(time.perf_counter_ns() - start)
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the engine drain its queue
    router.stop()
    await oms.stop(cancel_orders=False)
    await run
    await oms.close()
    return updates, fills


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=20_000)
    p.add_argument("--quick", action="store_true", help="a few hundred samples (a smoke run)")
    args = p.parse_args(argv)
    samples = 300 if args.quick else args.samples
    print(f"strategy dispatch, {samples} samples each (µs)")
    print(f"{'case':44s} {'p50':>8s} {'p99':>8s} {'p999':>8s}")
    for n in (1, 4):
        updates, fills = asyncio.run(dispatch(n, samples))
        who = "1 strategy" if n == 1 else f"{n} strategies"
        for name, values in (
            (f"market update → {who} quote", updates),
            (f"fill → on_fill, {who}", fills),
        ):
            s = summarize(values)
            print(f"{name:44s} {s['p50']:8.1f} {s['p99']:8.1f} {s['p999']:8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
