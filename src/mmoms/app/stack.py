"""Wiring: the embedded stack — simulator, Binance gateway, journal, OrderManager — in one process.

Used by ``mmoms demo``, the end-to-end tests and the benchmarks. The simulator runs on a port
of its own on 127.0.0.1 and the gateway talks to it over real HTTP and WebSocket, exactly as it
would to Binance: only the base URLs differ. The simulator's API key pair is generated per run
and never written anywhere.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from mmoms.core.clock import Clock, LiveClock
from mmoms.core.ids import Symbol
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig, SymbolLimits
from mmoms.journal.sqlite import SqliteJournalStore
from mmoms.journal.store import JournalStore
from mmoms.sim.clock import LiveSimClock
from mmoms.sim.config_model import AccountConfig, MarketParams, SimConfig, default_symbols
from mmoms.sim.exchange import SimExchange
from mmoms.sim.faults import FaultInjector
from mmoms.sim.server import SimServer, start_server
from mmoms.venues.binance.config import BinanceConfig, OrderTransport
from mmoms.venues.binance.gateway import BinanceGateway
from mmoms.venues.binance.signing import Credentials

DEMO_SYMBOLS = (Symbol("BTCUSDC"), Symbol("ETHUSDC"))


def demo_limits() -> dict[Symbol, SymbolLimits]:
    return {
        Symbol("BTCUSDC"): SymbolLimits(
            max_order_qty=Decimal("0.05"),
            max_order_notional=Decimal(10_000),
            max_open_orders=40,
            max_position=Decimal("0.1"),
            price_band_pct=Decimal(2),
        ),
        Symbol("ETHUSDC"): SymbolLimits(
            max_order_qty=Decimal("1"),
            max_order_notional=Decimal(10_000),
            max_open_orders=40,
            max_position=Decimal("2"),
            price_band_pct=Decimal(2),
        ),
    }


def demo_sim_config(seed: int) -> SimConfig:
    """The default symbols with a livelier synthetic market: thinner levels, larger and more
    frequent trades, so resting quotes fill within seconds and the demo shows fills."""
    lively = {
        "BTCUSDC": MarketParams(level_qty="0.040", trade_qty_mean="0.060", trade_probability=0.5),
        "ETHUSDC": MarketParams(level_qty="0.800", trade_qty_mean="1.200", trade_probability=0.5),
        "BTCUSDT": MarketParams(level_qty="0.040", trade_qty_mean="0.060", trade_probability=0.5),
    }
    symbols = tuple(
        replace(s, market=lively[s.symbol]) if s.symbol in lively else s for s in default_symbols()
    )
    return SimConfig(symbols=symbols, seed=seed)


def demo_oms_config(symbols: Sequence[Symbol] = DEMO_SYMBOLS, **overrides: object) -> OmsConfig:
    base: dict[str, object] = {
        # 20 orders/s stays under Binance's 300 per 10 s with room for cancels.
        "risk": RiskConfig(limits=demo_limits(), max_orders_per_second=20),
        "symbols": tuple(symbols),
        "tolerance": {s: Tolerance(price_ticks=10, qty_pct=Decimal(50)) for s in symbols},
        "reconcile_interval_s": 15.0,
    }
    base.update(overrides)
    return OmsConfig(**base)  # type: ignore[arg-type]


@dataclass
class EmbeddedStack:
    """A running simulator + gateway + OMS. ``await stack.close()`` stops all of it."""

    server: SimServer
    exchange: SimExchange
    gateway: BinanceGateway
    oms: OrderManager
    journal_path: Path | None
    run_task: asyncio.Task[None]
    api_key: str  # the simulated account's key (public; the secret is not kept)
    _closed: bool = field(default=False, repr=False)

    async def close(self, *, cancel_orders: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        await self.oms.stop(cancel_orders=cancel_orders)
        await asyncio.wait_for(self.run_task, 10)
        await self.oms.close()
        await self.server.close()


@dataclass(frozen=True)
class LocalSim:
    server: SimServer
    exchange: SimExchange
    credentials: Credentials  # of the one account it was started with; held in memory only


async def start_local_sim(config: SimConfig, *, faults: FaultInjector | None = None) -> LocalSim:
    """The simulator on a free port of 127.0.0.1, with one account whose API key pair is made
    for this run and never written anywhere.

    Raises:
        OSError: no port could be bound.
    """
    api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
    account = AccountConfig(api_key=api_key, api_secret=api_secret)
    exchange = SimExchange(LiveSimClock(), replace(config, accounts=(*config.accounts, account)))
    server = await start_server("127.0.0.1", 0, exchange, faults=faults)
    return LocalSim(server, exchange, Credentials.hmac(api_key, api_secret))


async def start_embedded(
    *,
    journal_path: Path | None,
    store: JournalStore | None = None,
    oms_config: OmsConfig | None = None,
    sim_config: SimConfig | None = None,
    seed: int = 1,
    transport: OrderTransport = OrderTransport.REST,
    clock: Clock | None = None,
    faults: FaultInjector | None = None,
) -> EmbeddedStack:
    """Start the simulator on a free port, then a gateway and an OMS pointed at it.

    ``faults``: the simulator's fault injector (tests add rules to it, or through the admin
    endpoints, to run the stack under injected faults); default: one with no rules.

    Raises:
        OSError: no port could be bound. MmomsError / VenueError: the stack could not start.
    """
    sim = await start_local_sim(sim_config or demo_sim_config(seed), faults=faults)
    server, exchange, api_key = sim.server, sim.exchange, sim.credentials.api_key
    gateway = BinanceGateway(
        BinanceConfig.local(server.rest_url, server.ws_url, order_transport=transport),
        sim.credentials,
        clock=clock,
    )
    if store is None:
        if journal_path is None:
            raise ValueError("either a journal path or a store is needed")
        journal_path.parent.mkdir(parents=True, exist_ok=True)
        store = SqliteJournalStore(journal_path, durability="process")  # the node default
    oms = OrderManager(gateway, store, oms_config or demo_oms_config(), clock=clock or LiveClock())
    try:
        await oms.start()
    except BaseException:
        await server.close()
        raise
    run_task = asyncio.create_task(oms.run(), name="oms")
    return EmbeddedStack(server, exchange, gateway, oms, journal_path, run_task, api_key)
