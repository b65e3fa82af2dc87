"""The host of one strategy inside a node: its actions reach the engine checked, its callbacks
run guarded, its views are copies.

* **Actions** (``set_quotes``, ``place``, ...) are checked here for what only the strategy's
  context knows — its own symbols, its own orders, the instrument's minimum size — and by the
  engine's intake (:mod:`mmoms.engine.intake`) for types and signs. Either raises
  :class:`~mmoms.core.errors.InvalidOrderError` at the call; nothing reaches the engine.
* **Callbacks** run on the event loop, one at a time (they are plain functions called from the
  loop's thread: two can never interleave). One that raises is logged with its traceback (the
  first of a burst; repeats within ``_LOG_EVERY_S`` are counted and summarised) and counted in
  ``errors``; by the strategy's ``on_callback_error`` policy the strategy then goes on
  (``"continue"``) or is halted (``"stop"``: its orders are cancelled, ``on_stop`` is called,
  no callback follows). The engine is never affected either way.
* **Views** read the engine's book and ledger and return frozen copies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from mmoms.contingent import Group, GroupState
from mmoms.core.enums import OrderType
from mmoms.core.errors import InvalidOrderError, MmomsError
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol
from mmoms.core.instrument import Instrument
from mmoms.core.intents import QuoteLevel
from mmoms.core.ledger import PnL
from mmoms.core.market import DepthUpdate, MarketState, MarketUpdate, MarkPriceUpdate
from mmoms.core.validation import check_client_order_id, check_money, check_symbol
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.engine.oms import OmsNotRunningError, OrderManager
from mmoms.strategy.timers import StrategyTimers
from mmoms.strategy.views import OrderView, order_view

if TYPE_CHECKING:
    from mmoms.strategy.base import Strategy

__all__ = ["ErrorPolicy", "StrategyHost"]

log = logging.getLogger("mmoms.strategy")

ErrorPolicy = Literal["continue", "stop"]
_LOG_EVERY_S = 10.0  # a callback failing on every tick logs its traceback this often, not more


class StrategyHost:
    def __init__(
        self,
        strategy: Strategy,
        strategy_id: StrategyId,
        symbols: tuple[Symbol, ...],
        oms: OrderManager,
        market: MarketState,
        *,
        on_callback_error: ErrorPolicy = "continue",
        on_halted: Callable[[StrategyHost], None] | None = None,
    ) -> None:
        self.strategy = strategy
        self.strategy_id = strategy_id
        self.symbols = symbols
        self._symbol_set = frozenset(symbols)
        self.oms = oms
        self.market = market
        self.policy = on_callback_error
        self._on_halted = on_halted
        self.state: Literal["created", "running", "stopping", "stopped", "halted"] = "created"
        self.errors: dict[str, int] = {}  # callback name -> exceptions raised
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._orders: dict[ClientOrderId, Symbol] = {}  # placed here, not known to be over
        self._group_ids = ClientOrderIdFactory("g", time.time_ns() // 1_000_000)
        self.timers = StrategyTimers(self)
        self.log = logging.getLogger(f"mmoms.strategy.{strategy_id}")

    # -- lifecycle (the node calls these) -------------------------------------------------------

    def start(self) -> None:
        self.state = "running"
        self.call("on_start")

    def stop(self) -> None:
        """``on_stop`` runs (actions still work in it), then nothing more is called."""
        if self.state == "running":
            self._wind_down()
        if self.state in ("stopping", "halted"):
            self.state = "stopped"

    def halt(self, why: str) -> None:
        """Stop this strategy alone (its callback failed under the "stop" policy)."""
        if self.state != "running":
            return
        log.error("strategy %s halted: %s; cancelling its orders", self.strategy_id, why)
        self._wind_down()
        try:
            self.oms.cancel_all(self.strategy_id)
        except MmomsError as exc:
            log.error("strategy %s: could not cancel its orders: %s", self.strategy_id, exc)
        self.state = "halted"
        if self._on_halted is not None:
            self._on_halted(self)

    def _wind_down(self) -> None:
        """``on_stop``, then no timer fires and no callback but those of ``on_stop`` runs."""
        self.state = "stopping"
        self.call("on_stop")
        self.timers.cancel_all()

    @property
    def running(self) -> bool:
        return self.state == "running"

    # -- callbacks (guarded) --------------------------------------------------------------------

    def call(self, name: str, *args: Any) -> None:
        """Run one callback; what it raises is logged, counted and handled by the policy."""
        if self.state not in ("running", "stopping"):
            return
        try:
            getattr(self.strategy, name)(*args)
        except Exception as exc:  # a strategy bug must never reach the engine
            self._failed(name, exc)

    def _failed(self, name: str, exc: Exception) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1
        now = time.monotonic()
        if now - self._last_logged.get(name, -_LOG_EVERY_S) >= _LOG_EVERY_S:
            self._last_logged[name] = now
            more = self._suppressed.pop(name, 0)
            note = f" ({more} more since the last report)" if more else ""
            log.error("strategy %s: %s raised%s", self.strategy_id, name, note, exc_info=exc)
        else:
            self._suppressed[name] = self._suppressed.get(name, 0) + 1
        if self.policy == "stop" and self.state == "running":
            self.halt(f"{name} raised {type(exc).__name__}")

    def forget(self, client_order_id: ClientOrderId) -> None:
        """The order is over: the host need not remember where it lives."""
        self._orders.pop(client_order_id, None)

    # -- actions ---------------------------------------------------------------------------------

    def _live(self) -> None:
        if self.state not in ("running", "stopping"):
            raise OmsNotRunningError(f"strategy {self.strategy_id} is {self.state}")

    def _symbol(self, symbol: object) -> Symbol:
        return check_symbol(symbol, self._symbol_set)

    def set_quotes(self, symbol: object, levels: Iterable[QuoteLevel]) -> None:
        self._live()
        self.oms.set_quotes(self.strategy_id, self._symbol(symbol), levels)

    def place(
        self,
        *,
        symbol: object,
        side: object,
        quantity: object,
        price: object = None,
        order_type: object = OrderType.LIMIT,
        time_in_force: object = None,
        reduce_only: object = False,
        tag: object = None,
    ) -> ClientOrderId:
        self._live()
        sym = self._symbol(symbol)
        qty = check_money("quantity", quantity)
        market = order_type in (OrderType.MARKET, "MARKET")
        self.instrument(sym).round_qty(qty, market=market)  # below the minimum: refused here
        cid = self.oms.place(
            self.strategy_id, sym, side, qty, price,  # type: ignore[arg-type]
            order_type=order_type, time_in_force=time_in_force,  # type: ignore[arg-type]
            reduce_only=reduce_only, tag=tag,  # type: ignore[arg-type]
        )  # fmt: skip
        self._orders[cid] = sym
        return cid

    def amend(self, client_order_id: object, *, price: object, quantity: object) -> None:
        self._live()
        order = self._own_order(client_order_id)
        if order.order_type is not OrderType.LIMIT:
            raise InvalidOrderError(f"{order.client_order_id}: only LIMIT orders can be amended")
        new_price = order.price if price is None else price
        new_qty = order.quantity if quantity is None else quantity
        self.oms.amend(
            self.strategy_id, order.symbol, order.client_order_id,
            new_price, new_qty,  # type: ignore[arg-type]
        )  # fmt: skip

    def cancel(self, client_order_id: object) -> None:
        self._live()
        cid = check_client_order_id(client_order_id)
        symbol = self._orders.get(cid)
        if symbol is None:
            symbol = self._own_order(cid).symbol
        self.oms.cancel(self.strategy_id, symbol, cid)

    def cancel_all(self, symbol: object = None) -> None:
        self._live()
        self.oms.cancel_all(self.strategy_id, None if symbol is None else self._symbol(symbol))

    def place_group(self, group: Group) -> GroupId:
        self._live()
        if isinstance(group, Group):
            self._symbol(group.symbol)
        group_id = self.oms.place_group(self.strategy_id, group)
        for leg in group.legs:
            self._orders[leg.client_order_id] = group.symbol
        return group_id

    def cancel_group(self, group_id: object) -> None:
        self._live()
        state = self.group(group_id)
        if state is None:
            raise InvalidOrderError(f"no group {str(group_id)[:32]!r} of this strategy")
        self.oms.cancel_group(self.strategy_id, state.spec.group_id)

    def new_group_id(self) -> str:
        """A group id that no earlier run of this node has used (time-based, like order ids)."""
        return str(self._group_ids.next())

    # -- views -----------------------------------------------------------------------------------

    def _own_order(self, client_order_id: object) -> OrderView:
        cid = check_client_order_id(client_order_id)
        found = self.order(cid)
        if found is None:
            raise InvalidOrderError(f"no order {cid} of strategy {self.strategy_id}")
        return found

    def order(self, client_order_id: ClientOrderId) -> OrderView | None:
        book = self.oms.book
        hinted = self._orders.get(client_order_id)
        for symbol in (hinted,) if hinted else self.symbols:
            order = book.get(symbol, client_order_id)
            if order is not None and order.strategy_id == self.strategy_id:
                return order_view(order)
        return None

    def open_orders(self, symbol: object = None) -> list[OrderView]:
        wanted = self.symbols if symbol is None else (self._symbol(symbol),)
        book = self.oms.book
        return [
            order_view(o)
            for s in wanted
            for o in book.open_orders(s)
            if o.strategy_id == self.strategy_id and not o.external
        ]

    def position(self, symbol: object) -> Decimal:
        found = self.oms.ledger.get(self.strategy_id, self._symbol(symbol))
        return found.position if found is not None else Decimal(0)

    def account_position(self, symbol: object) -> Decimal:
        return self.oms.position(self._symbol(symbol))

    def pnl(self, symbol: object) -> PnL:
        sym = self._symbol(symbol)
        book = self.oms.ledger.get(self.strategy_id, sym)
        mark = self.market.valuation_price(sym)
        if book is None:
            z = Decimal(0)
            return PnL(
                symbol=sym, position=z, entry_price=z, realized=z, unrealized=z, fees=z,
                mark=mark, fills=0, volume=z,
            )  # fmt: skip
        return book.view(sym, mark)

    def top(self, symbol: object) -> MarketUpdate | None:
        return self.market.top.get(self._symbol(symbol))

    def depth(self, symbol: object) -> DepthUpdate | None:
        return self.market.depth.get(self._symbol(symbol))

    def mark(self, symbol: object) -> MarkPriceUpdate | None:
        return self.market.marks.get(self._symbol(symbol))

    def instrument(self, symbol: object) -> Instrument:
        return self.oms.instrument(self._symbol(symbol))

    def group(self, group_id: object) -> GroupState | None:
        gid = GroupId(str(group_id))
        if self.oms.group_strategy(gid) != self.strategy_id:
            return None
        return self.oms.group(gid)
