"""``mmoms.Strategy``: the class a strategy author subclasses. Start at docs/strategy-guide.md.

A strategy says what it wants; the node does the rest (journal, gateway, risk, reconciliation,
a clean stop that cancels what is left)::

    from decimal import Decimal
    import mmoms

    class Quoter(mmoms.Strategy):
        symbols = ("BTCUSDC",)

        def on_market(self, update: mmoms.MarketUpdate) -> None:
            self.set_quotes(update.symbol, [
                mmoms.QuoteLevel(side=mmoms.Side.BUY, price=update.bid, quantity=Decimal("0.002")),
                mmoms.QuoteLevel(side=mmoms.Side.SELL, price=update.ask, quantity=Decimal("0.002")),
            ])

Run it with ``mmoms run --config examples/sim.toml --strategy quoter.py:Quoter``.

**Callbacks** are all optional and all run on the node's event loop, one at a time (never two at
once, never from another thread). Keep them short: the engine runs on the same loop. A callback
that raises is logged and counted; the strategy goes on (or is halted, by ``on_callback_error``),
the engine never notices.

**Actions** check their arguments at the call: a float for money, a wrong type, a symbol that is
not the strategy's, a size that is not positive or below the instrument's minimum raise
:class:`mmoms.InvalidOrderError` there, and nothing reaches the engine. What the engine decides
later (risk, the venue's answer) comes back through ``on_risk_rejected`` and ``on_order``.

**Views** return copies: nothing a strategy holds can change the engine's state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from mmoms.contingent import AnyGroupEvent, Group, GroupState
from mmoms.core.enums import OrderType, Side, TimeInForce
from mmoms.core.errors import MmomsError
from mmoms.core.events import OrderEvent
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.instrument import Instrument
from mmoms.core.intents import QuoteLevel
from mmoms.core.ledger import Fill, PnL
from mmoms.core.market import DepthUpdate, MarketUpdate, MarkPriceUpdate, TradeUpdate
from mmoms.engine.protection import ProtectionFailed
from mmoms.strategy.views import OrderView, RiskRejection

if TYPE_CHECKING:
    from mmoms.strategy.host import StrategyHost

__all__ = ["Strategy", "StrategyNotRunningError"]


class StrategyNotRunningError(MmomsError):
    """An action or view was used on a strategy that is not running in a node."""


class Strategy:
    """Subclass this; override the callbacks you need; call the actions and views."""

    symbols: tuple[str, ...] = ()
    """The symbols this strategy trades; the node subscribes market data for them. A config's
    ``symbols = [...]`` for the strategy overrides it (per instance)."""

    depth_levels: int = 0
    """Partial order book depth to receive in :meth:`on_depth`: 0 (none), 5, 10 or 20 levels."""

    trades: bool = False
    """Receive public trades in :meth:`on_trade`."""

    on_callback_error: str = "continue"
    """``"continue"``: a callback that raises is logged and counted, the strategy goes on.
    ``"stop"``: the strategy is halted (orders cancelled, ``on_stop`` called). The config's
    ``on_callback_error`` overrides it."""

    _mmoms_host: StrategyHost | None = None  # set by the node; no __init__ needed from subclasses

    # -- callbacks: override what you need ------------------------------------------------------

    def on_start(self) -> None:
        """The node is ready: reconciled with the venue, market data flowing (or waited for)."""

    def on_market(self, update: MarketUpdate) -> None:
        """A new top of book on one of :attr:`symbols`."""

    def on_depth(self, depth: DepthUpdate) -> None:
        """A new partial book (:attr:`depth_levels` levels a side)."""

    def on_trade(self, trade: TradeUpdate) -> None:
        """A public trade (when :attr:`trades` is True)."""

    def on_mark_price(self, mark: MarkPriceUpdate) -> None:
        """A new mark price (the risk engine's reference price follows it too)."""

    def on_order(self, event: OrderEvent) -> None:
        """Every event of this strategy's orders: created, accepted, amended, canceled,
        rejected, expired, filled, an unknown outcome and its resolution... (``event.status`` is
        the order's status after it). Fills come to :meth:`on_fill` too, with PnL."""

    def on_fill(self, fill: Fill) -> None:
        """One fill of this strategy's order, with the strategy's position after it."""

    def on_group(self, event: AnyGroupEvent | ProtectionFailed) -> None:
        """A contingent group of this strategy triggered, completed, was canceled, or an alert
        (overfill, failed flatten, refused protective stop)."""

    def on_risk_rejected(self, rejection: RiskRejection) -> None:
        """A risk check refused something this strategy asked for (with the reason)."""

    def on_timer(self, name: str) -> None:
        """Timer ``name`` (see :meth:`set_timer`) is due."""

    def on_stop(self) -> None:
        """The node is stopping (or this strategy was halted). Actions still work here; after
        it the node cancels every order of this strategy that is still open."""

    # -- identity --------------------------------------------------------------------------------

    @property
    def strategy_id(self) -> StrategyId:
        return self._host().strategy_id

    @property
    def log(self) -> logging.Logger:
        """A logger named ``mmoms.strategy.<id>``."""
        return self._host().log

    def _host(self) -> StrategyHost:
        host = self._mmoms_host
        if host is None:
            raise StrategyNotRunningError(
                f"{type(self).__name__} is not running in a node (mmoms run --strategy ...)"
            )
        return host

    # -- actions ---------------------------------------------------------------------------------

    def set_quotes(self, symbol: str, levels: Iterable[QuoteLevel]) -> None:
        """The whole set of quotes wanted on ``symbol`` now (an empty list pulls them all).
        The engine keeps what is still within tolerance, amends or replaces the rest.

        Raises:
            InvalidOrderError, OmsOverloadedError, OmsNotRunningError.
        """
        self._host().set_quotes(symbol, levels)

    def place(
        self,
        *,
        symbol: str,
        side: Side | str,
        quantity: Decimal,
        price: Decimal | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        time_in_force: TimeInForce | str | None = None,
        reduce_only: bool = False,
        tag: str | None = None,
    ) -> ClientOrderId:
        """One LIMIT or MARKET order; returns its client order id at once.

        Raises:
            InvalidOrderError, OmsOverloadedError, OmsNotRunningError.
        """
        return self._host().place(
            symbol=symbol, side=side, quantity=quantity, price=price, order_type=order_type,
            time_in_force=time_in_force, reduce_only=reduce_only, tag=tag,
        )  # fmt: skip

    def amend(
        self,
        client_order_id: str,
        *,
        price: Decimal | None = None,
        quantity: Decimal | None = None,
    ) -> None:
        """Modify a LIMIT order in place (keeps its id); ``quantity`` is the new total. What is
        left out stays as it is.

        Raises:
            InvalidOrderError, OmsOverloadedError, OmsNotRunningError.
        """
        self._host().amend(client_order_id, price=price, quantity=quantity)

    def cancel(self, client_order_id: str) -> None:
        """Raises: InvalidOrderError (not an order of this strategy), OmsOverloadedError,
        OmsNotRunningError."""
        self._host().cancel(client_order_id)

    def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every order and pull every quote of this strategy (on ``symbol``, or all)."""
        self._host().cancel_all(symbol)

    def place_group(self, group: Group) -> GroupId:
        """Send a contingent group built with :mod:`mmoms.contingent` (``oco``, ``oto``,
        ``otoco``, ``bracket``, ``ouo``, ``graph``); :meth:`new_group_id` gives a fresh id.

        Raises:
            InvalidOrderError, OmsOverloadedError, OmsNotRunningError.
        """
        return self._host().place_group(group)

    def cancel_group(self, group_id: str) -> None:
        self._host().cancel_group(group_id)

    def new_group_id(self) -> str:
        """A group id never used before by this node (also across restarts)."""
        return self._host().new_group_id()

    def set_timer(self, name: str, interval_s: float) -> None:
        """Call :meth:`on_timer` with ``name`` every ``interval_s`` seconds (restarts it if set).

        Raises:
            InvalidOrderError: a bad name or interval.
        """
        self._host().timers.set(name, interval_s)

    def cancel_timer(self, name: str) -> None:
        self._host().timers.cancel(name)

    # -- views -----------------------------------------------------------------------------------

    def position(self, symbol: str) -> Decimal:
        """This strategy's position on ``symbol`` (signed, base units), from its own fills."""
        return self._host().position(symbol)

    def account_position(self, symbol: str) -> Decimal:
        """The account's net position on ``symbol``: every strategy's, plus external fills."""
        return self._host().account_position(symbol)

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        return self._host().open_orders(symbol)

    def order(self, client_order_id: str) -> OrderView | None:
        return self._host().order(ClientOrderId(client_order_id))

    def pnl(self, symbol: str) -> PnL:
        """Realized (before fees), unrealized (at the mark price, else the mid) and fees."""
        return self._host().pnl(symbol)

    def book(self, symbol: str) -> MarketUpdate | None:
        """The latest top of book (None before the first)."""
        return self._host().top(symbol)

    def depth(self, symbol: str) -> DepthUpdate | None:
        return self._host().depth(symbol)

    def mark_price(self, symbol: str) -> MarkPriceUpdate | None:
        return self._host().mark(symbol)

    def instrument(self, symbol: str) -> Instrument:
        """Tick and step sizes, minimums, and rounding helpers (``round_price``, ``round_qty``)."""
        return self._host().instrument(symbol)

    def group(self, group_id: str) -> GroupState | None:
        return self._host().group(group_id)

    def trading_symbols(self) -> tuple[Symbol, ...]:
        """The symbols this strategy trades in this node (the class's, or the config's)."""
        return self._host().symbols
