"""Pre-trade risk: every new order and every amend passes here first. No path around it.

Checks, in order (the first failure rejects, with the check's name and a reason):

* ``kill_switch`` — engaged manually or automatically (hard position breach, too many
  anomalies). Cancels are never blocked: getting out of the market must always work.
* ``circuit_breaker`` — the gateway's API error rate crossed a threshold; new risk waits for a
  cool-down.
* ``max_order_qty`` / ``max_order_notional`` — per order.
* ``max_open_orders`` — per symbol, counting in-flight orders and those already accepted in
  the current batching window (:class:`Queued`): a burst inside one window is one whole.
* ``price_band`` — a fat-finger guard against the reference (mark or mid) price.
* ``reduce_only`` — a reduce-only order must shrink the position, never grow or flip it.
* ``max_position`` — worst case: the position plus every resting order on that side filling,
  plus the window's queued ones, plus this one.
* ``order_rate`` — our own budget of new orders and amends per second, below the exchange's.

**A contingent group counts once.** Its orders are left out of the resting sum; instead each
active group charges its worst case (:func:`mmoms.contingent.group_exposure`, fed in through
``group_resting``): an OCO / OUO its largest leg, a bracket its entry (the exits are
reduce-only), an OTO its parent plus the children it may still send. A new group is checked as
a whole by :meth:`RiskEngine.check_group`: per-order limits on every leg, the price band on the
orders it sends at once, the open-order count for all of them, and ``max_position`` against the
group's exposure, not the sum of its legs.

Pure: a clock and the book are passed in; the error rate and the groups' exposure come from
callables the engine feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from mmoms.contingent.exposure import GroupExposure
from mmoms.contingent.spec import Group
from mmoms.core.book import LocalOrderBook
from mmoms.core.clock import NANOS_PER_SECOND, Clock
from mmoms.core.commands import SubmitOrder
from mmoms.core.enums import OrderType, Side
from mmoms.core.ids import Symbol
from mmoms.core.order import Order
from mmoms.engine.quote_budget import ORDER_RATE, OrderRate


@dataclass(frozen=True, slots=True)
class SymbolLimits:
    max_order_qty: Decimal
    max_order_notional: Decimal
    max_open_orders: int
    max_position: Decimal  # absolute, in base units (contracts)
    price_band_pct: Decimal = Decimal(5)  # limit price within ±5 % of the reference price


@dataclass(frozen=True, slots=True)
class RiskConfig:
    limits: Mapping[Symbol, SymbolLimits]
    max_orders_per_second: int = 50
    circuit_error_rate: float = 0.5  # trip when half the recent requests failed...
    circuit_min_requests: int = 20  # ...over at least this many requests
    circuit_cooldown_s: float = 5.0
    hard_position_multiple: Decimal = Decimal("1.5")  # auto kill beyond 1.5 × max_position
    max_anomalies: int = 100


@dataclass(frozen=True, slots=True)
class RiskRejection:
    check: str
    reason: str


@dataclass(slots=True)
class ErrorRate:
    """What the gateway reports: failures and total over its sliding window."""

    errors: int = 0
    requests: int = 0


@dataclass(frozen=True, slots=True)
class Queued:
    """New orders accepted in the current batching window and not yet in the book: the risk
    checks count them, or a burst inside one window would be checked against the book alone."""

    orders: int = 0
    buy_qty: Decimal = Decimal(0)  # reduce-only orders excluded: they cannot add exposure
    sell_qty: Decimal = Decimal(0)

    def qty(self, side: Side) -> Decimal:
        return self.buy_qty if side is Side.BUY else self.sell_qty


NOTHING_QUEUED = Queued()

GroupResting = Callable[[Symbol, Side], Decimal]
"""What every active group could still add on one side of a symbol, each group charged once."""


def no_groups(_symbol: Symbol, _side: Side) -> Decimal:
    return Decimal(0)


def no_version() -> int | None:
    return None


@dataclass(slots=True)
class RiskEngine:
    config: RiskConfig
    clock: Clock
    error_rate: Callable[[], ErrorRate] = ErrorRate
    group_resting: GroupResting = no_groups
    # The book's change counter (the engine's book writer): plain resting sums are cached until
    # the book changes — a burst of intents is checked against one scan, not one per intent.
    book_version: Callable[[], int | None] = no_version
    kill_reason: str | None = None
    reference_prices: dict[Symbol, Decimal] = field(default_factory=dict)
    _circuit_open_until: int = 0
    _resting_cache: dict[tuple[Symbol, Side], tuple[int, LocalOrderBook, Decimal]] = field(
        default_factory=dict
    )
    rate: OrderRate = field(default_factory=OrderRate)  # of config.max_orders_per_second

    # -- switches ------------------------------------------------------------------------

    def engage_kill_switch(self, reason: str) -> None:
        if self.kill_reason is None:
            self.kill_reason = reason

    def release_kill_switch(self) -> None:
        self.kill_reason = None

    def set_reference_price(self, symbol: Symbol, price: Decimal) -> None:
        self.reference_prices[symbol] = price

    def after_fill(self, book: LocalOrderBook, symbol: Symbol) -> None:
        """Automatic kill switch: a position beyond the hard limit, or a book full of anomalies."""
        limits = self.config.limits.get(symbol)
        if limits is not None:
            hard = limits.max_position * self.config.hard_position_multiple
            if abs(book.position(symbol)) > hard:
                self.engage_kill_switch(f"{symbol} position {book.position(symbol)} beyond {hard}")
        if book.anomaly_count > self.config.max_anomalies:
            self.engage_kill_switch(f"{book.anomaly_count} book anomalies")

    # -- checks ----------------------------------------------------------------------------

    def check_new(
        self,
        book: LocalOrderBook,
        *,
        symbol: Symbol,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        price: Decimal | None,
        reduce_only: bool = False,
        queued: Queued = NOTHING_QUEUED,
    ) -> RiskRejection | None:
        """Check a new order, counting ``queued`` (accepted in this window, not yet booked);
        on success the order counts against the rate budget."""
        gate = self._gates()
        if gate is not None:
            return gate
        limits = self.config.limits.get(symbol)
        if limits is None:
            return RiskRejection("limits", f"no risk limits configured for {symbol}")
        ref = self.reference_prices.get(symbol)
        notional_price = price if price is not None else ref
        rejection = (
            self._size(limits, quantity, notional_price)
            or self._open_orders(book, symbol, limits, queued.orders)
            or self._band(symbol, limits, price, order_type, ref)
            or self._reduce_only(book, symbol, side, quantity, reduce_only)
            or self._position(
                book,
                symbol,
                side,
                quantity + queued.qty(side),
                limits,
                exclude=None,
                reduce_only=reduce_only,
            )
            or self._rate()
        )
        return rejection

    def check_amend(
        self, book: LocalOrderBook, order: Order, new_price: Decimal, new_quantity: Decimal
    ) -> RiskRejection | None:
        """Check a modify of ``order`` to ``new_price`` / total ``new_quantity``."""
        gate = self._gates()
        if gate is not None:
            return gate
        limits = self.config.limits.get(order.symbol)
        if limits is None:
            return RiskRejection("limits", f"no risk limits configured for {order.symbol}")
        remaining = new_quantity - order.filled_qty
        ref = self.reference_prices.get(order.symbol)
        return (
            self._size(limits, new_quantity, new_price)
            or self._band(order.symbol, limits, new_price, order.order_type, ref)
            or self._position(
                book,
                order.symbol,
                order.side,
                remaining,
                limits,
                exclude=order,
                reduce_only=order.reduce_only,
            )
            or self._rate()
        )

    def check_group(
        self,
        book: LocalOrderBook,
        group: Group,
        exposure: GroupExposure,
        sent_now: Sequence[SubmitOrder],
    ) -> RiskRejection | None:
        """Check a new contingent group as one position: ``exposure`` is what the whole group
        could add (see :func:`mmoms.contingent.group_exposure`), ``sent_now`` the orders its
        first plan sends. On success those orders count against the rate budget."""
        gate = self._gates()
        if gate is not None:
            return gate
        symbol = group.symbol
        limits = self.config.limits.get(symbol)
        if limits is None:
            return RiskRejection("limits", f"no risk limits configured for {symbol}")
        ref = self.reference_prices.get(symbol)
        where = f"group {group.group_id}"
        for leg in group.legs:  # every order the group may ever send must be a sane order
            o = leg.order
            size = self._size(limits, o.quantity, o.price or o.trigger_price or ref)
            if size is not None:
                return RiskRejection(size.check, f"{where} leg {leg.name}: {size.reason}")
        for cmd in sent_now:
            if cmd.reduce_only:
                rejection = self._reduce_only(book, symbol, cmd.side, cmd.quantity, True)
            else:
                price = cmd.price or cmd.trigger_price
                rejection = self._band(symbol, limits, price, cmd.order_type, ref)
            if rejection is not None:
                return RiskRejection(
                    rejection.check, f"{where} order {cmd.client_order_id}: {rejection.reason}"
                )
        count = len(book.open_orders(symbol))
        if count + len(sent_now) > limits.max_open_orders:
            return RiskRejection(
                "max_open_orders",
                f"{where}: {count} open + {len(sent_now)} new > {limits.max_open_orders}",
            )
        position = book.position(symbol)
        for side, charged in ((Side.BUY, exposure.buy_qty), (Side.SELL, exposure.sell_qty)):
            if charged <= 0:
                continue
            worst = position + side.sign * (self._resting(book, symbol, side) + charged)
            if abs(worst) > limits.max_position:
                return RiskRejection(
                    "max_position",
                    f"{where} worst case {worst} beyond ±{limits.max_position} "
                    f"(the group charges {charged} {side.value} once, not the sum of its legs)",
                )
        return self._rate(len(sent_now))

    # -- the individual checks -------------------------------------------------------------

    def _gates(self) -> RiskRejection | None:
        if self.kill_reason is not None:
            return RiskRejection("kill_switch", self.kill_reason)
        now = self.clock.monotonic_ns()
        if now < self._circuit_open_until:
            return RiskRejection("circuit_breaker", "API error rate too high; cooling down")
        rate = self.error_rate()
        if (
            rate.requests >= self.config.circuit_min_requests
            and rate.errors >= rate.requests * self.config.circuit_error_rate
        ):
            self._circuit_open_until = now + int(self.config.circuit_cooldown_s * NANOS_PER_SECOND)
            return RiskRejection(
                "circuit_breaker", f"API errors {rate.errors}/{rate.requests} over threshold"
            )
        return None

    @staticmethod
    def _size(
        limits: SymbolLimits, quantity: Decimal, price: Decimal | None
    ) -> RiskRejection | None:
        if quantity > limits.max_order_qty:
            return RiskRejection("max_order_qty", f"{quantity} > {limits.max_order_qty}")
        if price is None:
            return RiskRejection("max_order_notional", "no price to value the order at")
        if quantity * price > limits.max_order_notional:
            return RiskRejection(
                "max_order_notional", f"{quantity * price} > {limits.max_order_notional}"
            )
        return None

    @staticmethod
    def _open_orders(
        book: LocalOrderBook, symbol: Symbol, limits: SymbolLimits, queued: int
    ) -> RiskRejection | None:
        count = book.open_count(symbol) + queued
        if count >= limits.max_open_orders:
            return RiskRejection("max_open_orders", f"{count} open or queued on {symbol}")
        return None

    @staticmethod
    def _band(
        symbol: Symbol,
        limits: SymbolLimits,
        price: Decimal | None,
        order_type: OrderType,
        ref: Decimal | None,
    ) -> RiskRejection | None:
        if order_type is OrderType.MARKET or price is None:
            return None
        if ref is None:
            return RiskRejection("price_band", f"no reference price for {symbol} yet")
        if abs(price - ref) * 100 > ref * limits.price_band_pct:
            return RiskRejection(
                "price_band", f"{price} is more than {limits.price_band_pct}% from {ref}"
            )
        return None

    @staticmethod
    def _reduce_only(
        book: LocalOrderBook, symbol: Symbol, side: Side, quantity: Decimal, reduce_only: bool
    ) -> RiskRejection | None:
        if not reduce_only:
            return None
        position = book.position(symbol)
        if position == 0 or (position > 0) == (side is Side.BUY):
            return RiskRejection("reduce_only", f"{side.value} would not reduce {position}")
        if quantity > abs(position):
            return RiskRejection("reduce_only", f"{quantity} would flip position {position}")
        return None

    def _position(
        self,
        book: LocalOrderBook,
        symbol: Symbol,
        side: Side,
        quantity: Decimal,
        limits: SymbolLimits,
        *,
        exclude: Order | None,
        reduce_only: bool,
    ) -> RiskRejection | None:
        if reduce_only:
            return None  # checked by _reduce_only: it can only shrink exposure
        worst = book.position(symbol) + side.sign * (
            self._resting(book, symbol, side, exclude) + quantity
        )
        if abs(worst) > limits.max_position:
            return RiskRejection(
                "max_position", f"worst case {worst} beyond ±{limits.max_position}"
            )
        return None

    def _resting(
        self, book: LocalOrderBook, symbol: Symbol, side: Side, exclude: Order | None = None
    ) -> Decimal:
        """Worst case of everything resting on ``side``: plain orders summed, groups once each."""
        plain = self._plain_resting(book, symbol, side)
        if (
            exclude is not None
            and exclude.side is side
            and exclude.group_id is None
            and exclude.symbol == symbol
            and exclude.status.is_open
        ):
            plain -= exclude.leaves_qty
        return plain + self.group_resting(symbol, side)

    def _plain_resting(self, book: LocalOrderBook, symbol: Symbol, side: Side) -> Decimal:
        version = self.book_version()
        key = (symbol, side)
        if version is not None:
            hit = self._resting_cache.get(key)
            if hit is not None and hit[0] == version and hit[1] is book:
                return hit[2]
        plain = sum(
            (
                o.leaves_qty
                for o in book.open_orders(symbol)
                if o.side is side and o.group_id is None
            ),
            Decimal(0),
        )
        if version is not None:
            self._resting_cache[key] = (version, book, plain)
        return plain

    def rate_room(self) -> int:
        """How many more new orders / amends the order-rate budget allows now."""
        return self.rate.room(self.clock.monotonic_ns(), self.config.max_orders_per_second)

    def _rate(self, orders: int = 1) -> RiskRejection | None:
        if self.rate.take(self.clock.monotonic_ns(), self.config.max_orders_per_second, orders):
            return None
        return RiskRejection(ORDER_RATE, f"{self.rate.used} orders in the last second")
