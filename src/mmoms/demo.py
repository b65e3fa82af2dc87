"""``mmoms demo``: the embedded simulator, the OMS and two strategies, in one command.

It runs the node of ``examples/demo.toml`` — exactly what ``mmoms run --config
examples/demo.toml`` runs — with a live view: the simulator on a free local port, the Binance
gateway against it over real HTTP and WebSocket, the journal in SQLite, and two strategies
written against the public Strategy API (``examples/strategies/``): the skewed quoter on BTCUSDC
and ETHUSDC, and an entry-with-bracket strategy on BTCUSDT. It runs for ``--duration`` seconds
(or until Ctrl-C), cancels everything, prints a summary, and says where the journal is and how
to replay it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
import tomllib
from pathlib import Path

from rich.console import Console
from rich.live import Live

from mmoms.app.config import ConfigError, RunConfig, parse_config
from mmoms.app.node import Node, NodeOptions
from mmoms.app.view import node_summary, render

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo.toml"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    journal = args.journal or Path("runs") / time.strftime("demo-%Y%m%d-%H%M%S") / "journal.sqlite"
    try:
        config = demo_config(args.seed)
    except ConfigError as exc:
        print(f"mmoms demo: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        import uvloop

        return uvloop.run(_demo(config, args, journal))
    except KeyboardInterrupt:
        return 130


def demo_config(seed: int) -> RunConfig:
    """``examples/demo.toml`` with the simulator's seed set.

    Raises:
        ConfigError: the file is missing or invalid.
    """
    try:
        data = tomllib.loads(DEMO_CONFIG.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {DEMO_CONFIG}: {exc}") from None
    data["venue"]["seed"] = seed
    return parse_config(data, base_dir=DEMO_CONFIG.parent)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms demo",
        description="Run the embedded simulator, the OMS and two sample strategies "
        "(examples/demo.toml, examples/strategies/).",
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


async def _demo(config: RunConfig, args: argparse.Namespace, journal: Path) -> int:
    console = Console()
    console.print(f"starting the simulator, the OMS and the strategies (journal: {journal})")
    options = NodeOptions(
        duration_s=args.duration,
        journal_path=str(journal),
        metrics_port=None if args.metrics_port < 0 else args.metrics_port,
        ready_line=False,
    )
    show = _headless if args.headless else _live
    node = Node(config, options=options, reporter=lambda n, stop: show(n, stop, console))
    node.stop_on_signals()
    status = await node.run()
    if node.oms is not None and node.trading.is_set():
        console.print("stopped: every order of ours was cancelled" if status == 0 else "")
        for line in node_summary(node):
            console.print(line)
        console.print(f"state hash: {node.oms.book.state_hash()}")
    for failure in node.failures:
        console.print(f"WARNING: {failure}")
    console.print(f"journal: {journal}")
    console.print(f"explore it: .venv/bin/mmoms replay {journal}  (--order ID, --export jsonl)")
    return status


async def _live(node: Node, stop: asyncio.Event, console: Console) -> None:
    started = time.monotonic()
    if node.metrics_server is not None:
        url = node.metrics_server.url
        console.print(f"metrics: {url}/metrics  status: {url}/status")
    with Live(console=console, refresh_per_second=4) as live:
        while not stop.is_set():
            live.update(render(node, time.monotonic() - started, title="mmoms demo"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


async def _headless(node: Node, stop: asyncio.Event, console: Console) -> None:
    started = time.monotonic()
    if node.metrics_server is not None:
        url = node.metrics_server.url
        print(f"metrics: {url}/metrics  status: {url}/status", flush=True)
    assert node.oms is not None
    oms = node.oms
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5.0)
        m = oms.metrics
        quoted = {s: len(oms.book.open_orders(s)) for s in node.symbols}
        positions = {s: str(oms.position(s)) for s in node.symbols}
        print(
            f"[{time.monotonic() - started:5.1f}s] open {quoted} requests {m.requests} "
            f"saved {m.actions_saved} positions {positions}",
            flush=True,
        )
