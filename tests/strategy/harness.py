"""Strategies hosted on an OrderManager against the in-memory venue: the engine is real, the
venue is :class:`~tests.engine.fake_gateway.FakeGateway`, market data is fed by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D

from mmoms.core.clock import LiveClock
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.market import MarketState, MarketUpdate, MarkPriceUpdate
from mmoms.engine.config import OmsConfig
from mmoms.engine.diff import Tolerance
from mmoms.engine.oms import OrderManager
from mmoms.engine.risk import RiskConfig
from mmoms.engine.strategy_limits import StrategyLimits
from mmoms.journal.memory import InMemoryJournalStore, MemoryJournal
from mmoms.strategy.base import Strategy
from mmoms.strategy.host import ErrorPolicy, StrategyHost
from mmoms.strategy.router import Binding, StrategyRouter, attach
from tests.engine.fake_gateway import SYM, FakeGateway
from tests.engine.test_oms import LIMITS  # the engine tests' limits: the same fake account
from tests.waiting import until


@dataclass
class Node:
    oms: OrderManager
    venue: FakeGateway
    market: MarketState
    router: StrategyRouter
    run_task: asyncio.Task[None]
    changed: asyncio.Event
    halted: list[StrategyHost] = field(default_factory=list)

    async def until(self, cond: Callable[[], bool], timeout_s: float = 5) -> None:
        """Wait until ``cond`` holds, re-checking after every engine batch."""
        await until(self.changed, cond, timeout_s=timeout_s)

    def tick(self, bid: str, ask: str, symbol: Symbol = SYM) -> MarketUpdate:
        """A top-of-book update, as the node's feed hands it over (state, reference, router)."""
        update = MarketUpdate(
            symbol=symbol, bid=D(bid), ask=D(ask), bid_qty=D(1), ask_qty=D(1), received_ns=1
        )
        self.market.apply(update)
        self.oms.set_reference_price(symbol, update.mid)
        self.router.market(update)
        return update

    def mark(self, price: str, symbol: Symbol = SYM) -> None:
        update = MarkPriceUpdate(symbol=symbol, mark_price=D(price))
        self.market.apply(update)
        self.oms.set_reference_price(symbol, update.mark_price)
        self.router.market(update)

    def host(self, strategy_id: str) -> StrategyHost:
        return self.router.hosts[StrategyId(strategy_id)]

    async def stop(self) -> None:
        self.router.stop()
        await self.oms.stop(cancel_orders=True)
        await asyncio.wait_for(asyncio.shield(self.run_task), 5)
        await self.oms.close()


async def start(
    *strategies: tuple[str, Strategy] | tuple[str, Strategy, ErrorPolicy],
    max_orders_per_second: int = 1000,
    strategy_limits: dict[tuple[StrategyId, Symbol], StrategyLimits] | None = None,
) -> Node:
    """An engine with ``strategies`` (id, instance[, policy]) on BTCUSDC, started and trading."""
    venue = FakeGateway(LiveClock())
    config = OmsConfig(
        risk=RiskConfig(limits={SYM: LIMITS}, max_orders_per_second=max_orders_per_second),
        symbols=(SYM,),
        tolerance={SYM: Tolerance(price_ticks=3, qty_pct=D(10))},
        batch_window_s=0.002,
        reconcile_interval_s=3600,
        strategy_limits=strategy_limits or {},
    )
    oms = OrderManager(venue, InMemoryJournalStore(MemoryJournal()), config, clock=venue.clock)
    changed = asyncio.Event()
    oms.add_batch_listener(changed.set)
    await oms.start()
    run_task = asyncio.create_task(oms.run())
    market = MarketState()
    halted: list[StrategyHost] = []
    bindings = [
        Binding(StrategyId(item[0]), item[1], (SYM,), item[2] if len(item) > 2 else "continue")
        for item in strategies
    ]
    router = attach(oms, market, bindings, on_halted=halted.append)
    node = Node(oms, venue, market, router, run_task, changed, halted)
    await node.until(lambda: oms.metrics.reconciliations >= 1)
    router.start()
    return node
