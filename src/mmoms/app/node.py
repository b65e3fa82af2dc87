"""The node: one account, its journal, gateway, engine, market data and the strategies on top.

``mmoms run`` and ``mmoms demo`` are thin shells around :class:`Node`; a program can use it
directly (``rc = await Node(load_config(path)).run()``). Start-up belongs to the library, so a
strategy file runs unchanged on the simulator, testnet and Binance:

1. the venue: ``sim`` starts the embedded simulator on a free port; real venues use their hosts
   and keys from the environment (read before anything touches the network);
2. the journal: opened and locked for this process (a second process is refused at once, naming
   the first), checked to belong to this venue and account;
3. the engine recovers from the journal, connects, resolves what was in flight and reconciles
   with the venue — nothing is traded before that;
4. market data for every traded symbol: top of book and mark price always (the risk engine's
   reference price follows them; a strategy never feeds it), depth and trades where a strategy
   asked; the node waits briefly for a first price on each symbol;
5. the strategies start (``on_start``) and run until SIGINT / SIGTERM, ``duration_s``, the
   engine's failure, or every strategy halted;
6. the stop: ``on_stop``, every order of ours cancelled (a dead engine: swept with cancel-all at
   once), the journal snapshotted; the run says whether anything of ours is left open.

Exit status: 0 clean stop; 1 a failure (engine died, a strategy halted, orders left open,
journal in use, venue unreachable).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mmoms.app.config import RunConfig, StrategySpec, VenueKind
from mmoms.app.metrics import MetricsServer, RunInfo, start_metrics_server
from mmoms.app.node_parts import (
    StartError,
    balances,
    close_quietly,
    journal_identity,
    open_store,
    start_sim,
    until_reconciled,
)
from mmoms.app.tape import FillTape
from mmoms.core.clock import LiveClock
from mmoms.core.errors import MmomsError
from mmoms.core.ids import Symbol
from mmoms.core.market import AnyMarketData, MarketState, MarketUpdate, MarkPriceUpdate
from mmoms.engine.oms import OrderManager
from mmoms.journal.store import JournalError, JournalStore
from mmoms.strategy.base import Strategy
from mmoms.strategy.host import StrategyHost
from mmoms.strategy.router import Binding, StrategyRouter, attach
from mmoms.venues.binance.config import BinanceConfig
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.marketcodec import MarketSubscription, route_mode_for
from mmoms.venues.binance.marketdata import BinanceMarketData
from mmoms.venues.binance.signing import Credentials

__all__ = ["EXIT_FAILED", "EXIT_OK", "Node", "NodeOptions"]

log = logging.getLogger("mmoms.node")

EXIT_OK, EXIT_FAILED = 0, 1
FIRST_PRICE_TIMEOUT_S = 5.0

Reporter = Callable[["Node", asyncio.Event], Coroutine[Any, Any, None]]
"""Something that shows the running node (status lines, a live view) until the event is set."""


@dataclass(frozen=True, slots=True)
class NodeOptions:
    duration_s: float | None = None  # None: until stop() / SIGINT / SIGTERM
    dry_run: bool = False  # connect, reconcile, show, send nothing
    journal_path: str | None = None  # overrides [journal]
    metrics_port: int | None = None  # overrides [metrics] port; 0 = a free port
    ready_line: bool = True  # print "mmoms run ready ..." on stdout once trading


READY_PREFIX = "mmoms run ready "


class Node:
    """One account's engine with its strategies. ``await node.run()`` returns the exit status."""

    def __init__(
        self,
        config: RunConfig,
        strategies: Sequence[tuple[StrategySpec, Strategy]] | None = None,
        options: NodeOptions | None = None,
        *,
        credentials: Credentials | None = None,
        reporter: Reporter | None = None,
    ) -> None:
        """``strategies``: the instances to run (default: built from the config's specs);
        ``credentials``: a real venue's keys (the simulator makes its own)."""
        self.config = config
        self.options = options or NodeOptions()
        self._pairs = list(strategies) if strategies is not None else [
            (spec, spec.build()) for spec in config.strategies
        ]  # fmt: skip
        self._credentials = credentials
        self._reporter = reporter
        self.market = MarketState()
        self.hosts: list[StrategyHost] = []
        self.oms: OrderManager | None = None
        self.feed: BinanceMarketData | None = None
        self.metrics_server: MetricsServer | None = None
        self.info = RunInfo(venue=config.venue.kind.value, symbols=config.symbols)
        self.journal_where = ""
        self.stop_event = asyncio.Event()
        self.trading = asyncio.Event()  # set once the strategies have started
        self.failures: list[str] = []
        self.tape = FillTape()  # the last fills, for the live view
        self._router: StrategyRouter | None = None
        self._engine_error: BaseException | None = None

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return self.config.symbols

    @property
    def batch_window_s(self) -> float:
        return self.config.oms.batch_window_s

    def stop(self) -> None:
        """Ask the node to stop (cancel everything, exit). Safe to call from a signal."""
        self.stop_event.set()

    def stop_on_signals(self, *, announce: bool = False) -> None:
        """SIGINT and SIGTERM stop the node (in the running loop); ``announce``: a second one
        says that the stop is under way."""
        loop = asyncio.get_running_loop()

        def handle() -> None:
            if announce and self.stop_event.is_set():
                print("already stopping: cancelling orders, please wait", file=sys.stderr)
            self.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, handle)

    async def run(self) -> int:
        """Start, trade until stopped, stop cleanly; the exit status (see the module doc)."""
        try:  # the journal first: a second process on it is refused before it starts anything
            store, self.journal_where = open_store(self.config, self.options.journal_path)
            await store.open()
        except (StartError, JournalError) as exc:
            print(f"mmoms: {exc}", file=sys.stderr)
            return EXIT_FAILED
        venue = self.config.venue
        if venue.kind is not VenueKind.SIM:
            if self._credentials is None:
                raise ValueError("a real venue needs credentials (credentials_for())")
            return await self._run(store, venue.binance, self._credentials, venue.market_data_url)
        try:
            sim, binance, credentials = await start_sim(self.config)
        except OSError as exc:
            print(f"mmoms: cannot start the simulator: {exc}", file=sys.stderr)
            await store.close()
            return EXIT_FAILED
        try:
            return await self._run(store, binance, credentials, sim.ws_url)
        finally:
            await sim.close()

    async def _run(
        self, store: JournalStore, binance: BinanceConfig, credentials: Credentials, market_url: str
    ) -> int:
        config, options = self.config, self.options
        oms_config = replace(config.oms, dead_man_switch_ms=0) if options.dry_run else config.oms
        gateway = BinanceGateway(binance, credentials)
        self.info.stream_ignored = lambda: _ignored(gateway)
        self.oms = oms = OrderManager(gateway, store, oms_config, clock=LiveClock())
        where = self.journal_where
        print(f"starting: venue {config.venue.kind.value}, journal {where}", file=sys.stderr)
        try:
            await oms.start(identity=journal_identity(config, binance))
        except (MmomsError, OSError) as exc:
            print(f"mmoms: could not start: {exc}", file=sys.stderr)
            await close_quietly(gateway, store)
            return EXIT_FAILED
        engine = asyncio.create_task(oms.run(), name="oms")
        if not await until_reconciled(oms, engine, self.stop_event):
            self.failures.append("not reconciled with the venue")
            return await self._shutdown(engine, cancel_orders=False)
        self.info.balances = {b.asset: b for b in await balances(gateway)}
        if options.dry_run:
            self.info.dry_run = True
            if self._reporter is not None:  # shows the state once, sends nothing
                self.stop_event.set()
                await self._reporter(self, self.stop_event)
            return await self._shutdown(engine, cancel_orders=False)
        return await self._trade(engine, market_url)

    async def _trade(self, engine: asyncio.Task[None], market_url: str) -> int:
        assert self.oms is not None
        oms, config, options = self.oms, self.config, self.options
        oms.add_listener(self.tape.hear)  # the live view's tape: fills from here on
        self.feed = feed = BinanceMarketData(
            market_url,
            self._subscriptions(),
            routes=route_mode_for(market_url),
            on_update=self._on_market,
            market=self.market,  # the feed keeps it; views and risk read it
        )
        self.info.tops, self.info.market_updates = self.market.pairs(), lambda: feed.updates
        self.info.strategies = self.hosts
        feed.start()
        try:
            await self._serve_metrics()
            missing = await feed.wait_first(self.symbols, FIRST_PRICE_TIMEOUT_S)
            if missing:
                log.warning("no price yet for %s: their orders wait for one", sorted(missing))
            self._start_strategies(oms)
            if config.venue.kind is VenueKind.BINANCE:
                log.warning("LIVE TRADING on Binance production: %s", ", ".join(self.symbols))
            if options.ready_line:
                url = self.metrics_server.url if self.metrics_server else "off"
                print(
                    f"{READY_PREFIX}venue={self.info.venue} symbols={','.join(self.symbols)} "
                    f"metrics={url} journal={self.journal_where}",
                    flush=True,
                )
            await self._wait(engine)
        finally:
            if self._router is not None:
                self._router.stop()
            status = await self._shutdown(engine, cancel_orders=True)
            await feed.close()
            if self.metrics_server is not None:
                await self.metrics_server.close()
        return status

    def _subscriptions(self) -> list[MarketSubscription]:
        subs = []
        for symbol in self.symbols:
            strategies = [s for spec, s in self._pairs if symbol in spec.symbols]
            depth = max((s.depth_levels for s in strategies), default=0)
            subs.append(
                MarketSubscription(
                    symbol=symbol,
                    depth=depth or None,
                    trades=any(s.trades for s in strategies),
                )
            )
        return subs

    def _on_market(self, update: AnyMarketData) -> None:
        """Stored by the feed already (views read it); the risk reference, then the strategies."""
        assert self.oms is not None
        if isinstance(update, MarkPriceUpdate):
            self.oms.set_reference_price(update.symbol, update.mark_price)
        elif isinstance(update, MarketUpdate) and update.symbol not in self.market.marks:
            self.oms.set_reference_price(update.symbol, update.mid)  # until the first mark
        if self._router is not None:
            self._router.market(update)

    def _start_strategies(self, oms: OrderManager) -> None:
        bindings = [
            Binding(spec.strategy_id, strategy, spec.symbols, spec.on_callback_error)
            for spec, strategy in self._pairs
        ]
        self._router = router = attach(oms, self.market, bindings, on_halted=self._halted)
        self.hosts.extend(router.hosts.values())
        self.trading.set()
        router.start()

    def _halted(self, host: StrategyHost) -> None:
        self.failures.append(f"strategy {host.strategy_id} halted")
        if all(h.state == "halted" for h in self.hosts):
            log.error("every strategy is halted: stopping the node")
            self.stop_event.set()

    async def _wait(self, engine: asyncio.Task[None]) -> None:
        waiter = asyncio.create_task(self.stop_event.wait())
        tasks: set[asyncio.Task[None] | asyncio.Task[bool]] = {waiter, engine}
        reporting: asyncio.Task[None] | None = None
        if self._reporter is not None:
            reporting = asyncio.create_task(self._reporter(self, self.stop_event))
        try:
            await asyncio.wait(
                tasks, timeout=self.options.duration_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self.stop_event.set()
            if reporting is not None:
                await asyncio.gather(reporting, return_exceptions=True)
            await asyncio.gather(waiter, return_exceptions=True)

    async def _serve_metrics(self) -> None:
        assert self.oms is not None
        port = self.config.metrics.port
        if self.options.metrics_port is not None:
            port = self.options.metrics_port
        if not port and self.options.metrics_port != 0:
            return
        host = self.config.metrics.host
        try:
            self.metrics_server = await start_metrics_server(
                self.oms, port, host=host, info=self.info
            )
        except OSError as exc:  # not worth stopping a market maker for: say it, go on
            log.error("cannot serve metrics on %s:%s (%s)", host, port, exc.strerror)

    async def _shutdown(self, engine: asyncio.Task[None], *, cancel_orders: bool) -> int:
        """Stop the engine (cancelling our orders if asked), close it, say how it went."""
        assert self.oms is not None
        oms = self.oms
        if engine.done():
            self._engine_failed(engine)  # said before the sweep it causes
        await oms.stop(cancel_orders=cancel_orders)
        try:
            await asyncio.wait_for(asyncio.shield(engine), 10)
        except TimeoutError:
            log.error("the engine did not stop within 10 s")
            self.failures.append("engine did not stop")
        except Exception:
            self._engine_failed(engine)  # it died while stopping
        await oms.close()
        if cancel_orders:
            left = [o for o in oms.book.open_orders() if not o.external]
            if left:
                ids = ", ".join(o.client_order_id for o in left[:10])
                self.failures.append(f"{len(left)} orders of ours may still be open: {ids}")
        return EXIT_FAILED if self.failures else EXIT_OK

    def _engine_failed(self, engine: asyncio.Task[None]) -> None:
        """The engine task's exception, said once with its traceback, if it ended with one."""
        exc = None if engine.cancelled() else engine.exception()
        if exc is None or self._engine_error is not None:
            return
        self._engine_error = exc
        log.error("the engine failed; cancelling what can be cancelled", exc_info=exc)
        self.failures.append(f"engine failed: {exc!r}")


def _ignored(gateway: BinanceGateway) -> dict[str, int]:
    stats = gateway.stream_stats
    return {} if stats is None else dict(stats.by_kind)
