"""``mmoms run --config FILE [--strategy ENTRY]``: a node with your strategies against a venue.

The command line around :class:`~mmoms.app.node.Node` (which does the work, in order: venue,
journal, engine, reconciliation, market data, strategies, clean stop):

* the config is validated (:mod:`mmoms.app.config`) and the strategies loaded from it — or from
  ``--strategy path/to/file.py:ClassName`` (also ``package.module:ClassName``), which replaces
  the config's ``[strategy] entry``; a wrong entry or parameter is a config error (exit 2);
* for a real venue the API keys are read from the environment, before anything touches the
  network, and never printed;
* ``--dry-run`` connects, reconciles, shows open orders, positions and balances, and exits
  without sending a single order (the dead-man switch is forced off: its heartbeat would arm
  ``countdownCancelAll`` on the account);
* otherwise the node trades until SIGINT / SIGTERM or ``--duration``, with status lines (or
  ``--view``, a live view) and ``/metrics`` + ``/status`` on the configured port, then cancels
  every order of ours and says whether anything is left open.

Once trading it prints one line to stdout, ``mmoms run ready venue=... metrics=URL journal=...``,
so scripts and tests can wait for it. Logs go to stderr.

Exit status: 0 clean stop, 1 failure (engine died, strategy halted, orders left open, journal in
use by another process, venue unreachable), 2 bad config or missing keys.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live

from mmoms.app.config import ConfigError, RunConfig, VenueKind, load_config
from mmoms.app.metrics import status_document
from mmoms.app.node import EXIT_FAILED, EXIT_OK, READY_PREFIX, Node, NodeOptions
from mmoms.app.status import render_status
from mmoms.app.view import node_summary, render
from mmoms.venues.binance.signing import (
    ENV_API_KEY,
    ENV_API_SECRET,
    ENV_PRIVATE_KEY,
    Credentials,
)
from mmoms.venues.errors import MissingCredentialsError

__all__ = ["READY_PREFIX", "RunOptions", "credentials_for", "main", "run"]

log = logging.getLogger("mmoms.run")

EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class RunOptions:
    duration_s: float | None = None  # None: until SIGINT / SIGTERM
    dry_run: bool = False
    journal: str | None = None  # overrides [journal]
    metrics_port: int | None = None  # overrides [metrics] port; 0 = a free port
    status_every_s: float = 10.0  # a status line on stdout; 0 = none
    view: bool = False  # a live rich view instead of status lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config, strategy_entry=args.strategy)
    except ConfigError as exc:
        print(f"config error: {exc}\n(in {args.config}; see examples/*.toml)", file=sys.stderr)
        return EXIT_USAGE
    try:
        credentials = credentials_for(config.venue.kind)
    except MissingCredentialsError as exc:
        print(_missing_keys_message(config.venue.kind, exc), file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    options = RunOptions(
        duration_s=args.duration,
        dry_run=args.dry_run,
        journal=args.journal,
        metrics_port=args.metrics_port,
        status_every_s=args.status_every,
        view=args.view,
    )
    try:
        import uvloop

        return uvloop.run(run(config, options, credentials))
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mmoms run",
        description="Run a node: your strategies on the OMS against the venue of a config file "
        "(sim, binance-testnet or binance). Stops on Ctrl-C / SIGTERM, cancelling every "
        "order of ours.",
        epilog="Keys for real venues come from the environment only: "
        f"{ENV_API_KEY} plus {ENV_API_SECRET} (HMAC) or {ENV_PRIVATE_KEY} (Ed25519 PEM). "
        "Example configs: examples/sim.toml, examples/binance-testnet.toml, examples/binance.toml; "
        "strategies: examples/strategies/. Guide: docs/strategy-guide.md.",
    )
    p.add_argument("--config", required=True, help="the TOML run configuration")
    p.add_argument(
        "--strategy",
        metavar="ENTRY",
        help="path/to/file.py:ClassName or package.module:ClassName (replaces [strategy] entry; "
        "its [strategy.params] still apply)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="connect, reconcile, show orders / positions / balances, send nothing, exit",
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: never)")
    p.add_argument("--journal", help="SQLite journal file (overrides [journal])")
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics and /status here (overrides [metrics] port; 0 picks a free port)",
    )
    p.add_argument(
        "--status-every", type=float, default=10.0, help="seconds between status lines (0: none)"
    )
    p.add_argument(
        "--view",
        action="store_true",
        help="a live terminal view: our orders (age, distance from the touch), PnL per strategy, "
        "the tape of fills, latency and alerts",
    )
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def credentials_for(kind: VenueKind) -> Credentials | None:
    """API keys of a real venue, from the environment; None for the simulator (it makes its own).

    Raises:
        MissingCredentialsError: a real venue and a key variable is unset (names it, no value).
    """
    return Credentials.from_env() if kind.is_real else None


def _missing_keys_message(kind: VenueKind, exc: MissingCredentialsError) -> str:
    return (
        f"mmoms run: venue {kind.value!r} needs API keys from the environment, and {exc}.\n"
        f"Set {ENV_API_KEY}, and either {ENV_API_SECRET} (HMAC secret) or {ENV_PRIVATE_KEY} "
        "(Ed25519 private key, PEM text; used when both are set). Keys are never read from the "
        "config file. Or try the simulator first: mmoms run --config examples/sim.toml"
    )


async def run(config: RunConfig, options: RunOptions, credentials: Credentials | None) -> int:
    """Run a node until stopped; print its summary. Returns the exit status."""
    node = Node(
        config,
        options=NodeOptions(
            duration_s=options.duration_s,
            dry_run=options.dry_run,
            journal_path=options.journal,
            metrics_port=options.metrics_port,
        ),
        credentials=credentials,
        reporter=lambda n, stop: _report(n, options, stop),
    )
    node.stop_on_signals(announce=True)
    status = await node.run()
    if options.dry_run:
        if status == EXIT_OK:
            print("dry run: nothing was sent. Run without --dry-run to trade.", file=sys.stderr)
        return status
    for line in node_summary(node):
        print(line)
    for failure in node.failures:
        print(f"WARNING: {failure}", flush=True)
    if status == EXIT_OK:
        print("stopped cleanly: no order of ours is open", flush=True)
    return status if status in (EXIT_OK, EXIT_FAILED) else EXIT_FAILED


async def _report(node: Node, options: RunOptions, stop: asyncio.Event) -> None:
    """Status lines on stdout, the live view, or (dry run) the state once."""
    assert node.oms is not None
    oms, info = node.oms, node.info
    if options.dry_run:
        Console().print(render_status(status_document(oms, info), title="mmoms run --dry-run"))
        return
    if options.view:  # the demo's live view: orders, PnL, tape, engine
        started = time.monotonic()
        title = f"mmoms run ({info.venue})"
        with Live(console=Console(), refresh_per_second=2) as live:
            while not stop.is_set():
                live.update(render(node, time.monotonic() - started, title=title))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
        return
    if options.status_every_s <= 0:
        return
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), options.status_every_s)
        if stop.is_set():
            return
        doc = status_document(oms, info)
        e = doc["engine"]
        print(
            f"[{doc['uptime_s']:7.1f}s] {doc['health']['status']} open {len(doc['open_orders'])} "
            f"requests {e['requests']} saved {e['actions_saved']} positions "
            f"{ {s: p['ours'] for s, p in doc['positions'].items()} }",
            flush=True,
        )
