"""``mmoms demo``: the embedded simulator, the OMS and a market-making strategy, in one command.

It starts the simulator on a free local port, the Binance gateway and the OrderManager against
it (journal in SQLite), and quotes BTCUSDC and ETHUSDC: a few levels a side around the mid,
post-only, skewed by inventory, refreshed as the simulated market moves. Quotes go through the
OMS's diff, so most market ticks cost no request. It runs for ``--duration`` seconds (or until
Ctrl-C), then cancels everything, prints a summary, and says where the journal is and how to
replay it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.live import Live

from mmoms.app.marketdata import BookTickerFeed
from mmoms.app.metrics import RunInfo, start_metrics_server
from mmoms.app.quoter import QuoterConfig, SkewedQuoter
from mmoms.app.stack import DEMO_SYMBOLS, EmbeddedStack, start_embedded
from mmoms.app.view import render, summary_lines
from mmoms.contingent import Group, bracket
from mmoms.core.enums import Side
from mmoms.core.ids import StrategyId, Symbol

STRATEGY = StrategyId("demo-mm")
BRACKET_SYMBOL = Symbol("ETHUSDC")


def demo_bracket(bid: Decimal, ask: Decimal) -> Group:
    """One OTOCO to show contingent orders: buy at market, take profit 0.2 % higher (LIMIT,
    reduce-only), stop 0.2 % lower (STOP_MARKET in Binance's algo service, by mark price)."""
    mid = (bid + ask) / 2
    return bracket(
        "demo-bracket",
        BRACKET_SYMBOL,
        Side.BUY,
        Decimal("0.05"),
        take_profit_price=(mid * Decimal("1.002")).quantize(Decimal("0.01")),
        stop_price=(mid * Decimal("0.998")).quantize(Decimal("0.01")),
    )


QUOTERS = {
    Symbol("BTCUSDC"): QuoterConfig(
        half_spread_bps=Decimal(0),
        level_step_bps=Decimal("0.1"),
        size=Decimal("0.002"),
        max_inventory=Decimal("0.02"),
    ),
    Symbol("ETHUSDC"): QuoterConfig(
        half_spread_bps=Decimal(0),
        level_step_bps=Decimal("0.1"),
        size=Decimal("0.05"),
        max_inventory=Decimal("0.5"),
    ),
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    journal = args.journal or Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S") / "journal.sqlite"
    try:
        import uvloop

        return uvloop.run(
            _demo(args.duration, args.seed, journal, args.headless, args.metrics_port)
        )
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms demo",
        description="Run the embedded simulator, the OMS and a sample market-making strategy.",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    p.add_argument("--seed", type=int, default=1, help="seed of the simulated market (default 1)")
    p.add_argument("--journal", type=Path, help="journal file (default runs/demo-<time>/...)")
    p.add_argument(
        "--headless", action="store_true", help="no live view: print a line every few seconds"
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve Prometheus /metrics and JSON /status on this port (default: any free port; "
        "-1: off)",
    )
    return p


async def _demo(
    duration: float, seed: int, journal: Path, headless: bool, metrics_port: int = -1
) -> int:
    console = Console()
    console.print(f"starting the simulator and the OMS (journal: {journal})")
    stack = await start_embedded(journal_path=journal, seed=seed)
    feed = BookTickerFeed(stack.server.ws_url, DEMO_SYMBOLS)
    feed.start()
    metrics = None
    if metrics_port >= 0:
        info = RunInfo(
            venue="sim", symbols=DEMO_SYMBOLS, tops=feed.top, market_updates=lambda: feed.updates
        )
        metrics = await start_metrics_server(stack.oms, metrics_port, info=info)
        console.print(f"metrics: {metrics.url}/metrics  status: {metrics.url}/status")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    strategy = asyncio.create_task(_quote(stack, feed, stop))
    try:
        if headless:
            await _headless(stack, feed, stop, started, duration)
        else:
            with Live(console=console, refresh_per_second=4) as live:
                while not stop.is_set() and time.monotonic() - started < duration:
                    elapsed = time.monotonic() - started
                    live.update(render(stack.oms, feed.top, DEMO_SYMBOLS, elapsed))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), 0.25)
    finally:
        stop.set()
        await asyncio.gather(strategy, return_exceptions=True)
        await feed.close()
        console.print("stopping: cancelling every order of ours")
        await stack.close(cancel_orders=True)
        if metrics is not None:
            await metrics.close()
    for line in summary_lines(stack.oms, feed.top, DEMO_SYMBOLS):
        console.print(line)
    console.print(f"state hash: {stack.oms.book.state_hash()}")
    console.print(f"journal: {journal}")
    console.print(f"explore it: .venv/bin/mmoms replay {journal}  (--order ID, --export jsonl)")
    return 0


async def _quote(stack: EmbeddedStack, feed: BookTickerFeed, stop: asyncio.Event) -> None:
    """Re-quote on every top-of-book change, at most every 100 ms; place one bracket."""
    quoters = {s: SkewedQuoter(QUOTERS[s]) for s in DEMO_SYMBOLS}
    oms = stack.oms
    bracket_placed = False
    while not stop.is_set():
        if not bracket_placed and BRACKET_SYMBOL in feed.top:
            bracket_placed = True
            oms.place_group(STRATEGY, demo_bracket(*feed.top[BRACKET_SYMBOL]))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(feed.wait(), 1.0)
        for symbol, (bid, ask) in list(feed.top.items()):
            if symbol not in quoters:
                continue
            oms.set_reference_price(symbol, (bid + ask) / 2)
            oms.set_quotes(STRATEGY, symbol, quoters[symbol].levels(bid, ask, oms.position(symbol)))
        await asyncio.sleep(0.1)  # pacing: a quote refresh at most 10 times a second


async def _headless(
    stack: EmbeddedStack,
    feed: BookTickerFeed,
    stop: asyncio.Event,
    started: float,
    duration: float,
) -> None:
    while not stop.is_set():
        remaining = duration - (time.monotonic() - started)
        if remaining <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), min(remaining, 5.0))
        m = stack.oms.metrics
        print(
            f"[{time.monotonic() - started:5.1f}s] open {len(stack.oms.book.open_orders())} "
            f"requests {m.requests} saved {m.actions_saved} "
            f"positions { {s: str(stack.oms.position(s)) for s in DEMO_SYMBOLS} }",
            file=sys.stdout,
            flush=True,
        )
