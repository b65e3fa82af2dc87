"""Events: what happened to an order, as the core decided it. Past tense, frozen, tagged.

Events are produced only by the core (the local book), from commands we issued and reports a
venue sent. They are what the journal records and what strategies are told.
Versioning rule: add fields with defaults; never change the meaning of a field.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from mmoms.core.enums import LiquiditySide, OrderStatus, OrderType, PositionSide, Side, TimeInForce
from mmoms.core.ids import ClientOrderId, Symbol, TradeId, VenueOrderId


class Event(msgspec.Struct, frozen=True, tag=True, kw_only=True):
    ts_ns: int


class OrderEvent(Event, frozen=True, tag=True, kw_only=True):
    """Base of per-order events. ``status`` is the order's status after the event."""

    client_order_id: ClientOrderId
    symbol: Symbol
    status: OrderStatus


class OrderCreated(OrderEvent, frozen=True, tag=True, kw_only=True):
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None
    time_in_force: TimeInForce | None = None
    reduce_only: bool = False
    position_side: PositionSide = PositionSide.BOTH
    tag: str | None = None


class OrderAdopted(OrderEvent, frozen=True, tag=True, kw_only=True):
    """The venue reported an order we did not know: it is tracked as external, not dropped."""

    venue_order_id: VenueOrderId
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal


class OrderSubmitted(OrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderAccepted(OrderEvent, frozen=True, tag=True, kw_only=True):
    venue_order_id: VenueOrderId


class ReasonedOrderEvent(OrderEvent, frozen=True, tag=True, kw_only=True):
    """An order event that carries the venue's or our reason (error code and message)."""

    reason: str = ""


class OrderRejected(ReasonedOrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderFilled(OrderEvent, frozen=True, tag=True, kw_only=True):
    trade_id: TradeId
    side: Side
    last_qty: Decimal
    last_price: Decimal
    filled_qty: Decimal  # cumulative, after this fill
    commission: Decimal = Decimal(0)
    commission_asset: str = ""
    liquidity: LiquiditySide = LiquiditySide.TAKER


class OrderPendingCancel(OrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderCancelRejected(ReasonedOrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderCanceled(OrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderExpired(OrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderPendingAmend(OrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderAmended(OrderEvent, frozen=True, tag=True, kw_only=True):
    price: Decimal
    quantity: Decimal


class OrderAmendRejected(ReasonedOrderEvent, frozen=True, tag=True, kw_only=True):
    pass


class OrderOutcomeUnknown(ReasonedOrderEvent, frozen=True, tag=True, kw_only=True):
    """A request's outcome is unknown; resolve by querying the client order id."""


class OrderUpdated(OrderEvent, frozen=True, tag=True, kw_only=True):
    """The venue moved the order's status or filled quantity without fill details.

    Fill details (trade id, price, fee) arrive in their own report or by reconciliation.
    """

    filled_qty: Decimal


class OrderAnomaly(Event, frozen=True, tag=True, kw_only=True):
    """A report the book would not apply (invalid transition, over-fill, ...). Kept for audit."""

    client_order_id: ClientOrderId
    symbol: Symbol
    reason: str


AnyEvent = (
    OrderCreated
    | OrderAdopted
    | OrderSubmitted
    | OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderPendingCancel
    | OrderCancelRejected
    | OrderCanceled
    | OrderExpired
    | OrderPendingAmend
    | OrderAmended
    | OrderAmendRejected
    | OrderOutcomeUnknown
    | OrderUpdated
    | OrderAnomaly
)
