"""Who hears what: the engine's notifications and the market's updates, to the strategy they
belong to.

* An order event goes to the strategy whose order it is (orders remember who placed them); a
  fill, already attributed by the engine's ledger, to its strategy; a risk rejection to the
  strategy the record names; a group event to the group's strategy. Adopted (external) orders
  belong to nobody and reach no strategy.
* A market update goes to every strategy trading its symbol: top of book to ``on_market``, mark
  prices to ``on_mark_price``, depth and trades only to strategies that asked for them.

The engine calls :meth:`StrategyRouter.notify` once a batch is durable (journal before tell),
the feed calls :meth:`StrategyRouter.market` per update; both on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from mmoms.contingent import GroupEvent
from mmoms.core.events import OrderEvent
from mmoms.core.ids import StrategyId, Symbol
from mmoms.core.ledger import Fill
from mmoms.core.market import (
    AnyMarketData,
    DepthUpdate,
    MarketState,
    MarketUpdate,
    MarkPriceUpdate,
    TradeUpdate,
)
from mmoms.engine.book_writer import Notification
from mmoms.engine.oms import OrderManager
from mmoms.journal.records import RiskRejected
from mmoms.strategy.base import Strategy
from mmoms.strategy.host import ErrorPolicy, StrategyHost
from mmoms.strategy.views import rejection_view

__all__ = ["Binding", "StrategyRouter", "attach"]


@dataclass(frozen=True, slots=True)
class Binding:
    """One strategy to run: its id, the instance, its symbols and its error policy."""

    strategy_id: StrategyId
    strategy: Strategy
    symbols: tuple[Symbol, ...]
    on_callback_error: ErrorPolicy = "continue"


def attach(
    oms: OrderManager,
    market: MarketState,
    bindings: Sequence[Binding],
    on_halted: Callable[[StrategyHost], None] | None = None,
) -> StrategyRouter:
    """Host each strategy on ``oms`` and route the engine's notifications to them; call
    :meth:`StrategyRouter.start` to run their ``on_start``.

    Raises:
        ValueError: two strategies with one id, or a strategy object bound twice.
    """
    hosts = []
    for b in bindings:
        if b.strategy._mmoms_host is not None:
            raise ValueError(f"strategy {b.strategy_id}: this instance already runs in a node")
        host = StrategyHost(
            b.strategy, b.strategy_id, b.symbols, oms, market,
            on_callback_error=b.on_callback_error, on_halted=on_halted,
        )  # fmt: skip
        b.strategy._mmoms_host = host
        hosts.append(host)
    if len({h.strategy_id for h in hosts}) != len(hosts):
        raise ValueError("two strategies with one id")
    router = StrategyRouter(oms, hosts)
    oms.add_listener(router.notify)
    return router


class StrategyRouter:
    def __init__(self, oms: OrderManager, hosts: Iterable[StrategyHost]) -> None:
        self._oms = oms
        self.hosts: dict[StrategyId, StrategyHost] = {h.strategy_id: h for h in hosts}
        self._by_symbol: dict[Symbol, list[StrategyHost]] = {}
        for host in self.hosts.values():
            for symbol in host.symbols:
                self._by_symbol.setdefault(symbol, []).append(host)

    def start(self) -> None:
        """Every strategy's ``on_start``, in the order they were bound."""
        for host in self.hosts.values():
            host.start()

    def stop(self) -> None:
        """Every strategy's ``on_stop``; nothing is called after it."""
        for host in self.hosts.values():
            host.stop()

    def notify(self, note: Notification) -> None:
        """One durable engine notification, to the strategy it belongs to."""
        if isinstance(note, Fill):
            host = self.hosts.get(note.strategy_id)
            if host is not None:
                host.call("on_fill", note)
        elif isinstance(note, OrderEvent):
            order = self._oms.book.get(note.symbol, note.client_order_id)
            if order is None or order.external or order.strategy_id is None:
                return
            host = self.hosts.get(order.strategy_id)
            if host is None:
                return
            if note.status.is_terminal:
                host.forget(note.client_order_id)
            host.call("on_order", note)
        elif isinstance(note, RiskRejected):
            host = self.hosts.get(StrategyId(note.strategy_id or ""))
            if host is not None:
                host.call("on_risk_rejected", rejection_view(note, self._oms.now_ns()))
        elif isinstance(note, GroupEvent):
            owner = self._oms.group_strategy(note.group_id)
            host = self.hosts.get(owner) if owner is not None else None
            if host is not None:
                host.call("on_group", note)

    def market(self, update: AnyMarketData) -> None:
        """One market update, to every strategy trading its symbol (and asking for its kind)."""
        hosts = self._by_symbol.get(update.symbol)
        if not hosts:
            return
        if isinstance(update, MarketUpdate):
            for host in hosts:
                host.call("on_market", update)
        elif isinstance(update, MarkPriceUpdate):
            for host in hosts:
                host.call("on_mark_price", update)
        elif isinstance(update, DepthUpdate):
            for host in hosts:
                if host.strategy.depth_levels:
                    host.call("on_depth", update)
        elif isinstance(update, TradeUpdate):
            for host in hosts:
                if host.strategy.trades:
                    host.call("on_trade", update)
