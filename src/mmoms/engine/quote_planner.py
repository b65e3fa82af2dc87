"""The action planner: from intents to the actions of one window. Pure: no I/O, no journal.

It keeps what strategies want — the latest quote set per (strategy, symbol), cancels and amends
waiting for an order to settle — and, when the engine's window closes, turns it into flights:
diff the quotes against the live orders, check risk on every new order and amend, net, and
batch (cancels first). The engine then books, journals and sends those flights.

Rules it enforces:

* an order with a request in flight is never acted on; a cancel or amend wanted for it waits
  until it settles (:meth:`QuotePlanner.settled`), and its quotes are re-diffed then;
* a cancel of an order still waiting in this window means the order never leaves;
* quotes are snapped passively to the tick grid (a bid rounds down, an ask up), quantities down;
  what cannot be represented is a rejection, not a guess;
* an amend that risk refuses pulls the old quote instead of leaving it standing.

Quotes and our order-rate budget (the mechanics are in :mod:`.quote_budget`):

* **Deferred, not refused.** A new quote or amend from the diff that the ``order_rate`` budget
  cannot pay for is no rejection (nothing journaled or told). It stays wanted, counts in
  ``OmsMetrics.quotes_deferred`` (once per action and window), and its (strategy, symbol) is
  diffed again in the first window with budget left and when the oldest send leaves the
  one-second window (:attr:`QuotePlanner.budget_at_ns`: the engine arms a timer). Once a
  window's budget is spent no further quote is risk-checked. A deferred amend leaves its order
  where it is (it passed risk when placed). Cancels are never held back. An explicit
  ``PlaceOrder`` or amend intent the budget refuses is a rejection: it was asked for now.
* **Fair.** A window's wanted quotes are spent best rank first across every dirty (strategy,
  symbol, side): every side's best level (closest to the touch) before anyone's second; within
  a rank, the side whose quote of that rank went longest ago first (round robin), so none
  starves. Before all of them: the best new quote of a side left with no quote at all (fills or
  cancels took them), so a symbol is never left unquoted while others are merely amended. The
  diff's rules are unchanged (keep within tolerance, amend where allowed, else
  cancel + new; orders in flight untouched).
* **Other refusals of quotes, told once per streak.** A quote refused by another check
  (max_position, price_band, kill_switch...) is a rejection, tracked per (strategy, symbol,
  side, check), journaled and told when its streak starts: the first time, or when its reason
  reads differently once its numbers are left out (a new price or size is the same reason; "no
  reference price" vs "too far from it" is not). Repeats (other levels of that side in the
  window, later windows) count in ``OmsMetrics.rejections_repeated`` by check. The streak ends
  after a window that tried that side (a quote risk-checked, or none wanted) with no refusal by
  that check; a window whose quotes there all waited for budget tried nothing. An amend refused
  that way still pulls the old quote.
* Every :class:`Rejection` names its strategy and symbol (a quote's has no intent behind it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.core.book import LocalOrderBook
from mmoms.core.commands import AmendOrder, CancelOrder, SubmitOrder
from mmoms.core.enums import OrderStatus, OrderType, TimeInForce
from mmoms.core.errors import UnrepresentableValueError
from mmoms.core.ids import ClientOrderId, StrategyId, Symbol
from mmoms.core.instrument import Instrument, PriceRounding
from mmoms.core.intents import (
    AmendOrderIntent,
    AnyIntent,
    CancelAllIntent,
    CancelOrderIntent,
    PlaceOrder,
    QuoteLevel,
    SetQuotes,
)
from mmoms.core.order import Order
from mmoms.engine.batcher import ActionBatcher, BatchLimits, Flight
from mmoms.engine.client_ids import ClientOrderIdFactory
from mmoms.engine.config import OmsConfig
from mmoms.engine.metrics import OmsMetrics
from mmoms.engine.quote_budget import ORDER_RATE, QuoteAction, QuoteWindow, snap_levels
from mmoms.engine.risk import RiskEngine, RiskRejection
from mmoms.engine.strategy_limits import StrategyRisk, no_position
from mmoms.venues.gateway import GatewayCapabilities

EVERY_STRATEGY = StrategyId("*")


@dataclass(frozen=True, slots=True)
class Rejection:
    check: RiskRejection
    intent: AnyIntent | None = None
    command: SubmitOrder | AmendOrder | None = None
    strategy_id: StrategyId | None = None  # whose intent or quote was refused
    symbol: Symbol | None = None


@dataclass(frozen=True, slots=True)
class NewOrderMeta:
    strategy_id: StrategyId
    tag: str | None
    intent_ns: int  # monotonic time the intent behind it arrived


@dataclass(slots=True)
class QuotePlanner:
    book: LocalOrderBook
    risk: RiskEngine
    instruments: dict[Symbol, Instrument]
    config: OmsConfig
    ids: ClientOrderIdFactory
    metrics: OmsMetrics
    venue: GatewayCapabilities  # the gateway's: batch sizes, amend support
    rejections: list[Rejection] = field(default_factory=list)
    # New orders canceled in the window that collected them: never sent; booked as created and
    # canceled, so the strategy that placed one hears how it ended.
    withdrawn: list[tuple[SubmitOrder, NewOrderMeta]] = field(default_factory=list)
    needs_flush: bool = False
    budget_at_ns: int | None = None  # quotes wait for budget: re-plan then (monotonic ns)
    _now: int = 0
    _decided_ns: int = 0  # this window's decision time (monotonic)
    _batcher: ActionBatcher = field(init=False)
    _desired: dict[tuple[StrategyId, Symbol], tuple[QuoteLevel, ...]] = field(default_factory=dict)
    _intent_ns: dict[tuple[StrategyId, Symbol], int] = field(default_factory=dict)
    _dirty: set[tuple[StrategyId, Symbol]] = field(default_factory=set)
    _meta: dict[ClientOrderId, NewOrderMeta] = field(default_factory=dict)
    _amend_intent_ns: dict[ClientOrderId, int] = field(default_factory=dict)
    _deferred_cancels: set[tuple[Symbol, ClientOrderId]] = field(default_factory=set)
    _deferred_amends: dict[tuple[Symbol, ClientOrderId], AmendOrderIntent] = field(
        default_factory=dict
    )
    _quotes: QuoteWindow = field(init=False)
    limits: StrategyRisk = field(init=False)  # per-strategy limits, inside the account's
    strategy_position: Callable[[StrategyId, Symbol], Decimal] = no_position

    def __post_init__(self) -> None:
        self._quotes = QuoteWindow(self.metrics)
        self._batcher = ActionBatcher(BatchLimits.of(self.venue))
        self.limits = StrategyRisk(self.config.strategy_limits, self._position)

    def _position(self, strategy_id: StrategyId, symbol: Symbol) -> Decimal:
        return self.strategy_position(strategy_id, symbol)  # late-bound: the engine sets it

    # -- inputs ---------------------------------------------------------------------------------

    def intent(self, intent: AnyIntent, received_ns: int, now: int) -> None:
        self._now = now
        if isinstance(intent, SetQuotes):
            self._set_quotes(intent, received_ns)
        elif isinstance(intent, PlaceOrder):
            self._place(intent, received_ns)
        elif isinstance(intent, CancelOrderIntent):
            self._cancel(intent.symbol, intent.client_order_id)
        elif isinstance(intent, AmendOrderIntent):
            self._deferred_amends[(intent.symbol, intent.client_order_id)] = intent
            self._amend_intent_ns[intent.client_order_id] = received_ns
            self._try_deferred(intent.symbol, intent.client_order_id)
        else:
            self._cancel_all(intent)

    def settled(self, order: Order) -> None:
        """``order`` has no request in flight any more: act on what waited for it."""
        key = (order.symbol, order.client_order_id)
        if key in self._deferred_cancels or key in self._deferred_amends:
            self._try_deferred(*key)
        if order.strategy_id is not None and (order.strategy_id, order.symbol) in self._desired:
            self._dirty.add((order.strategy_id, order.symbol))
            self.needs_flush = True

    def want_cancel(self, order: Order) -> None:
        """A cancel that could not be sent (budget, halt): keep wanting the order gone."""
        self._deferred_cancels.add((order.symbol, order.client_order_id))

    def retry_deferred(self, now: int) -> None:
        self._now = now
        for symbol, cid in list(self._deferred_cancels):
            self._try_deferred(symbol, cid)

    def budget_returned(self) -> None:
        """The budget timer fired: quotes that waited for budget are planned again."""
        self.needs_flush |= bool(self._quotes.waiting)

    def pull_all(self) -> None:
        """Stop quoting everywhere (the engine is stopping)."""
        for key in self._desired:
            self._desired[key] = ()

    def meta(self, cid: ClientOrderId, default_ns: int) -> NewOrderMeta:
        return self._meta.pop(cid, None) or NewOrderMeta(StrategyId(""), None, default_ns)

    def intent_ns(self, cid: ClientOrderId) -> int | None:
        return self._amend_intent_ns.pop(cid, None)

    def waiting_symbols(self) -> set[Symbol]:
        """The symbols something waits to be decided on (quotes changed, actions queued)."""
        symbols = self._batcher.symbols()
        symbols.update(key[1] for key in self._dirty)
        symbols.update(key[1] for key in self._quotes.waiting)
        return symbols

    @property
    def has_cancels(self) -> bool:
        """An explicit cancel waits to be sent (cancels never wait behind a window)."""
        return self._batcher.has_cancels

    # -- the window -----------------------------------------------------------------------------

    def flush(self, now: int, decided_ns: int) -> list[Flight]:
        """Diff every changed quote set and return this window's flights (cancels first)."""
        self._now, self._decided_ns, self.needs_flush = now, decided_ns, False
        quotes = self._quotes
        if self._dirty or quotes.waiting:  # else: imperative intents only, nothing to diff
            room = self.risk.rate_room()
            if quotes.waiting and room > 0:
                self._dirty |= quotes.waiting  # budget is back: their turn (first if served last)
                quotes.waiting.clear()
            keys = list(self._dirty)
            self._dirty.clear()
            wanted: list[QuoteAction] = []
            for key in keys:
                wanted += self._diff(key)
            for action, refusal in quotes.spend(wanted, room, self._quote):
                self.rejections.append(Rejection(refusal, None, None, *action.who[:2]))
            for key in keys:  # a waiting key's intent time stays: latency counts the wait
                if key not in quotes.waiting:
                    self._intent_ns.pop(key, None)
            self.budget_at_ns = self.risk.rate.free_at() if quotes.waiting else None
        self.metrics.netted = self._batcher.netted
        self.limits.window_closed()
        return self._batcher.drain()

    def _diff(self, key: tuple[StrategyId, Symbol]) -> list[QuoteAction]:
        """Add the key's cancels to the window; return the quotes it wants sent."""
        symbol = key[1]
        cancels, wanted = self._quotes.diff(
            key,
            self._desired.get(key, ()),
            self.book.orders(symbol),
            self._deferred_cancels,
            self.instruments[symbol].tick_size,
            self.config.tolerance_for(symbol),
            self.config.allow_amend and self.venue.supports_amend,
        )
        for order in cancels:
            self._add_cancel(order)
        return wanted

    def _quote(self, action: QuoteAction) -> RiskRejection | None:
        """Risk-check one wanted quote; if it passes, add it to the window."""
        (strategy_id, symbol, _), level, _, order, _ = action
        intent_ns = self._intent_ns.get((strategy_id, symbol), self._decided_ns)
        if order is None:
            rejection = self._add_quote(strategy_id, symbol, level, intent_ns)
        else:
            rejection = self._check_amend(order, level.price, action.new_quantity)
            if rejection is None:
                self._amend_intent_ns[order.client_order_id] = intent_ns
                self._add_amend(order, level.price, action.new_quantity)
            elif rejection.check != ORDER_RATE:  # do not leave the old quote standing: pull it
                self._add_cancel(order)
        return rejection

    # -- building actions -----------------------------------------------------------------------

    def _set_quotes(self, intent: SetQuotes, received_ns: int) -> None:
        inst = self.instruments.get(intent.symbol)
        if inst is None:
            self._refuse("symbol", f"{intent.symbol} is not traded", intent)
            return
        try:
            levels = snap_levels(inst, intent.levels)
        except UnrepresentableValueError as exc:
            self._refuse("instrument", str(exc), intent)
            return
        key = (intent.strategy_id, intent.symbol)
        self._desired[key] = levels
        waiting = key in self._quotes.waiting  # then it sends what this asks: time it from here
        self._intent_ns[key] = received_ns if waiting else self._intent_ns.get(key, received_ns)
        self._dirty.add(key)
        self.needs_flush = True

    def _place(self, intent: PlaceOrder, received_ns: int) -> None:
        inst = self.instruments.get(intent.symbol)
        if inst is None:
            self._refuse("symbol", f"{intent.symbol} is not traded", intent)
            return
        market = intent.order_type is OrderType.MARKET
        try:
            qty = inst.round_qty(intent.quantity, market=market)
            price = (
                None
                if intent.price is None
                else inst.round_price(intent.price, PriceRounding.PASSIVE, intent.side)
            )
        except UnrepresentableValueError as exc:
            self._refuse("instrument", str(exc), intent)
            return
        cmd = SubmitOrder(
            ts_ns=self._now,
            client_order_id=intent.client_order_id or self.ids.next(),
            symbol=intent.symbol,
            side=intent.side,
            order_type=intent.order_type,
            quantity=qty,
            price=price,
            time_in_force=intent.time_in_force or (None if market else TimeInForce.GTC),
            reduce_only=intent.reduce_only,
            position_side=intent.position_side,
        )
        rejection = self.limits.check(
            self.book, intent.strategy_id, cmd.symbol, cmd.side, qty, reduce_only=cmd.reduce_only
        ) or self.risk.check_new(
            self.book,
            symbol=cmd.symbol,
            side=cmd.side,
            order_type=cmd.order_type,
            quantity=qty,
            price=price,
            reduce_only=cmd.reduce_only,
            queued=self._batcher.queued(cmd.symbol),
        )
        if rejection is not None:
            self.rejections.append(Rejection(rejection, intent, cmd, *_whose(intent)))
            return
        self.limits.queued(
            intent.strategy_id, cmd.symbol, cmd.side, qty, reduce_only=cmd.reduce_only
        )
        self._meta[cmd.client_order_id] = NewOrderMeta(intent.strategy_id, intent.tag, received_ns)
        self._batcher.add(cmd)
        self.needs_flush = True

    def _add_quote(
        self, strategy_id: StrategyId, symbol: Symbol, level: QuoteLevel, intent_ns: int
    ) -> RiskRejection | None:
        rejection = self.limits.check(
            self.book, strategy_id, symbol, level.side, level.quantity
        ) or self.risk.check_new(
            self.book,
            symbol=symbol,
            side=level.side,
            order_type=OrderType.LIMIT,
            quantity=level.quantity,
            price=level.price,
            queued=self._batcher.queued(symbol),
        )
        if rejection is not None:
            return rejection
        self.limits.queued(strategy_id, symbol, level.side, level.quantity)
        cid = self.ids.next()
        self._meta[cid] = NewOrderMeta(strategy_id, level.tag, intent_ns)
        self._batcher.add(
            SubmitOrder(
                ts_ns=self._now,
                client_order_id=cid,
                symbol=symbol,
                side=level.side,
                order_type=OrderType.LIMIT,
                quantity=level.quantity,
                price=level.price,
                time_in_force=TimeInForce.GTX if level.post_only else TimeInForce.GTC,
            )
        )
        return None

    def _add_cancel(self, order: Order) -> None:
        self._batcher.add(
            CancelOrder(
                ts_ns=self._now,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                venue_order_id=order.venue_order_id,
                conditional=order.order_type.is_conditional,  # the gateway's routing hint
            )
        )
        self.needs_flush = True

    def _add_amend(self, order: Order, price: Decimal, total_qty: Decimal) -> None:
        self._batcher.add(
            AmendOrder(
                ts_ns=self._now,
                client_order_id=order.client_order_id,
                symbol=order.symbol,
                side=order.side,
                quantity=total_qty,
                price=price,
                venue_order_id=order.venue_order_id,
            )
        )
        self.needs_flush = True

    def _cancel(self, symbol: Symbol, cid: ClientOrderId) -> None:
        placed = self._batcher.pending_new(cid)
        if placed is not None:  # still in this window: it never leaves, but it is told
            self._batcher.add(CancelOrder(ts_ns=self._now, client_order_id=cid, symbol=symbol))
            meta = self._meta.pop(cid, None) or NewOrderMeta(StrategyId(""), None, self._now)
            self.withdrawn.append((placed, meta))
            return
        self._deferred_cancels.add((symbol, cid))
        self._try_deferred(symbol, cid)

    def _cancel_all(self, intent: CancelAllIntent) -> None:
        everyone = intent.strategy_id == EVERY_STRATEGY
        for key in list(self._desired):
            if (everyone or key[0] == intent.strategy_id) and intent.symbol in (None, key[1]):
                self._desired[key] = ()
        for order in self.book.open_orders(intent.symbol):
            if not order.external and (everyone or order.strategy_id == intent.strategy_id):
                self._cancel(order.symbol, order.client_order_id)

    def _try_deferred(self, symbol: Symbol, cid: ClientOrderId) -> None:
        """Act on a wanted cancel or amend once the order has no request in flight."""
        order = self.book.get(symbol, cid)
        if order is None or order.status.is_terminal:
            self._deferred_cancels.discard((symbol, cid))
            self._deferred_amends.pop((symbol, cid), None)
            return
        if order.status.is_in_flight or order.status is OrderStatus.INACTIVE:
            return  # wait until it settles: settled() calls back
        if (symbol, cid) in self._deferred_cancels:
            self._deferred_cancels.discard((symbol, cid))
            self._deferred_amends.pop((symbol, cid), None)
            self._add_cancel(order)
            return
        amend = self._deferred_amends.pop((symbol, cid), None)
        if amend is not None:
            self._amend(order, amend)

    def _amend(self, order: Order, amend: AmendOrderIntent) -> None:
        inst = self.instruments[order.symbol]
        try:
            price = inst.round_price(amend.price, PriceRounding.PASSIVE, order.side)
            total_qty = inst.round_qty(amend.quantity)
        except UnrepresentableValueError as exc:
            self._refuse("instrument", str(exc), amend)
            return
        rejection = self._check_amend(order, price, total_qty)
        if rejection is not None:
            self.rejections.append(Rejection(rejection, amend, None, *_whose(amend)))
            return
        self._add_amend(order, price, total_qty)

    def _check_amend(
        self, order: Order, price: Decimal, total_qty: Decimal
    ) -> RiskRejection | None:
        strategy = order.strategy_id or StrategyId("")
        remaining = total_qty - order.filled_qty
        return self.limits.check(
            self.book, strategy, order.symbol, order.side, remaining,
            reduce_only=order.reduce_only, new_orders=0, exclude=order,
        ) or self.risk.check_amend(self.book, order, price, total_qty)  # fmt: skip

    def _refuse(self, check: str, reason: str, intent: AnyIntent) -> None:
        refusal = RiskRejection(check, reason)
        self.rejections.append(Rejection(refusal, intent, None, *_whose(intent)))


def _whose(intent: AnyIntent) -> tuple[StrategyId, Symbol | None]:
    return intent.strategy_id, intent.symbol
