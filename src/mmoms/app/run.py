"""``mmoms run --config FILE``: the OMS and the skewed quoter against a configured venue.

What happens, in order:

1. The config is validated (:mod:`mmoms.app.config`); for a real venue the API keys are read from
   the environment — before anything touches the network, and never printed.
2. The venue: ``sim`` starts the embedded simulator on a free local port (a fresh key pair per
   run); ``binance-testnet`` / ``binance`` use their hosts, or the URLs the config overrides.
3. Gateway, journal and OrderManager start; the OMS recovers from the journal and reconciles with
   the venue. Nothing is quoted before the first reconciliation is done.
4. ``--dry-run`` stops here: it prints open orders, positions and balances and exits without
   sending a single order. The dead-man switch is forced off for a dry run — its heartbeat arms
   ``countdownCancelAll``, which would cancel the account's orders after we exit.
5. Otherwise: the top-of-book feed, the metrics server (``/metrics`` + ``/status``) and the
   quoter (one :class:`SkewedQuoter` per symbol) run until SIGINT / SIGTERM or ``--duration``;
   then every order of ours is cancelled, the journal snapshotted, and the run says whether
   anything of ours is left open (exit 1 if so).

Once ready it prints one line to stdout, ``mmoms run ready venue=... metrics=URL journal=...``, so
scripts and tests can wait for it. Logs go to stderr.

Exit status: 0 clean stop, 1 failure or orders left open, 2 bad config or missing keys.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live

from mmoms.app.config import ConfigError, RunConfig, VenueKind, load_config
from mmoms.app.marketdata import BookTickerFeed
from mmoms.app.metrics import MetricsServer, RunInfo, start_metrics_server, status_document
from mmoms.app.quoter import SkewedQuoter
from mmoms.app.status import render_status
from mmoms.app.view import summary_lines
from mmoms.core.errors import MmomsError
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.reports import BalanceReport
from mmoms.engine.oms import OmsNotRunningError, OmsOverloadedError, OrderManager
from mmoms.journal.store import JournalStore
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import (
    ENV_API_KEY,
    ENV_API_SECRET,
    ENV_PRIVATE_KEY,
    Credentials,
)
from mmoms.venues.errors import MissingCredentialsError

if TYPE_CHECKING:
    from mmoms.sim.server import SimServer

__all__ = ["READY_PREFIX", "RunOptions", "credentials_for", "main", "run"]

log = logging.getLogger("mmoms.run")

READY_PREFIX = "mmoms run ready "
RECONCILE_TIMEOUT_S = 30.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class RunOptions:
    duration_s: float | None = None  # None: until SIGINT / SIGTERM
    dry_run: bool = False
    journal: Path | None = None  # overrides [journal]
    metrics_port: int | None = None  # overrides [metrics] port; 0 = a free port
    status_every_s: float = 10.0  # a status line on stdout; 0 = none
    view: bool = False  # a live rich view instead of status lines


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
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
        description="Run the OMS with the skewed quoter against the venue of a config file "
        "(sim, binance-testnet or binance). Stops on Ctrl-C / SIGTERM, cancelling every "
        "order of ours.",
        epilog="Keys for real venues come from the environment only: "
        f"{ENV_API_KEY} plus {ENV_API_SECRET} (HMAC) or {ENV_PRIVATE_KEY} (Ed25519 PEM). "
        "Example configs: examples/sim.toml, examples/binance-testnet.toml, examples/binance.toml.",
    )
    p.add_argument("--config", type=Path, required=True, help="the TOML run configuration")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="connect, reconcile, show orders / positions / balances, send nothing, exit",
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: never)")
    p.add_argument("--journal", type=Path, help="SQLite journal file (overrides [journal])")
    p.add_argument(
        "--metrics-port",
        type=int,
        help="serve /metrics and /status here (overrides [metrics] port; 0 picks a free port)",
    )
    p.add_argument(
        "--status-every", type=float, default=10.0, help="seconds between status lines (0: none)"
    )
    p.add_argument("--view", action="store_true", help="a live terminal view of the state")
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


# -- the run ------------------------------------------------------------------------------------


async def run(config: RunConfig, options: RunOptions, credentials: Credentials | None) -> int:
    """Start, quote (or show, for a dry run), stop cleanly. Returns the exit status."""
    stop = asyncio.Event()  # SIGINT / SIGTERM; during start-up too
    _on_signals(stop)
    if config.venue.kind is not VenueKind.SIM:
        assert credentials is not None, "credentials_for() is called first"
        venue = config.venue
        return await _start(
            config, options, venue.binance, credentials, venue.market_data_url, stop
        )
    sim, binance, sim_credentials = await _start_sim(config)
    try:
        return await _start(config, options, binance, sim_credentials, sim.ws_url, stop)
    finally:
        await sim.close()


async def _start(
    config: RunConfig,
    options: RunOptions,
    binance: BinanceConfig,
    credentials: Credentials,
    market_url: str,
    stop: asyncio.Event,
) -> int:
    journal = _journal_path(config, options)
    store = _open_store(config, journal)
    oms_config = replace(config.oms, dead_man_switch_ms=0) if options.dry_run else config.oms
    gateway = BinanceGateway(binance, credentials)
    oms = OrderManager(gateway, store, oms_config)
    reconciled = asyncio.Event()

    def after_batch() -> None:
        if oms.metrics.reconciliations:
            reconciled.set()

    oms.add_batch_listener(after_batch)
    where = "postgres" if journal is None else str(journal)
    print(f"starting: venue {config.venue.kind.value}, journal {where}", file=sys.stderr)
    try:
        await oms.start()
    except (MmomsError, OSError) as exc:
        print(f"mmoms run: could not start: {exc}", file=sys.stderr)
        await _close_quietly(gateway, store)
        return EXIT_FAILED
    engine = asyncio.create_task(oms.run(), name="oms")
    if not await _until_reconciled(reconciled, engine, stop):
        await _shutdown(oms, engine, cancel_orders=False)
        return EXIT_FAILED
    info = RunInfo(
        venue=config.venue.kind.value,
        dry_run=options.dry_run,
        symbols=config.symbols,
        balances={b.asset: b for b in await _balances(gateway)},
    )
    if options.dry_run:
        Console().print(render_status(status_document(oms, info), title="mmoms run --dry-run"))
        ok = await _shutdown(oms, engine, cancel_orders=False)
        print("dry run: nothing was sent. Run without --dry-run to quote.", file=sys.stderr)
        return EXIT_OK if ok else EXIT_FAILED
    return await _trade(config, options, oms, engine, info, market_url, where, stop)


async def _trade(
    config: RunConfig,
    options: RunOptions,
    oms: OrderManager,
    engine: asyncio.Task[None],
    info: RunInfo,
    market_url: str,
    journal: str,
    stop: asyncio.Event,
) -> int:
    port = config.metrics.port if options.metrics_port is None else options.metrics_port
    server: MetricsServer | None = None
    if port or options.metrics_port == 0:
        try:
            server = await start_metrics_server(oms, port, host=config.metrics.host, info=info)
        except OSError as exc:
            print(
                f"mmoms run: cannot serve metrics on {config.metrics.host}:{port} ({exc.strerror});"
                " change [metrics] port or pass --metrics-port",
                file=sys.stderr,
            )
            await _shutdown(oms, engine, cancel_orders=False)
            return EXIT_FAILED
    feed = BookTickerFeed(market_url, config.symbols)
    feed.start()
    info.tops, info.market_updates = feed.top, lambda: feed.updates
    failures: list[BaseException] = []
    try:
        if config.venue.kind is VenueKind.BINANCE:
            log.warning("LIVE TRADING on Binance production, symbols %s", ", ".join(config.symbols))
        print(
            f"{READY_PREFIX}venue={info.venue} symbols={','.join(config.symbols)} "
            f"metrics={server.url if server else 'off'} journal={journal}",
            flush=True,
        )
        quoting = asyncio.create_task(_quote(config, oms, feed, stop), name="quoter")
        reporting = asyncio.create_task(_report(oms, info, options, stop), name="report")
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait(
            {waiter, engine, quoting},
            timeout=options.duration_s,
            return_when=asyncio.FIRST_COMPLETED,
        )
        stop.set()
        results = await asyncio.gather(quoting, reporting, waiter, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for failure in failures:
            log.error("a task failed", exc_info=failure)
        print("stopping: cancelling every order of ours", file=sys.stderr)
    finally:
        await feed.close()
        engine_ok = await _shutdown(oms, engine, cancel_orders=True)
        if server is not None:
            await server.close()
    for line in summary_lines(oms, feed.top, config.symbols):
        print(line)
    left = [o for o in oms.book.open_orders() if not o.external]
    if left:
        print(
            f"WARNING: {len(left)} orders of ours may still be open: "
            f"{', '.join(o.client_order_id for o in left[:10])}; check the venue "
            "(mmoms run --dry-run shows them)",
            flush=True,
        )
        return EXIT_FAILED
    print("stopped cleanly: no order of ours is open", flush=True)
    return EXIT_OK if engine_ok and not failures else EXIT_FAILED


async def _quote(
    config: RunConfig, oms: OrderManager, feed: BookTickerFeed, stop: asyncio.Event
) -> None:
    """Re-quote on top-of-book changes, at most once per ``refresh_ms``."""
    strategy = config.strategy
    quoters = {s: SkewedQuoter(q) for s, q in strategy.quoters.items()}
    pulled = False
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(feed.wait(), 1.0)
        if stop.is_set():
            return
        try:
            if oms.risk.kill_reason is None:
                pulled = False
                _refresh(oms, strategy.strategy_id, quoters, feed)
            elif not pulled:  # the risk engine refuses new orders; take the quotes down too
                log.error("kill switch engaged (%s): quotes pulled", oms.risk.kill_reason)
                for symbol in quoters:
                    oms.set_quotes(strategy.strategy_id, symbol, [])
                pulled = True
        except OmsOverloadedError:
            log.warning("engine queue full: skipping one quote refresh")
        except OmsNotRunningError:
            return
        with contextlib.suppress(TimeoutError):  # pacing: wake early only to stop
            await asyncio.wait_for(stop.wait(), strategy.refresh_s)


def _refresh(
    oms: OrderManager,
    strategy_id: StrategyId,
    quoters: dict[Symbol, SkewedQuoter],
    feed: BookTickerFeed,
) -> None:
    for symbol, (bid, ask) in list(feed.top.items()):
        quoter = quoters.get(symbol)
        if quoter is None:
            continue
        oms.set_reference_price(symbol, (bid + ask) / 2)
        oms.set_quotes(strategy_id, symbol, quoter.levels(bid, ask, oms.position(symbol)))


async def _report(
    oms: OrderManager, info: RunInfo, options: RunOptions, stop: asyncio.Event
) -> None:
    """Status lines on stdout, or the live view."""
    if options.view:
        with Live(console=Console(), refresh_per_second=2) as live:
            while not stop.is_set():
                live.update(render_status(status_document(oms, info), title="mmoms run"))
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


# -- pieces -------------------------------------------------------------------------------------


async def _start_sim(config: RunConfig) -> tuple[SimServer, BinanceConfig, Credentials]:
    """The embedded simulator on a free port, with an account whose key pair lives in memory."""
    from mmoms.app.stack import demo_sim_config, start_local_sim

    sim = await start_local_sim(demo_sim_config(config.venue.sim_seed))
    server = sim.server
    v = config.venue.binance
    binance = BinanceConfig.local(
        server.rest_url,
        server.ws_url,
        order_transport=v.order_transport,
        recv_window_ms=v.recv_window_ms,
        request_timeout_s=v.request_timeout_s,
    )
    return server, binance, sim.credentials


def _journal_path(config: RunConfig, options: RunOptions) -> Path | None:
    """The SQLite file to use; None when the journal is PostgreSQL."""
    if options.journal is not None:
        return options.journal
    if config.journal.postgres_dsn is not None:
        return None
    if config.journal.sqlite_path is not None:
        return config.journal.sqlite_path
    kind = config.venue.kind.value
    if config.venue.kind is VenueKind.SIM:  # a fresh simulator: a fresh journal
        return Path("runs") / time.strftime(f"{kind}-%Y%m%d-%H%M%S") / "journal.sqlite"
    return Path("runs") / kind / "journal.sqlite"  # stable: a restart recovers from it


def _open_store(config: RunConfig, path: Path | None) -> JournalStore:
    if path is None:
        from mmoms.journal.postgres import PostgresJournalStore

        dsn = config.journal.postgres_dsn
        assert dsn is not None
        return PostgresJournalStore(dsn, schema=config.journal.postgres_schema)
    from mmoms.journal.sqlite import SqliteJournalStore

    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteJournalStore(path)


async def _until_reconciled(
    reconciled: asyncio.Event, engine: asyncio.Task[None], stop: asyncio.Event
) -> bool:
    waiters = {asyncio.create_task(reconciled.wait()), asyncio.create_task(stop.wait())}
    done, _ = await asyncio.wait(
        {*waiters, engine}, timeout=RECONCILE_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
    )
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    if reconciled.is_set():
        return True
    if stop.is_set():
        print("mmoms run: stopped during start-up; nothing was sent", file=sys.stderr)
        return False
    why = "the engine stopped" if engine in done else f"not within {RECONCILE_TIMEOUT_S:.0f} s"
    print(
        f"mmoms run: could not reconcile with the venue ({why}); check the URLs and the "
        "network, and the log above",
        file=sys.stderr,
    )
    return False


async def _balances(gateway: BinanceGateway) -> list[BalanceReport]:
    try:
        return await gateway.balances()
    except MmomsError as exc:
        log.warning("balances not available: %s", exc)
        return []


async def _shutdown(oms: OrderManager, engine: asyncio.Task[None], *, cancel_orders: bool) -> bool:
    """Stop the engine (cancelling our orders if asked), close it; False if the engine failed.

    If the engine loop died, ``stop`` still sweeps every symbol with a venue-side cancel-all
    once its wait for the cancels times out: our orders must not outlive us.
    """
    await oms.stop(cancel_orders=cancel_orders)
    ok = True
    try:
        await asyncio.wait_for(engine, 10)
    except TimeoutError:
        log.error("the engine did not stop within 10 s")
        ok = False
    except Exception as exc:  # the engine's own failure: report it, then still close
        log.error("the engine failed", exc_info=exc)
        ok = False
    await oms.close()
    return ok


async def _close_quietly(gateway: BinanceGateway, store: JournalStore) -> None:
    """After a failed start: release what may have been opened; the start error is reported."""
    for close in (gateway.close, store.close):
        try:
            await close()
        except (MmomsError, OSError) as exc:
            log.warning("while cleaning up after the failed start: %s", exc)


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def handle() -> None:
        if stop.is_set():
            print("already stopping: cancelling orders, please wait", file=sys.stderr)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, handle)
