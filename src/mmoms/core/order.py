"""The order as the local book holds it: read-only to everyone but the book.

:class:`Order` is a frozen dataclass: assigning one of its attributes raises
``dataclasses.FrozenInstanceError``. The book (:mod:`mmoms.core.book`), its single writer,
changes an order with ``object.__setattr__`` only, and its status only through
:mod:`mmoms.core.fsm`. Its fills are a tuple, so they cannot be appended to from outside either.

A frozen dataclass's ``__init__`` pays one ``object.__setattr__`` per field (about 3 µs for an
order's 22 fields): :func:`new_order`, the book's constructor, builds the same fields on a mutable
twin with the same slots and then makes it an :class:`Order`, at a third of that cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, make_dataclass
from decimal import Decimal
from typing import ParamSpec

from mmoms.core.enums import OrderStatus, OrderType, PositionSide, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, GroupId, StrategyId, Symbol, TradeId, VenueOrderId


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: TradeId
    qty: Decimal
    price: Decimal
    commission: Decimal
    commission_asset: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Order:
    client_order_id: ClientOrderId
    symbol: Symbol
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    status: OrderStatus
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    venue_order_id: VenueOrderId | None = None
    filled_qty: Decimal = Decimal(0)
    fills: tuple[Fill, ...] = ()
    venue_rank: int = 0  # highest VenueOrderStatus.rank seen: lower-ranked reports are stale
    last_event_ns: int = 0  # venue time of the newest report applied (tie-break for amends)
    external: bool = False  # adopted from a venue report, not created by us
    group_id: GroupId | None = None
    tag: str | None = None  # strategy's level tag
    strategy_id: StrategyId | None = None
    created_ns: int = 0
    updated_ns: int = 0
    # A conditional order's trigger (stop / take-profit): from the command that created it;
    # None for LIMIT / MARKET and for adopted orders (venue reports do not carry it).
    trigger_price: Decimal | None = None

    # Compared by value like before, but never hashed: the book changes it in place.
    __hash__ = None  # type: ignore[assignment]

    @property
    def leaves_qty(self) -> Decimal:
        return max(self.quantity - self.filled_qty, Decimal(0))

    @property
    def avg_price(self) -> Decimal:
        """Volume-weighted price of the fills we hold (0 if none)."""
        qty = sum((f.qty for f in self.fills), Decimal(0))
        if not qty:
            return Decimal(0)
        return sum((f.qty * f.price for f in self.fills), Decimal(0)) / qty

    @property
    def fills_qty(self) -> Decimal:
        return sum((f.qty for f in self.fills), Decimal(0))


_P = ParamSpec("_P")


def _built_as(cls: Callable[_P, Order]) -> Callable[_P, Order]:
    """A constructor of ``cls`` that skips the frozen guard: same fields, same slots."""
    twin = make_dataclass(
        "_OrderDraft",
        [
            (f.name, f.type, field(default=f.default, default_factory=f.default_factory))
            for f in fields(Order)
        ],
        slots=True,
    )

    def build(*args: _P.args, **kwargs: _P.kwargs) -> Order:
        draft = twin(*args, **kwargs)
        draft.__class__ = cls  # the layouts are the same: CPython allows the swap
        return draft  # type: ignore[no-any-return]

    return build


new_order = _built_as(Order)
"""Build an :class:`Order` (same arguments) for the book, the one that may change it."""
